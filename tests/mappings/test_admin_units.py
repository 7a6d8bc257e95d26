"""Official GSO unit tables: parsing the messy CSVs, loading them into the MIS, and placing old communes."""
import csv
import unicodedata

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import CROSSWALK_CSV, PRE2025_CSV

from common.errors import UserError
from mappings.admin_units import merge_kind, read_crosswalk, read_pre2025
from mis import db
from mis.units import placement, replace_units
from misgw.admin_units import import_admin_units

UNIT_TABLES = ["province_pre2025", "district_pre2025", "commune_pre2025", "province", "commune",
               "commune_crosswalk"]


def _scalar(url, sql, **params):
    with db.get_engine(url).connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def _snapshot(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {t: [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM mis.{t} ORDER BY 1"))]
                for t in UNIT_TABLES}


@pytest.fixture(scope="module")
def parsed():
    return read_pre2025(PRE2025_CSV), read_crosswalk(CROSSWALK_CSV)


# ---------------------------------------------------------------- counts
def test_counts_match_the_files(units_db):
    with open(PRE2025_CSV, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with_commune = [r for r in rows if r["Mã PX"].strip()]
    counts = {t: _scalar(units_db, f"SELECT count(*) FROM mis.{t}") for t in UNIT_TABLES}
    assert counts["commune_pre2025"] == len(with_commune) == 10051
    # 10,056 data rows: 5 are island districts with no commune (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo).
    assert len(rows) - len(with_commune) == 5
    assert counts["district_pre2025"] == len({r["Mã QH"] for r in rows}) == 696
    assert counts["province_pre2025"] == 63
    # The reform's official figures: 34 provinces and 3,321 communes; the crosswalk gives exactly these.
    assert counts["province"] == 34
    assert counts["commune"] == 3321
    assert counts["commune_crosswalk"] == 10571      # one row per (new commune, old commune) pair
    assert _scalar(units_db, "SELECT count(*) FROM mis.district_pre2025 d WHERE NOT EXISTS "
                             "(SELECT 1 FROM mis.commune_pre2025 c WHERE c.district_code = d.district_code)") == 5


def test_banner_rows_are_not_provinces(units_db):
    with db.get_engine(units_db).connect() as conn:
        provinces = dict(conn.execute(sa.text("SELECT province_code, name FROM mis.province")).all())
    assert len(provinces) == 34
    assert all(name.startswith(("Tỉnh ", "Thành phố ")) for name in provinces.values())
    assert not any(name.isupper() or "(" in name for name in provinces.values())
    assert provinces["01"] == "Thành phố Hà Nội"
    assert provinces["92"] == "Thành phố Cần Thơ"
    assert provinces["66"] == "Tỉnh Đắk Lắk"
    assert "54" not in provinces            # Phú Yên went into Đắk Lắk


def test_names_are_cleaned(units_db):
    assert _scalar(units_db, "SELECT name FROM mis.commune WHERE commune_code = '19753'") == "Phường Phú Xuân"
    assert _scalar(units_db, "SELECT province_code FROM mis.commune WHERE commune_code = '19753'") == "46"
    assert _scalar(units_db, "SELECT name FROM mis.commune WHERE commune_code = '26732'") == "Đặc khu Côn Đảo"
    with db.get_engine(units_db).connect() as conn:
        texts = [v for (v,) in conn.execute(sa.text(
            "SELECT name FROM mis.commune UNION ALL SELECT name FROM mis.province "
            "UNION ALL SELECT name FROM mis.commune_pre2025 "
            "UNION ALL SELECT old_name FROM mis.commune_crosswalk WHERE old_name IS NOT NULL "
            "UNION ALL SELECT note FROM mis.commune_crosswalk WHERE note IS NOT NULL"))]
    assert texts
    bad = [t for t in texts if t != " ".join(t.split()) or unicodedata.normalize("NFC", t) != t]
    assert bad == []


def test_codes_are_zero_padded(units_db):
    assert _scalar(units_db, "SELECT count(*) FROM mis.commune WHERE commune_code !~ '^[0-9]{5}$'") == 0
    assert _scalar(units_db, "SELECT count(*) FROM mis.commune_pre2025 WHERE commune_code !~ '^[0-9]{5}$' "
                             "OR district_code !~ '^[0-9]{3}$' OR province_code !~ '^[0-9]{2}$'") == 0
    assert _scalar(units_db, "SELECT name FROM mis.commune WHERE commune_code = '00004'") == "Phường Ba Đình"


# ---------------------------------------------------------------- notes
@pytest.mark.parametrize("note, kind", [
    ("Nhập toàn bộ", "whole"),
    ("Nhập toàn bộ diện tích", "whole"),
    ("Giữ nguyên ", "whole"),
    ("Đổi tên", "whole"),
    ("Đổi loại hình", "whole"),
    ("Nhập một phần diện tích, toàn bộ dân số", "whole"),
    ("Sắp xếp toàn bộ huyện Bạch Long Vĩ thành đặc khu Bạch Long Vĩ", "whole"),
    ("Nhập một phần", "part"),
    ("Nhập một  phần", "part"),
    ("Nhập một phần\n", "part"),
    ("Nhâp một phần diện tích", "part"),
    ("Nhập một phần dân số", "part"),
    ("Phần còn lại sau khi tách một phần vào xã Canh Vinh", "part"),
    ("Đổi tên từ một phần Phường 15", "part"),
    ("Đổi tên, đổi loại hình từ một phần thị trấn Lai Uyên", "part"),
    (None, "other"),
    ("Thành lập mới", "other"),
])
def test_note_classification(note, kind):
    assert merge_kind(pd.Series([note], dtype="string"))[0] == kind


@pytest.mark.parametrize("new, old, kind, note", [
    ("00004", "00004", "whole", "Nhập toàn bộ"),                  # Trúc Bạch into Ba Đình
    ("00004", "00016", "part", "Nhập một phần"),                  # part of Ngọc Hà
    ("00103", "00112", "whole", "Nhập một phần diện tích, toàn bộ dân số"),
    ("10999", "11041", "part", "Nhâp một phần diện tích"),
    ("21997", "21997", "part", "Phần còn lại sau khi tách một phần vào xã Canh Vinh"),
    ("27007", "27007", "part", "Đổi tên từ một phần Phường 15"),
    ("24235", "24235", "whole", "Đổi tên"),
    ("14845", "14845", "whole", "Đổi loại hình"),
])
def test_note_classification_in_the_loaded_crosswalk(units_db, new, old, kind, note):
    with db.get_engine(units_db).connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT merge_kind, note FROM mis.commune_crosswalk "
            "WHERE commune_code = :new AND commune_code_pre2025 = :old"), {"new": new, "old": old}).all()
    assert [tuple(r) for r in rows] == [(kind, note)]


def test_areas_without_an_old_commune_are_kept(units_db):
    with db.get_engine(units_db).connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT commune_code, merge_kind, old_district FROM mis.commune_crosswalk "
            "WHERE commune_code_pre2025 IS NULL ORDER BY commune_code")).all()
    # Five đặc khu made from whole island districts, and the Kim Sơn coastal alluvial land.
    assert [r[0] for r in rows] == ["11948", "14698", "19742", "20333", "21548", "26732"]
    assert {r[1] for r in rows} == {"whole"}
    assert rows[0][2] == "Huyện Bạch Long Vĩ (318)"


def test_crosswalk_codes_missing_from_the_old_list_are_kept(units_db):
    # The crosswalk's "old" side postdates the pre-2025 list for a few units rearranged in 2024-25
    # (Mộc Châu in Sơn La, some wards of Hồ Chí Minh City): their codes are kept, unmatched.
    assert _scalar(units_db, "SELECT count(DISTINCT commune_code_pre2025) FROM mis.commune_crosswalk x "
                             "WHERE commune_code_pre2025 IS NOT NULL AND NOT EXISTS "
                             "(SELECT 1 FROM mis.commune_pre2025 c "
                             " WHERE c.commune_code = x.commune_code_pre2025)") == 10


# ---------------------------------------------------------------- placement
@pytest.mark.parametrize("province", ["92", "54"])
def test_every_old_commune_of_can_tho_and_phu_yen_resolves(units_db, province):
    frame = placement(db.get_engine(units_db), province)
    assert len(frame) == {"92": 80, "54": 106}[province]
    assert set(frame["province_code_pre2025"]) == {province}
    placed = frame["commune_code"].notna()
    assert (frame["candidates"].map(len) > 0).all(), "an old commune with no current commune"
    assert (frame.loc[placed, "candidates"].map(len) == 1).all()
    assert (frame.loc[placed, "commune_code"] == frame.loc[placed, "candidates"].str[0]).all()
    assert (frame.loc[~placed, "candidates"].map(len) >= 2).all()
    assert (frame["candidates"].map(len) == frame["candidate_names"].map(len)).all()
    assert {"92": 3, "54": 7}[province] == int((~placed).sum())


def test_can_tho_spot_checks(units_db):
    frame = placement(db.get_engine(units_db), "92").set_index("commune_code_pre2025")
    # Merged whole: the old Phường Cái Khế (31117) is in the new Phường Cái Khế, whose code 31120
    # was the old Phường An Hòa's (codes are reused across eras).
    whole = frame.loc["31117"]
    assert (whole["name"], whole["district_name"]) == ("Phường Cái Khế", "Quận Ninh Kiều")
    assert (whole["commune_code"], whole["commune_name"]) == ("31120", "Phường Cái Khế")
    assert frame.loc["31120", "name"] == "Phường An Hòa"
    assert frame.loc["31120", "commune_code"] == "31120"
    # Merged in part: Phường Bùi Hữu Nghĩa (31178) was split between Cái Khế and Bình Thủy.
    split = frame.loc["31178"]
    assert split["commune_code"] is None
    assert split["candidates"] == ["31120", "31168"]
    assert split["candidate_names"] == ["Phường Cái Khế", "Phường Bình Thủy"]


def test_merged_provinces_land_in_their_new_province(units_db):
    engine = db.get_engine(units_db)
    with engine.connect() as conn:
        provinces = dict(conn.execute(sa.text("SELECT commune_code, province_code FROM mis.commune")).all())
    phu_yen = placement(engine, "54")
    assert {provinces[c] for cs in phu_yen["candidates"] for c in cs} == {"66"}
    assert phu_yen.set_index("commune_code_pre2025").loc["22015", "commune_name"] == "Phường Tuy Hòa"
    for old in ("93", "94"):            # Hậu Giang and Sóc Trăng went into Cần Thơ
        assert {provinces[c] for cs in placement(engine, old)["candidates"] for c in cs} == {"92"}


def test_placement_of_all_provinces_and_unknown_province(units_db):
    engine = db.get_engine(units_db)
    assert len(placement(engine)) == 10051
    ha_noi = placement(engine, "1")                     # zero-padded to "01"
    assert len(ha_noi) == _scalar(units_db, "SELECT count(*) FROM mis.commune_pre2025 WHERE province_code = '01'")
    assert placement(engine, "00").empty
    assert list(placement(engine, "00").columns) == list(ha_noi.columns)


# ---------------------------------------------------------------- loading
def test_reimport_is_idempotent_even_with_households(fresh_db):
    engine = db.get_engine(fresh_db)
    first = import_admin_units(engine, PRE2025_CSV, CROSSWALK_CSV)
    before = _snapshot(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO mis.household (household_code, commune_code, commune_code_pre2025, source_id, "
            "created_run_id, updated_run_id) VALUES ('HH1', '31120', '31117', 's', 'r', 'r')"))
    second = import_admin_units(engine, PRE2025_CSV, CROSSWALK_CSV)
    assert first == second
    assert _snapshot(engine) == before


def test_a_unit_still_in_use_is_not_deleted(fresh_db, parsed):
    engine = db.get_engine(fresh_db)
    pre2025, current = parsed
    replace_units(engine, pre2025, current)
    before = _snapshot(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO mis.household (household_code, commune_code, commune_code_pre2025, source_id, "
            "created_run_id, updated_run_id) VALUES ('HH1', '31120', '31117', 's', 'r', 'r')"))
    smaller = dict(pre2025)
    smaller["commune_pre2025"] = pre2025["commune_pre2025"][pre2025["commune_pre2025"]["commune_code"] != "31117"]
    with pytest.raises(UserError, match=r"commune_pre2025.*31117"):
        replace_units(engine, smaller, current)
    assert _snapshot(engine) == before                 # nothing changed


def test_units_missing_from_new_files_are_removed(fresh_db, parsed):
    engine = db.get_engine(fresh_db)
    pre2025, current = parsed
    replace_units(engine, pre2025, current)
    smaller = dict(pre2025)
    smaller["commune_pre2025"] = pre2025["commune_pre2025"][pre2025["commune_pre2025"]["commune_code"] != "31117"]
    counts = replace_units(engine, smaller, current)
    assert counts["commune_pre2025"] == 10050
    assert _scalar(fresh_db, "SELECT count(*) FROM mis.commune_pre2025 WHERE commune_code = '31117'") == 0


# ---------------------------------------------------------------- other editions, bad files
def test_a_newer_edition_with_other_title_rows_and_unpadded_codes_loads(tmp_path, parsed):
    with open(CROSSWALK_CSV, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header_at = next(i for i, r in enumerate(rows) if "Mã Xã mới" in r)
    body = [r[:] for r in rows[header_at + 1:]]
    for r in body:
        if len(r) > 4:
            r[2], r[4] = r[2].lstrip("0"), r[4].lstrip("0")
    other = tmp_path / "crosswalk-edition-2.csv"
    with open(other, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["BẢNG TỔNG HỢP ĐƠN VỊ HÀNH CHÍNH CẤP XÃ"])
        w.writerow([])
        w.writerow(["(Kèm theo Quyết định số 19/2025/QĐ-TTg)"])
        w.writerow(["TỈNH, THÀNH PHỐ", "tên xã mới", "MÃ XÃ MỚI"] + rows[header_at][3:])
        w.writerows(body)
    again = read_crosswalk(other)
    _, original = parsed
    for table, frame in original.items():
        pd.testing.assert_frame_equal(again[table], frame)


@pytest.mark.parametrize("reader, label", [(read_pre2025, "Mã PX"), (read_crosswalk, "Mã Xã mới")])
def test_a_file_without_a_header_fails_clearly(tmp_path, reader, label):
    bad = tmp_path / "danh-muc-sai.csv"
    bad.write_text("Danh sách hộ nghèo năm 2024\nSTT,Họ và tên,Ngày sinh\n1,Nguyễn Văn An,1980\n",
                   encoding="utf-8")
    with pytest.raises(UserError) as err:
        reader(bad)
    message = str(err.value)
    assert message.startswith("danh-muc-sai.csv: no header row")
    assert label in message
    assert message.count(". ") == 0 and message.endswith("?")


def test_import_of_a_bad_file_changes_nothing(fresh_db, tmp_path):
    engine = db.get_engine(fresh_db)
    bad = tmp_path / "empty.csv"
    bad.write_text("", encoding="utf-8")
    with pytest.raises(UserError, match="empty.csv"):
        import_admin_units(engine, PRE2025_CSV, bad)
    assert _scalar(fresh_db, "SELECT count(*) FROM mis.commune_pre2025") == 0


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_pre2025(tmp_path / "nope.csv")


def test_old_communes_the_crosswalk_does_not_list(units_db):
    # 28 communes of the pre-2025 list were already merged away in the 2024-25 rearrangement (into
    # codes such as Sơn La's 03980 or HCMC's 26929 that the list does not have), so the crosswalk
    # never names them: they get no candidate, and the mapping stage must hold them.
    with db.get_engine(units_db).connect() as conn:
        by_province = dict(conn.execute(sa.text(
            "SELECT province_code_pre2025, count(*) FROM mis.commune_placement "
            "WHERE cardinality(candidates) = 0 GROUP BY 1")).all())
    assert sum(by_province.values()) == 28
    assert "92" not in by_province and "54" not in by_province


def test_whole_population_places_a_commune_whose_land_was_split(units_db):
    """Phường Thụy Khuê (00112): land in part to Ba Đình, its whole population to Tây Hồ (00103)."""
    rows = {r[0]: (r[1], list(r[2])) for r in db.get_engine(units_db).connect().execute(sa.text(
        "SELECT commune_code_pre2025, commune_code, candidates FROM mis.commune_placement "
        "WHERE commune_code_pre2025 IN ('00112', '31178', '01615')"))}
    assert rows["00112"] == ("00103", ["00004", "00103"])
    assert rows["31178"] == (None, ["31120", "31168"])       # people went to both: a person decides
    assert rows["01615"][0] is None                          # "merged whole" into two: contradictory, held
