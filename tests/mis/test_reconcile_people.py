"""People across two deliveries of one district, against known truth: held households keep their people,
same-name children with different birth dates stay two people, and a blank cell never erases a stored value.

Phong Điền (926), Cần Thơ: Xã Nhơn Ái 31300, Xã Giai Xuân 31303, Xã Nhơn Nghĩa 31315.
"""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
import yaml
from rosters import write_roster
from test_pipeline import mis_db, misgw  # noqa: F401  (mis_db is a fixture)

HEADER = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
          "Địa chỉ", "Phân loại hộ", "Năm rà soát", "Thu nhập bình quân đầu người"]


def person(code, name, relation, sex, birth, cccd=None, ethnicity="Kinh", address="Ấp Mỹ Ái"):
    return [code, name, relation, sex, birth, ethnicity, cccd, address, "Hộ nghèo", 2025, 1_200_000]


def config(tmp_path, rules: dict | None = None):
    path = tmp_path / "misgw.yaml"
    data = {"province_code": "92", "output_dir": "out",
            "sources": [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}]}
    if rules:
        data["rules"] = rules
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def deliver(url: str, cfg, sheets: dict[str, list], full: bool = False) -> dict:
    """One workbook per commune sheet, then `misgw sync`; the run's summary."""
    for i, (sheet, rows) in enumerate(sheets.items()):
        write_roster(cfg.parent / "d" / f"ds{i}.xlsx", rows=rows, sheet=sheet, header=HEADER)
    out = misgw("sync", "--config", str(cfg), "--json", *(["--full"] if full else []), env_url=url)
    [summary] = json.loads(out.stdout)
    assert summary["status"] == "success", out.stderr[-3000:]
    return summary


class Registry:
    def __init__(self, url: str):
        self.engine = sa.create_engine(url)

    def rows(self, sql: str, **params) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params).all()]

    def members(self) -> list[tuple]:
        """(household code, name, listed, birth date, birth year, ethnicity, ID, ID kind, member key), sorted."""
        return self.rows("""
            SELECT h.household_code, m.full_name, m.listed, m.birth_date, m.birth_year, m.ethnicity_code,
                   m.id_number, m.id_kind, m.member_key
            FROM mis.member m JOIN mis.household h USING (household_id) ORDER BY 1, 2, 4 NULLS FIRST""")

    def outcomes(self, run_id: str) -> set[tuple]:
        return set(self.rows("SELECT entity, household_code, coalesce(full_name, ''), outcome, coalesce(reason, '') "
                             "FROM mis.reconcile_outcome WHERE run_id = :r", r=run_id))

    def changes(self, run_id: str) -> set[tuple]:
        return set(self.rows("SELECT entity, household_code, coalesce(member_key, ''), field, old_value, new_value "
                             "FROM mis.change_log WHERE run_id = :r", r=run_id))


# ------------------------------------------------------------------ a. held households keep their people
def test_people_of_a_held_household_stay_where_the_mis_has_them(tmp_path, mis_db):  # noqa: F811
    """A split held as a conflict, and a new household rejected by validation, both with people who left
    a household that loads: they stay listed in that household, are not missing, and nothing is logged."""
    reg = Registry(mis_db)
    cfg = config(tmp_path)
    a, b, c, d = "31300-0101", "31300-0102", "31300-0103", "31300-0104"
    luc = person(a, "Quách Văn Lực", "Chủ hộ", "Nam", "14/02/1968", "092068100101")
    huyen = person(a, "Diệp Thị Huyền", "Vợ", "Nữ", "09/09/1970", "092170100102")
    tam = person(a, "Quách Văn Tâm", "Con", "Nam", "03/05/1994", "092094100103")
    nga = person(a, "Quách Thị Ngà", "Con", "Nữ", "21/07/1997", "092197100104")
    ty = person(a, "Quách Văn Tỷ", "Con", "Nam", "2012")                       # no ID: name and birth year
    nhi = person(a, "Quách Thị Nhi", "Con", "Nữ", "11/11/2016")
    thuan = person(c, "Mạc Văn Thuận", "Chủ hộ", "Nam", "1960", "092060100105")
    duyen = person(c, "Mạc Thị Duyên", "Vợ", "Nữ", "1963", "092163100106")
    khoi = person(c, "Mạc Văn Khôi", "Con", "Nam", "12/12/1990", "092090100107")
    lua = person(c, "Mạc Thị Lụa", "Con", "Nữ", "08/08/2008")
    first = deliver(mis_db, cfg, {"Xã Nhơn Ái": [luc, huyen, tam, nga, ty, nhi, thuan, duyen, khoi, lua]})
    assert first["reconcile"]["new"] == 2 and first["rows_rejected"] == 0, first
    before = reg.members()
    assert len(before) == 10 and all(m[2] for m in before)

    # Next year: Tâm, Ngà and Tỷ split off as household B (shares A's ID numbers: held for a person);
    # Khôi and Lụa appear in a new household D that validation rejects (a baby's sex is unreadable).
    def moved(row, code, relation):
        return [code, row[1], relation, *row[3:]]

    split = [moved(tam, b, "Chủ hộ"), moved(nga, b, "Em"), moved(ty, b, "Em")]
    rejected = [moved(khoi, d, "Chủ hộ"), moved(lua, d, "Em"),
                person(d, "Mạc Gia Bảo", "Con", "Không rõ", "02/02/2025")]
    second = deliver(mis_db, cfg, {"Xã Nhơn Ái": [luc, huyen, nhi, *split, thuan, duyen, *rejected]})
    # D is rejected by validation, B held by the reconcile: both wait in the fix-up workbook.
    assert (second["households_accepted"], second["households_rejected"]) == (2, 2), second
    assert second["reconcile"] == {"new": 0, "changed": 2, "unchanged": 0, "moved": 0, "missing": 0,
                                   "conflict": 1}, second["reconcile"]

    # Nobody is listed nowhere: every person the MIS had is still listed, in the household it had them in,
    # untouched (same row, same run ids); the held households are not in the MIS.
    assert reg.members() == before
    assert reg.rows("SELECT count(*) FROM mis.member WHERE updated_run_id <> created_run_id") == [(0,)]
    assert reg.rows("SELECT household_code FROM mis.household ORDER BY 1") == [(a,), (c,)]
    # Nobody is reported missing; B is the conflict, A and C changed (their rosters are shorter).
    assert reg.outcomes(second["run_id"]) == {
        ("household", a, "", "changed", ""), ("household", c, "", "changed", ""),
        ("household", b, "", "conflict", "reconcile.shared_members"),
        ("member", b, "Quách Văn Tâm", "conflict", "reconcile.shared_members"),
        ("member", b, "Quách Thị Ngà", "conflict", "reconcile.shared_members"),
        ("member", b, "Quách Văn Tỷ", "conflict", "reconcile.shared_members")}
    # What changed is the households' member counts, nothing of any person.
    assert reg.changes(second["run_id"]) == {("household", a, "", "member_count", "6", "3"),
                                             ("household", c, "", "member_count", "4", "2")}

    # Read again in full: still nobody unlisted, nothing more logged.
    third = deliver(mis_db, cfg, {"Xã Nhơn Ái": [luc, huyen, nhi, *split, thuan, duyen, *rejected]}, full=True)
    assert reg.members() == before
    assert reg.changes(third["run_id"]) == set()
    assert not any(o[3] == "missing" for o in reg.outcomes(third["run_id"]))


# ------------------------------------------------------------------ b. same name, different birth dates
def test_same_name_children_of_one_household_with_different_birth_dates_are_two_people(tmp_path, mis_db):  # noqa: F811
    """Inside a household, by key (name|birth year) and by typo-tolerant name: a full birth date that
    differs makes another person, never an update of the first."""
    reg = Registry(mis_db)
    cfg = config(tmp_path)
    e = "31300-0201"
    hoa = person(e, "Tôn Thất Hòa", "Chủ hộ", "Nam", "1975", "092075100201")
    hien = person(e, "Tôn Nữ Diệu Hiền", "Vợ", "Nữ", "1979", "092179100202")
    minh = person(e, "Tôn Thất Minh", "Con", "Nam", "04/03/2015")
    chau = person(e, "Tôn Nữ Bảo Châu", "Con", "Nữ", "01/02/2018")
    first = deliver(mis_db, cfg, {"Xã Nhơn Ái": [hoa, hien, minh, chau]})
    assert first["reconcile"]["new"] == 1 and first["rows_rejected"] == 0, first

    # Next year: a son with the same name and birth year but born on another day (the first Minh is no
    # longer on the roster), and a daughter whose name is close to Châu's (a letter dropped: a typo
    # for the name matcher), born on another day.
    minh2 = person(e, "Tôn Thất Minh", "Con", "Nam", "22/10/2015")
    chau2 = person(e, "Tôn Nữ Bảo Chu", "Con", "Nữ", "09/08/2018")
    second = deliver(mis_db, cfg, {"Xã Nhơn Ái": [hoa, hien, minh2, chau2]})
    assert second["reconcile"] == {"new": 0, "changed": 1, "unchanged": 0, "moved": 0, "missing": 0,
                                   "conflict": 0}, second["reconcile"]
    assert {o for o in reg.outcomes(second["run_id"]) if o[0] == "member"} == {
        ("member", e, "Tôn Thất Minh", "new", ""), ("member", e, "Tôn Thất Minh", "missing", ""),
        ("member", e, "Tôn Nữ Bảo Chu", "new", ""), ("member", e, "Tôn Nữ Bảo Châu", "missing", "")}

    def children():
        return sorted(reg.rows("SELECT m.full_name, m.listed, m.birth_date, m.member_key FROM mis.member m "
                               "WHERE m.relation_code = '03'"))

    # Two Minh rows and two rows for the girls, each with its own date; the second Minh has a key of his own.
    want = sorted([("Tôn Nữ Bảo Chu", True, dt.date(2018, 8, 9), "tonnubaochu|2018"),
                   ("Tôn Nữ Bảo Châu", False, dt.date(2018, 2, 1), "tonnubaochau|2018"),
                   ("Tôn Thất Minh", False, dt.date(2015, 3, 4), "tonthatminh|2015"),
                   ("Tôn Thất Minh", True, dt.date(2015, 10, 22), "tonthatminh|2015|2015-10-22")])
    assert children() == want
    assert reg.rows("SELECT count(*) FROM mis.member") == [(6,)]
    # Nobody's birth date or name was written over.
    assert not {c for c in reg.changes(second["run_id"]) if c[0] == "member"}

    # The same delivery read again in full: the second Minh is the second Minh; nothing changes.
    third = deliver(mis_db, cfg, {"Xã Nhơn Ái": [hoa, hien, minh2, chau2]}, full=True)
    assert third["reconcile"] == {"new": 0, "changed": 0, "unchanged": 1, "moved": 0, "missing": 0,
                                  "conflict": 0}, third["reconcile"]
    assert children() == want
    assert reg.changes(third["run_id"]) == set()


def test_same_name_children_of_two_households_with_different_birth_dates_are_two_people(tmp_path, mis_db):  # noqa: F811
    """Across the district: Yến (05/06/2014) left F for G, and K has a child of its own with the same name,
    sex and birth year, born 17/12/2014. G's Yến is the one who moved; K's is a new person."""
    reg = Registry(mis_db)
    cfg = config(tmp_path)
    f, g, k = "31300-0202", "31303-0301", "31303-0302"
    phu = person(f, "Lạc Văn Phú", "Chủ hộ", "Nam", "1970", "092070100203")
    yen = person(f, "Lạc Thị Yến", "Con", "Nữ", "05/06/2014")
    trong = person(g, "Lạc Văn Trọng", "Chủ hộ", "Nam", "1972", "092072100204", address="Ấp Thới Thạnh")
    nghi = person(k, "Lạc Văn Nghị", "Chủ hộ", "Nam", "1969", "092069100205", address="Ấp Thới Thạnh")
    first = deliver(mis_db, cfg, {"Xã Nhơn Ái": [phu, yen], "Xã Giai Xuân": [trong, nghi]})
    assert first["reconcile"]["new"] == 3 and first["rows_rejected"] == 0, first

    yen_g = person(g, "Lạc Thị Yến", "Cháu", "Nữ", "05/06/2014", address="Ấp Thới Thạnh")
    yen_k = person(k, "Lạc Thị Yến", "Con", "Nữ", "17/12/2014", address="Ấp Thới Thạnh")
    second = deliver(mis_db, cfg, {"Xã Nhơn Ái": [phu], "Xã Giai Xuân": [trong, yen_g, nghi, yen_k]})
    assert second["reconcile"] == {"new": 0, "changed": 3, "unchanged": 0, "moved": 0, "missing": 0,
                                   "conflict": 0}, second["reconcile"]
    assert {o for o in reg.outcomes(second["run_id"]) if o[0] == "member"} == {
        ("member", g, "Lạc Thị Yến", "moved", "name_elsewhere"), ("member", k, "Lạc Thị Yến", "new", "")}

    def yens():
        return reg.rows("""SELECT h.household_code, m.listed, m.birth_date FROM mis.member m
                           JOIN mis.household h USING (household_id) WHERE m.full_name = 'Lạc Thị Yến' ORDER BY 1""")

    want = [(f, False, dt.date(2014, 6, 5)), (g, True, dt.date(2014, 6, 5)), (k, True, dt.date(2014, 12, 17))]
    assert yens() == want
    assert {c for c in reg.changes(second["run_id"]) if c[0] == "member"} == {
        ("member", f, "lacthiyen|2014", "moved_to", f, g)}

    third = deliver(mis_db, cfg, {"Xã Nhơn Ái": [phu], "Xã Giai Xuân": [trong, yen_g, nghi, yen_k]}, full=True)
    assert third["reconcile"] == {"new": 0, "changed": 0, "unchanged": 3, "moved": 0, "missing": 0,
                                  "conflict": 0}, third["reconcile"]
    assert yens() == want
    assert reg.changes(third["run_id"]) == set()


# ------------------------------------------------------------------ c. a blank cell erases nothing
def test_a_blank_cell_never_erases_a_stored_value(tmp_path, mis_db):  # noqa: F811
    reg = Registry(mis_db)
    # A birth date left blank is a warning here, so that the household loads with the blank.
    cfg = config(tmp_path, rules={"required.birth_date": {"severity": "warning"}})
    h = "31315-0401"
    sang = person(h, "Thạch Văn Sang", "Chủ hộ", "Nam", "10/08/1965", "092065100401", "Khmer", "Ấp Tân Long")
    saray = person(h, "Thạch Thị Sa Rây", "Vợ", "Nữ", "02/03/1968", "092168100402", "Khmer", "Ấp Tân Long")
    soc = person(h, "Thạch Văn Sóc", "Con", "Nam", "14/04/2001", "092201100403", "Khmer", "Ấp Tân Long")
    sen = person(h, "Thạch Thị Sen", "Con", "Nữ", "20/01/2010", None, "Khmer", "Ấp Tân Long")
    first = deliver(mis_db, cfg, {"Xã Nhơn Nghĩa": [sang, saray, soc, sen]})
    assert first["reconcile"]["new"] == 1 and first["rows_rejected"] == 0, first
    before = reg.members()
    assert before == [
        (h, "Thạch Thị Sa Rây", True, dt.date(1968, 3, 2), 1968, "05", "092168100402", "cccd", "092168100402"),
        (h, "Thạch Thị Sen", True, dt.date(2010, 1, 20), 2010, "05", None, None, "thachthisen|2010"),
        (h, "Thạch Văn Sang", True, dt.date(1965, 8, 10), 1965, "05", "092065100401", "cccd", "092065100401"),
        (h, "Thạch Văn Sóc", True, dt.date(2001, 4, 14), 2001, "05", "092201100403", "cccd", "092201100403")]
    household = reg.rows("SELECT address, updated_run_id FROM mis.household")
    assert household == [("Ấp Tân Long", first["run_id"])]
    assessment = reg.rows("SELECT income_per_capita, poverty_category, updated_run_id FROM mis.poverty_assessment")
    assert assessment == [(1_200_000, "poor", first["run_id"])]

    # Next delivery: Sang's ID cell blank, Sa Rây's ethnicity blank, Sóc's birth date blank, Sen's birth
    # date given as the year alone, and the address and income columns blank on every row.
    def blank(row, *columns):
        row = list(row)
        for column in ("Địa chỉ", "Thu nhập bình quân đầu người", *columns):
            row[HEADER.index(column) - 1] = None
        return row

    sang2 = blank(sang, "Số CCCD")
    saray2 = blank(saray, "Dân tộc")
    soc2 = blank(soc, "Ngày sinh")
    sen2 = blank(sen)
    sen2[4] = "2010"
    second = deliver(mis_db, cfg, {"Xã Nhơn Nghĩa": [sang2, saray2, soc2, sen2]})
    assert second["rows_read"] == 4 and second["households_accepted"] == 1, second
    # Nothing the roster gave differs from what the MIS holds: unchanged, nothing written, nothing logged.
    assert second["reconcile"] == {"new": 0, "changed": 0, "unchanged": 1, "moved": 0, "missing": 0,
                                   "conflict": 0}, second["reconcile"]
    assert reg.members() == before                       # the stored ID, kind, ethnicity and dates; no duplicate
    assert reg.rows("SELECT count(*) FROM mis.member WHERE updated_run_id <> :r", r=first["run_id"]) == [(0,)]
    assert reg.rows("SELECT address, updated_run_id FROM mis.household") == household
    assert reg.rows("SELECT income_per_capita, poverty_category, updated_run_id FROM mis.poverty_assessment") == \
        assessment
    assert reg.changes(second["run_id"]) == set()
    assert reg.outcomes(second["run_id"]) == set()

    # A real change next to a blank: only the real change is written and logged.
    saray3 = list(saray2)
    saray3[2] = "Khác"                                   # relation changes, ethnicity still blank
    third = deliver(mis_db, cfg, {"Xã Nhơn Nghĩa": [sang2, saray3, soc2, sen2]})
    assert third["reconcile"]["changed"] == 1, third["reconcile"]
    assert reg.changes(third["run_id"]) == {("member", h, "092168100402", "relation_code", "02", "09")}
    assert reg.rows("SELECT ethnicity_code, relation_code, id_number, updated_run_id FROM mis.member "
                    "WHERE full_name = 'Thạch Thị Sa Rây'") == [("05", "09", "092168100402", third["run_id"])]
    assert [m for m in reg.members() if m[1] != "Thạch Thị Sa Rây"] == \
        [m for m in before if m[1] != "Thạch Thị Sa Rây"]


def test_a_person_who_moves_keeps_what_the_mis_knew_where_the_roster_is_blank(tmp_path, mis_db):  # noqa: F811
    """Sơn moves from H to H2, written there without his ID number or ethnicity: matched by name, birth
    year and sex, he leaves H, and his row in H2 has the ID number, kind, ethnicity and date the MIS had."""
    reg = Registry(mis_db)
    cfg = config(tmp_path)
    h, h2 = "31315-0411", "31315-0412"
    tuoi = person(h, "Kim Văn Tươi", "Chủ hộ", "Nam", "1958", "092058100411", "Khmer")
    son = person(h, "Kim Văn Sơn", "Con", "Nam", "05/05/1999", "092099100412", "Khmer")
    ria = person(h2, "Danh Thị Ria", "Chủ hộ", "Nữ", "1975", "092175100413", "Khmer")
    first = deliver(mis_db, cfg, {"Xã Nhơn Nghĩa": [tuoi, son, ria]})
    assert first["reconcile"]["new"] == 2 and first["rows_rejected"] == 0, first

    son2 = [h2, "Kim Văn Sơn", "Con rể", "Nam", "05/05/1999", None, None, "Ấp Mỹ Ái", "Hộ nghèo", 2025, 1_200_000]
    second = deliver(mis_db, cfg, {"Xã Nhơn Nghĩa": [tuoi, ria, son2]})
    assert {o for o in reg.outcomes(second["run_id"]) if o[0] == "member"} == {
        ("member", h2, "Kim Văn Sơn", "moved", "name_elsewhere")}
    assert reg.rows("""SELECT h.household_code, m.listed, m.birth_date, m.ethnicity_code, m.id_number, m.id_kind,
                              m.relation_code
                       FROM mis.member m JOIN mis.household h USING (household_id)
                       WHERE m.full_name = 'Kim Văn Sơn' ORDER BY 1""") == [
        (h, False, dt.date(1999, 5, 5), "05", "092099100412", "cccd", "03"),
        (h2, True, dt.date(1999, 5, 5), "05", "092099100412", "cccd", "08")]
    assert {c for c in reg.changes(second["run_id"]) if c[0] == "member"} == {
        ("member", h, "092099100412", "moved_to", h, h2)}
