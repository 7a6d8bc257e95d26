"""Rosters as communes and legacy exports really write them, one trait at a time, through `misgw sync` into a real
PostgreSQL: the year found where it is written (or the file stopped), local codes that never merge households,
keys migrated once, columns the MIS does not keep named, what goes back addressed to the commune after the
reform, legacy fonts beside Unicode, code lists that accents decide, and every row accounted for.

The districts here (Vĩnh Thạnh 924 and Ô Môn 917 of Cần Thơ, Vị Thanh 930 of old Hậu Giang) and the people
are this file's own; tests/support/district_corpus.py holds the layout corpus.
"""
from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
import yaml
from openpyxl import Workbook, load_workbook
from test_pipeline import (  # noqa: F401  (mis_db below)
    copy_unit_tables,
    mis_db,  # noqa: F401
    misgw,
)

from mappings.legacy_fonts import from_unicode

# Vĩnh Thạnh (924): Xã Thạnh Mỹ 31234 -> 31232, Xã Vĩnh Trinh 31237 -> 31237, Xã Vĩnh Bình 31211 -> 31237 (rural).
# Ô Môn (917): Phường Thới Hòa 31154 -> 31153, Phường Thới Long 31156 -> 31157 (urban).
HEADER = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
          "Phân loại hộ", "Thu nhập bình quân đầu người"]


def household(code, head, spouse=None, child=None, category="Hộ nghèo", income=1100000):
    """Rows of one household: head (name, sex, birth, cccd), optional spouse and child."""
    rows = [[code, head[0], "Chủ hộ", head[1], head[2], "Kinh", head[3], category, income]]
    if spouse:
        rows.append([None, spouse[0], "Vợ" if spouse[1] == "Nữ" else "Chồng", spouse[1], spouse[2], "Kinh", spouse[3],
                     None, None])
    if child:
        rows.append([None, child[0], "Con", child[1], child[2], "Kinh", child[3], None, None])
    return rows


def write_book(path: Path, sheets: dict[str, list[list]], title: str | None = "DANH SÁCH HỘ NGHÈO NĂM 2025",
               header: list[str] = HEADER) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        ws.append(["UBND HUYỆN VĨNH THẠNH"])
        if title:
            ws.append([title])
        ws.append([])
        ws.append(header)
        for i, r in enumerate(rows, start=1):
            ws.append([i, *r])
        ws.append([])
        ws.append([None, None, "Vĩnh Thạnh, ngày 15 tháng 12 năm 2024"])
        ws.append([None, "Người lập biểu", None, None, "Chủ tịch UBND xã"])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def config(tmp_path: Path, sources: list[dict], **extra) -> Path:
    path = tmp_path / "misgw.yaml"
    path.write_text(yaml.safe_dump({"province_code": "92", "output_dir": "out", "sources": sources, **extra},
                                   allow_unicode=True), encoding="utf-8")
    return path


def sync(cfg: Path, url: str, *args: str) -> tuple[int, list[dict], str]:
    out = misgw("sync", "--config", str(cfg), "--json", *args, env_url=url)
    return out.returncode, (json.loads(out.stdout) if out.stdout.strip() else []), out.stderr


def rows_of(url: str, sql: str, **params) -> list[dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]
    engine.dispose()
    return out


def balanced(summary: dict) -> None:
    """Every sheet's rows add up, and no held row lacks a reason."""
    assert summary["row_accounts"], summary
    for a in summary["row_accounts"]:
        fates = a["loaded"] + a["unchanged"] + a["rejected"] + a["held"] + a["superseded"] + a["skipped"]
        assert a["read"] == fates and a["held_without_reason"] == 0, a


# Two communes of Vĩnh Thạnh, each numbering its households 001, 002 on its own sheet.
THANH_MY = (household("001", ("Trịnh Văn Lực", "Nam", "04/02/1971", "092071004811"),
                      ("Dương Thị Kiều", "Nữ", "1974", "092174009322"), category="Hộ nghèo", income=900000)
            + household("002", ("Phan Thị Nguyệt", "Nữ", "12/12/1958", "092158006544"), category="Hộ cận nghèo",
                        income=1350000))
VINH_TRINH = (household("001", ("Hứa Văn Tòng", "Nam", "1966", "092066007733"),
                        child=("Hứa Thị Diễm", "Nữ", "08/08/2004", "092304001266"), category="Hộ nghèo", income=800000)
              + household("002", ("Quách Văn Bảy", "Nam", "21/03/1980", "092080005577"), category="Hộ cận nghèo",
                          income=1450000))


def test_local_codes_restarting_per_commune_are_different_households(tmp_path, mis_db):
    write_book(tmp_path / "vt" / "ds-vinh-thanh.xlsx", {"Xã Thạnh Mỹ": THANH_MY, "Xã Vĩnh Trinh": VINH_TRINH})
    cfg = config(tmp_path, [{"id": "vinh-thanh", "kind": "spreadsheet", "path": "vt", "district_code": "924"}])
    code, [s], err = sync(cfg, mis_db)
    assert code == 0 and s["status"] == "success" and s["households_accepted"] == 4 and s["rows_held"] == 0, (s, err)
    balanced(s)
    got = rows_of(mis_db, """SELECT h.household_code, h.local_code, h.commune_code_pre2025, h.head_name, h.area,
                                    p.assessment_year, p.poverty_category, p.income_per_capita,
                                    (SELECT count(*) FROM mis.member m WHERE m.household_id = h.household_id) AS n
                             FROM mis.household h JOIN mis.poverty_assessment p USING (household_id)
                             ORDER BY 1""")
    assert [(g["household_code"], g["local_code"], g["commune_code_pre2025"], g["head_name"], g["n"]) for g in got] == [
        ("31234/001", "001", "31234", "Trịnh Văn Lực", 2), ("31234/002", "002", "31234", "Phan Thị Nguyệt", 1),
        ("31237/001", "001", "31237", "Hứa Văn Tòng", 2), ("31237/002", "002", "31237", "Quách Văn Bảy", 1)]
    # The year stood only in the title: every household has its assessment, checked against 2025's line.
    assert {(g["assessment_year"], g["area"]) for g in got} == {(2025, "rural")}
    assert [g["poverty_category"] for g in got] == ["poor", "near_poor", "poor", "near_poor"]
    scope = rows_of(mis_db, "SELECT scope, evidence FROM mis.source_household_scope")
    assert scope[0]["scope"] == "commune" and scope[0]["evidence"]["codes_in_several_communes"] == 2
    # `history` takes the code as the district writes it, with its commune.
    out = misgw("history", "001", env_url=mis_db)
    assert out.returncode == 2 and "names 2 households" in out.stderr and "--commune" in out.stderr
    out = misgw("history", "001", "--commune", "31237", "--json", env_url=mis_db)
    assert out.returncode == 0 and json.loads(out.stdout) == []          # loaded once, nothing changed since


def test_a_roster_without_a_year_stops_that_file_and_the_others_go_on(tmp_path, mis_db):
    write_book(tmp_path / "vt" / "thanh-my-2025.xlsx", {"Xã Thạnh Mỹ": THANH_MY}, title="DANH SÁCH HỘ NGHÈO")
    write_book(tmp_path / "vt" / "vinh-trinh.xlsx", {"Xã Vĩnh Trinh": VINH_TRINH}, title="DANH SÁCH HỘ NGHÈO")
    cfg = config(tmp_path, [{"id": "vinh-thanh", "kind": "spreadsheet", "path": "vt", "district_code": "924"}])
    code, [s], _ = sync(cfg, mis_db)
    stop = s["files_stopped"]["vinh-trinh.xlsx"]
    assert "no assessment year" in stop and "`assessment_year`" in stop and "vinh-thanh" in stop
    assert "the title, the sheet name nor the file name" in stop
    assert code == 1 and s["status"] == "attention" and "File not read" in s["attention"]
    assert s["households_accepted"] == 2                            # the file whose name says 2025 loaded
    [acc] = [a for a in s["row_accounts"] if a["file"] == "vinh-trinh.xlsx"]
    assert acc["stopped"] == acc["held"] == 3 and acc["loaded"] == 0
    balanced(s)
    assert {r["local_code"] for r in rows_of(mis_db, "SELECT local_code FROM mis.household")} == {"001", "002"}
    # A file that stopped is not remembered as read: the next run reads it again (and says so again).
    code, [s], _ = sync(cfg, mis_db)
    assert not s["unchanged_at_source"] and "vinh-trinh.xlsx" in s["files_stopped"] and s["status"] == "attention"
    # The source's assessment_year, when set, wins: the file loads.
    cfg = config(tmp_path, [{"id": "vinh-thanh", "kind": "spreadsheet", "path": "vt", "district_code": "924",
                             "assessment_year": 2025}])
    code, [s], err = sync(cfg, mis_db)
    assert code == 0 and s["status"] == "success" and not s["files_stopped"], (s, err)
    assert rows_of(mis_db, "SELECT count(*) AS n FROM mis.poverty_assessment WHERE assessment_year = 2025")[0]["n"] == 4


def test_a_column_the_mis_does_not_keep_is_named_with_its_count(tmp_path, mis_db):
    rows = [r + [p] for r, p in zip(THANH_MY, ["0913 456 789", None, "0988 111 222"])]
    write_book(tmp_path / "vt" / "ds.xlsx", {"Xã Thạnh Mỹ": rows}, header=HEADER + ["SĐT"])
    cfg = config(tmp_path, [{"id": "vinh-thanh", "kind": "spreadsheet", "path": "vt", "district_code": "924"}])
    code, [s], _ = sync(cfg, mis_db)
    assert code == 0 and s["households_accepted"] == 2
    [kept] = s["not_stored"]
    assert (kept["header"], kept["field"], kept["rows"], kept["column"]) == ("SĐT", "phone", 2, "K")
    table = misgw("sync", "--config", str(cfg), "--full", env_url=mis_db).stdout
    assert "«SĐT»" in table and "2 row(s) with a value not stored" in table
    report = misgw("runs", "show", s["run_id"], env_url=mis_db).stdout
    assert "recognised, not kept by the MIS: K 'SĐT' (phone, 2 rows)" in report
    assert "rows: read = loaded + unchanged + rejected + held + superseded + skipped" in report


def test_household_keys_loaded_before_they_were_qualified_are_migrated_once(tmp_path, mis_db):
    """The MIS as the last release left it: households keyed by their bare local code. The first run of the
    new release re-keys them (history, ledger and snapshot follow), duplicates nobody, and lists a household
    the old rule merged for a person."""
    write_book(tmp_path / "vt" / "ds.xlsx", {"Xã Thạnh Mỹ": THANH_MY})
    cfg = config(tmp_path, [{"id": "vinh-thanh", "kind": "spreadsheet", "path": "vt", "district_code": "924"}])
    assert sync(cfg, mis_db)[0] == 0
    engine = sa.create_engine(mis_db)
    with engine.begin() as conn:       # back to the old keys, as 0009 finds them: local_code = household_code
        conn.execute(sa.text("UPDATE mis.household SET household_code = local_code"))
        conn.execute(sa.text("UPDATE mis.change_log SET household_code = split_part(household_code, '/', 2) "
                             "WHERE household_code LIKE '%/%'"))
        conn.execute(sa.text("DELETE FROM mis.source_household_scope"))
        conn.execute(sa.text("DELETE FROM mis.source_bookmark"))
        conn.execute(sa.text("""INSERT INTO mis.change_log (run_id, changed_by, entity, household_code, field,
                                old_value, new_value) SELECT run_id, 'old release', 'household', '002', 'address',
                                'Ấp 1', 'Ấp 2' FROM mis.sync_run LIMIT 1"""))
        # The ledger and the snapshot as the old release kept them: under the bare code.
        conn.execute(sa.text("""INSERT INTO mis.reject_entry (source_id, fingerprint, status, first_run_id,
                                last_run_id, household_code, district_code)
                                SELECT 'vinh-thanh', '002|warn.old_release|address', 'waived', run_id, run_id,
                                '002', '31234' FROM mis.sync_run LIMIT 1"""))
        conn.execute(sa.text("UPDATE mis.source_snapshot SET household_code = split_part(household_code, '/', 2) "
                             "WHERE household_code LIKE '%/%'"))
        assert conn.execute(sa.text("SELECT count(*) FROM mis.source_snapshot WHERE household_code = '002'")).scalar()
    engine.dispose()
    # Next year's delivery: both communes, each with its 001 and 002; Thạnh Mỹ's households as loaded.
    write_book(tmp_path / "vt" / "ds.xlsx", {"Xã Thạnh Mỹ": THANH_MY, "Xã Vĩnh Trinh": VINH_TRINH})
    code, [s], err = sync(cfg, mis_db)
    assert code == 0 and s["status"] == "success", (s, err)
    note = s["household_scope"]
    assert note["scope"] == "commune" and note["decided"] and note["households_rekeyed"] == 2
    assert note["households_to_review"] == 2                # 001 and 002 name households in two communes
    got = rows_of(mis_db, "SELECT household_code, local_code FROM mis.household ORDER BY 1")
    assert [g["household_code"] for g in got] == ["31234/001", "31234/002", "31237/001", "31237/002"]
    assert s["reconcile"]["unchanged"] == 2 and s["reconcile"]["new"] == 2   # Thạnh Mỹ's: nobody duplicated
    assert rows_of(mis_db, "SELECT count(*) AS n FROM mis.member")[0]["n"] == 6
    # The ledger's entry and the snapshot follow the new key.
    assert rows_of(mis_db, "SELECT household_code, fingerprint FROM mis.reject_entry "
                           "WHERE fingerprint LIKE '%warn.old_release%'") == [
        {"household_code": "31234/002", "fingerprint": "31234/002|warn.old_release|address"}]
    snapshot = {r["household_code"] for r in rows_of(mis_db, "SELECT DISTINCT household_code FROM mis.source_snapshot")}
    assert snapshot and all("/" in c for c in snapshot), snapshot
    history = json.loads(misgw("history", "002", "--commune", "31234", "--json", env_url=mis_db).stdout)
    assert [(h["field"], h["old_value"], h["new_value"]) for h in history] == [
        ("address", "Ấp 1", "Ấp 2"), ("household_code", "002", "31234/002")]
    review = json.loads(misgw("households", "review", "--json", env_url=mis_db).stdout)
    assert {(r["household_code"], r["kind"]) for r in review} == {("31234/001", "merged_by_local_code"),
                                                                  ("31234/002", "merged_by_local_code")}
    # The scope is kept: a later delivery of one commune cannot flip it.
    out = misgw("households", "scope", "--source", "vinh-thanh", "--config", str(cfg), env_url=mis_db)
    assert "unique within each commune" in out.stdout


def test_after_the_reform_fixup_workbooks_go_to_each_commune(tmp_path, mis_db):
    """A roster in the current units: two new communes, an error in each; one workbook per commune."""
    header = ["STT", "Xã", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Số CCCD",
              "Phân loại hộ", "Thu nhập bình quân đầu người", "Năm rà soát"]
    # The new communes that took Thạnh Mỹ (31232) and Vĩnh Trinh (31237), by their current names.
    names = {c["commune_code"]: c["name"] for c in rows_of(
        mis_db, "SELECT commune_code, name FROM mis.commune WHERE commune_code IN ('31232', '31237')")}
    a, b = names["31232"], names["31237"]
    rows = [[a, "001", "Lữ Văn Sang", "Chủ hộ", "Nam", "1969", "092069001144", "Hộ nghèo", 800000, 2026],
            [a, "002", "Đoàn Thị Hoa", "Chủ hộ", "Giống cái", "1975", "092175002255", "Hộ nghèo", 900000, 2026],
            [a, "003", "Lữ Thị Tươi", "Chủ hộ", "Nữ", "1971", "092171007788", "Hộ nghèo", 850000, 2026],
            [b, "001", "Mạc Văn Lành", "Chủ hộ", "Nam", "31/02/1960", "092060003366", "Hộ nghèo", 700000, 2026],
            [b, "002", "Kha Thị Mến", "Chủ hộ", "Nữ", "1981", "092181004477", "Hộ cận nghèo", 1300000, 2026],
            [b, "003", "Kha Văn Tới", "Chủ hộ", "Nam", "1979", "092079008899", "Hộ cận nghèo", 1400000, 2026]]
    wb = Workbook()
    ws = wb.active
    ws.title = "DS"
    ws.append(header)
    for i, r in enumerate(rows, 1):
        ws.append([i, *r])
    (tmp_path / "new").mkdir()
    wb.save(tmp_path / "new" / "ds-2026.xlsx")
    code_of = {a: "31232", b: "31237"}
    cfg = config(tmp_path, [{"id": "vt-2026", "kind": "spreadsheet", "path": "new", "unit_era": "current"}])
    code, [s], err = sync(cfg, mis_db)
    assert s["households_accepted"] == 4 and s["households_rejected"] == 2, (s, err)
    assert set(s["fixup_workbooks"]) == {"31232", "31237"}
    for name, wrong in ((a, "Giống cái"), (b, "31/02/1960")):
        book = load_workbook(s["fixup_workbooks"][code_of[name]])
        cells = [[c.value for c in r] for r in book["Cần sửa"].iter_rows(min_row=2)]
        assert len(cells) == 1 and wrong in cells[0] and name in cells[0], cells
        assert book["_misgw"]["F1"].value == code_of[name]
    entries = rows_of(mis_db, "SELECT commune_code FROM mis.reject_entry WHERE status = 'open' ORDER BY 1")
    assert [e["commune_code"] for e in entries] == sorted(code_of.values())
    aging = json.loads(misgw("rejects", "aging", "--json", env_url=mis_db).stdout)
    assert {a["district_code"] for a in aging} == set(code_of.values())


def test_unicode_names_beside_tcvn3_names_in_one_sheet(tmp_path, mis_db):
    """A commune's list typed over years: old rows in TCVN3, new ones in Unicode, in one column."""
    people = [("Danh Thị Má", "Nữ", "1960", "092160001188", "unicode"), ("Lý Sô Phol", "Nam", "1958", "092058002299", "unicode"),
              ("Tăng Ánh Ý", "Nữ", "1972", "092172003311", "tcvn3"), ("Nguyễn Văn Tư", "Nam", "1965", "092065004422", "unicode"),
              ("Trương Thị Ngọc Ánh", "Nữ", "1983", "092183005533", "tcvn3"), ("Từ Tố Huy", "Nam", "1977", "092077006644", "tcvn3")]
    rows = []
    for i, (name, sex, born, cccd, enc) in enumerate(people, 1):
        rows += household(f"31234-{i:04d}", (from_unicode(name, enc), sex, born, cccd), category="Hộ nghèo", income=850000)
    write_book(tmp_path / "vt" / "ds.xlsx", {"Xã Thạnh Mỹ": rows})
    cfg = config(tmp_path, [{"id": "vinh-thanh", "kind": "spreadsheet", "path": "vt", "district_code": "924"}])
    code, [s], err = sync(cfg, mis_db)
    assert code == 0 and s["households_accepted"] == 6 and s["rows_rejected"] == 0, (s, err)
    got = {r["full_name"] for r in rows_of(mis_db, "SELECT full_name FROM mis.member")}
    # Every Unicode cell as written ("Danh Thị Má", "Lý Sô Phol": valid Unicode, whatever their neighbours), every
    # TCVN3 cell converted, capitals restored ("Tăng Ánh Ý"); "Từ Tố Huy" in TCVN3 ("Tõ Tè Huy") reads as Unicode
    # too, but its TCVN3 reading is the likelier name.
    assert got == {p[0] for p in people}


def test_ethnicity_codes_of_the_1979_list_stop_until_declared(tmp_path, mis_db):
    """Sóc Trăng's rosters are Kinh, Khmer and Hoa: codes 04 (Hoa in the 1979 list, Mường in 2008's) point to 1979."""
    header = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Năm sinh", "MA_DT", "Mã xã",
              "Phân loại hộ", "Thu nhập bình quân đầu người", "Năm rà soát"]
    names = ["Lưu Chí Hào", "Quách Mỹ Linh", "Thạch Sà Rinh", "Lý Huệ Mẫn", "Trần Văn Đực", "Tăng Lệ Hoa"]
    codes = ["04", "04", "05", "04", "01", "04"]
    rows = [[f"31330-{i:04d}", n, "Chủ hộ", "Nam" if i % 2 else "Nữ", 1960 + i, c, "31330", "Hộ nghèo", 900000, 2025]
            for i, (n, c) in enumerate(zip(names, codes), 1)]
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for i, r in enumerate(rows, 1):
        ws.append([i, *r])
    (tmp_path / "vtn").mkdir()
    wb.save(tmp_path / "vtn" / "ds.xlsx")
    source = {"id": "vi-thanh", "kind": "spreadsheet", "path": "vtn", "district_code": "930"}
    code, [s], _ = sync(config(tmp_path, [source]), mis_db)
    assert s["status"] == "failed" and "1979 GSO list" in s["error"] and "ethnicity_edition: 1979" in s["error"]
    code, [s], err = sync(config(tmp_path, [{**source, "ethnicity_edition": "1979"}]), mis_db)
    assert code == 0 and s["households_accepted"] == 6, (s, err)
    got = {r["full_name"]: r["ethnicity_code"] for r in rows_of(mis_db, "SELECT full_name, ethnicity_code FROM mis.member")}
    assert got["Lưu Chí Hào"] == "06" and got["Thạch Sà Rinh"] == "05" and got["Trần Văn Đực"] == "01"   # Hoa, Khmer, Kinh
    # Old Hậu Giang (93) in Cần Thơ's (92) config: placed through its district's old province.
    assert {r["commune_code_pre2025"] for r in rows_of(mis_db, "SELECT commune_code_pre2025 FROM mis.household")} == {"31330"}


def test_a_judged_roster_with_nothing_accepted_is_not_a_plain_success(tmp_path, mis_db):
    write_book(tmp_path / "vt" / "ds.xlsx", {"Xã Thạnh Mỹ": THANH_MY + THANH_MY})     # every household twice
    cfg = config(tmp_path, [{"id": "vinh-thanh", "kind": "spreadsheet", "path": "vt", "district_code": "924"}])
    code, [s], _ = sync(cfg, mis_db)
    assert code == 1 and s["status"] == "attention" and s["households_accepted"] == 0
    assert "rows judged and none accepted" in s["attention"]
    balanced(s)
    # A night with nothing new is a plain success.
    code, [s], _ = sync(cfg, mis_db)
    assert s["status"] == "success" and s["unchanged_at_source"] and code == 0


# ---------------------------------------------------------------- a legacy welfare database (MariaDB, real driver)
def test_a_legacy_database_with_its_own_codes_and_mysql_zero_dates(tmp_path, mis_db):
    """A MariaDB welfare schema as old district software kept it: sex 0/1 and category 1/2 in its own codes
    (declared in the source's mapping YAML), GSO ethnicity codes, and dates MySQL lets through: a year
    alone as 1985-00-00 (loaded as a year), an impossible 1985-00-12 and the zero date (rejected, never blank)."""
    import uuid

    import pyodbc

    database = f"misgw_welfare_{uuid.uuid4().hex[:8]}"
    server = "DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=3306;UID=root;PWD=;"
    admin = pyodbc.connect(server, autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
    try:
        conn = pyodbc.connect(server + f"DATABASE={database};", autocommit=True)
        conn.setencoding(encoding="utf-8")
        cur = conn.cursor()
        cur.execute("SET SESSION sql_mode = ''")          # as the old program's server ran
        cur.execute("CREATE TABLE tbl_thanhvien (ID INT PRIMARY KEY, MA_HO VARCHAR(20), HO_TEN VARCHAR(80), "
                    "QUAN_HE VARCHAR(20), GIOI_TINH INT, NGAY_SINH DATE, MA_DT VARCHAR(4), MA_XA VARCHAR(5), "
                    "PHAN_LOAI INT, NAM INT, THU_NHAP INT) CHARACTER SET utf8mb4")
        people = [
            (1, "TL0101", "Huỳnh Văn Tám", "Chủ hộ", 1, "1966-05-04", "01", "31234", 1, 2025, 900000),
            (2, "TL0101", "Châu Thị Lệ", "Vợ", 0, "1985-00-00", "06", "31234", 1, 2025, 900000),
            (3, "TL0102", "Sơn Thị Sa Ly", "Chủ hộ", 0, "1985-00-12", "05", "31234", 2, 2025, 1400000),
            (4, "TL0103", "Kiên Văn Rớt", "Chủ hộ", 1, "0000-00-00", "05", "31237", 2, 2025, 1300000),
            (5, "TL0104", "Diệp Văn Hên", "Chủ hộ", 1, "1959-11-30", "06", "31237", 1, 2025, 700000),
            (6, "TL0104", "Diệp Thị Mai", "Con", 0, "1992-02-14", "06", "31237", 1, 2025, 700000),
        ]
        cur.executemany("INSERT INTO tbl_thanhvien VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", people)
        conn.close()
        (tmp_path / "mapping.yaml").write_text(yaml.safe_dump(
            {"values": {"sex": {"0": "F", "1": "M"}, "poverty_category": {"1": "poor", "2": "near_poor"}}}),
            encoding="utf-8")
        cfg = config(tmp_path, [{"id": "vt-db", "kind": "odbc", "conn_id": "vt_welfare", "table": "tbl_thanhvien",
                                 "key": "ID", "household_column": "MA_HO", "district_code": "924",
                                 "mapping": "mapping.yaml"}])
        env = {"AIRFLOW_CONN_VT_WELFARE": json.dumps({"conn_type": "odbc", "host": "127.0.0.1", "port": 3306,
                                                      "login": "root", "schema": database,
                                                      "extra": {"driver": "MariaDB Unicode"}})}
        import os
        import subprocess
        import sys

        run = subprocess.run([sys.executable, "-m", "misgw.cli", "sync", "--config", str(cfg), "--json"],
                             capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, MISGW_DATABASE_URL=mis_db, **env))
        [s] = json.loads(run.stdout)
        assert s["households_accepted"] == 2 and s["households_rejected"] == 2, (s["error"], run.stderr[-2000:])
        balanced(s)
        rejects = {(r["row"], r["rule"], r["value"]) for r in
                   json.loads(misgw("rejects", "list", "--source", "vt-db", "--json", env_url=mis_db).stdout)}
        assert {(r, v) for r, rule, v in rejects if rule == "format.birth_date"} == {(4, "1985-00-12"), (5, "0000-00-00")}
        got = {r["full_name"]: r for r in rows_of(mis_db, """
            SELECT m.full_name, m.sex, m.birth_date, m.birth_year, m.ethnicity_code, p.poverty_category
            FROM mis.member m JOIN mis.poverty_assessment p USING (household_id)""")}
        assert set(got) == {"Huỳnh Văn Tám", "Châu Thị Lệ", "Diệp Văn Hên", "Diệp Thị Mai"}
        assert (got["Châu Thị Lệ"]["sex"], got["Châu Thị Lệ"]["birth_date"], got["Châu Thị Lệ"]["birth_year"],
                got["Châu Thị Lệ"]["ethnicity_code"]) == ("F", None, 1985, "06")
        assert got["Huỳnh Văn Tám"]["sex"] == "M" and str(got["Huỳnh Văn Tám"]["birth_date"]) == "1966-05-04"
        assert {g["poverty_category"] for g in got.values()} == {"poor"}
        # The source's legacy headers were read by their accent-free wording and abbreviations: no YAML for them.
        report = rows_of(mis_db, "SELECT mapping_report FROM mis.sync_run WHERE run_id = :r", r=s["run_id"])[0]
        fields = {c["header"]: c["field"] for c in report["mapping_report"][0]["columns"]}
        assert fields["MA_DT"] == "ethnicity" and fields["HO_TEN"] == "full_name" and fields["NAM"] == "assessment_year"
        # The next night: nothing changed, the two held households are read again and still turned back.
        # Nothing is new, so it is a plain success, not a run that "accepted none".
        again = subprocess.run([sys.executable, "-m", "misgw.cli", "sync", "--config", str(cfg), "--json"],
                               capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, MISGW_DATABASE_URL=mis_db, **env))
        [s] = json.loads(again.stdout)
        assert again.returncode == 0 and s["status"] == "success" and s["attention"] is None, s["attention"]
        assert s["households_accepted"] == 0 and s["rows_rejected"] == 2
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
        admin.close()


def test_a_recoded_household_raises_no_warning_about_its_own_old_code(tmp_path, mis_db):
    """Next year the commune renumbers its households: the same people under new codes. Reconcile re-codes
    them (matched by their IDs); nobody is warned that their ID is 'in another household' (their own)."""
    first = (household("31234-0101", ("Võ Văn Hiền", "Nam", "02/02/1970", "092070011221"),
                       ("Lâm Thị Cúc", "Nữ", "03/03/1972", "092172011222"), ("Võ Văn Tí", "Nam", "04/04/2001", "092201011223"))
             + household("31234-0102", ("Đỗ Thị Hạnh", "Nữ", "1950", "092150011224"), category="Hộ cận nghèo",
                         income=1400000))
    write_book(tmp_path / "vt" / "ds.xlsx", {"Xã Thạnh Mỹ": first})
    cfg = config(tmp_path, [{"id": "vinh-thanh", "kind": "spreadsheet", "path": "vt", "district_code": "924"}])
    assert sync(cfg, mis_db)[0] == 0
    recoded = [[{"31234-0101": "31234-0201", "31234-0102": "31234-0202"}.get(r[0], r[0]), *r[1:]] for r in first]
    write_book(tmp_path / "vt" / "ds.xlsx", {"Xã Thạnh Mỹ": recoded})
    code, [s], err = sync(cfg, mis_db)
    assert code == 0 and s["households_accepted"] == 2, (s, err)
    assert s["reconcile"]["changed"] == 2 and s["reconcile"]["new"] == 0 and s["reconcile"]["missing"] == 0
    warnings = rows_of(mis_db, "SELECT rule FROM mis.reject WHERE run_id = :r", r=s["run_id"])
    assert warnings == [], warnings
    got = rows_of(mis_db, "SELECT household_code FROM mis.household ORDER BY 1")
    assert [g["household_code"] for g in got] == ["31234-0201", "31234-0202"]
    assert rows_of(mis_db, "SELECT count(*) AS n FROM mis.member WHERE listed")[0]["n"] == 4


def test_abbreviated_headers_load_without_yaml_and_are_named_in_the_report(tmp_path, mis_db):
    """«Mã hộ GĐ», «QH với CH», «GT», «NS», «DT», «TN BQ đầu người»: each field matched by writing the
    abbreviation out, the source loads with no YAML, and the mapping report says which columns were."""
    header = ["STT", "Mã hộ GĐ", "Họ và tên", "QH với CH", "GT", "NS", "DT", "Số CCCD", "Phân loại hộ",
              "TN BQ đầu người"]
    write_book(tmp_path / "vt" / "ds.xlsx", {"Xã Thạnh Mỹ": THANH_MY}, header=header)
    cfg = config(tmp_path, [{"id": "vinh-thanh", "kind": "spreadsheet", "path": "vt", "district_code": "924"}])
    code, [s], err = sync(cfg, mis_db)
    assert code == 0 and s["households_accepted"] == 2 and s["households_rejected"] == 0, (s, err)
    balanced(s)
    expanded = {(c["header"], c["field"], c["how"]) for c in s["matched_by_expansion"]}
    assert {("Mã hộ GĐ", "household_code", "expansion"), ("TN BQ đầu người", "income_per_capita", "expansion")} \
        <= expanded, expanded
    assert not any(c["header"] in ("Họ và tên", "Số CCCD") for c in s["matched_by_expansion"])
    got = rows_of(mis_db, "SELECT h.local_code, a.income_per_capita FROM mis.household h JOIN "
                          "mis.poverty_assessment a USING (household_id) ORDER BY 1")
    assert [(g["local_code"], int(g["income_per_capita"])) for g in got] == [("001", 900000), ("002", 1350000)]
    report = misgw("runs", "show", s["run_id"], env_url=mis_db).stdout
    assert "headers matched by abbreviation or spelling:" in report and "«Mã hộ GĐ» -> household_code" in report


def test_a_header_two_fields_compete_for_stops_and_asks(tmp_path, mis_db):
    """A header as close to the commune's code as to its name, over values that fit both: the file stops with
    one sentence naming both fields and the YAML to write; nothing of it loads."""
    header = [*HEADER, "ấp xã phường"]
    rows = [r + ["31234"] for r in THANH_MY]
    write_book(tmp_path / "vt" / "ds.xlsx", {"Xã Thạnh Mỹ": rows}, header=header)
    cfg = config(tmp_path, [{"id": "vinh-thanh", "kind": "spreadsheet", "path": "vt", "district_code": "924"}])
    code, summaries, err = sync(cfg, mis_db)
    text = json.dumps(summaries, ensure_ascii=False) + err
    assert code != 0 and summaries[0]["status"] == "failed", (code, summaries)
    assert "could be commune_code or commune" in text, text
    assert "mapping YAML" in text
    assert rows_of(mis_db, "SELECT count(*) AS n FROM mis.household")[0]["n"] == 0
