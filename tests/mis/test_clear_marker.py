"""«xóa» clears a stored value, a blank cell never does, and each clearing is in the household's history."""
from __future__ import annotations

import json

import sqlalchemy as sa
from rosters import write_config, write_roster
from test_pipeline import mis_db, misgw  # noqa: F401  (mis_db is a fixture)

# Xã Nhơn Ái (31300), Huyện Phong Điền (926); invented people, no ID numbers but one.
FIRST = [
    ["NA-101", "Phan Văn Khởi", "Chủ hộ", "Nam", "05/06/1968", "Khmer", "092068004512", "Ấp Nhơn Lộc 1",
     "Hộ nghèo", 2025, 1_050_000],
    ["NA-101", "Phan Thị Lành", "Con", "Nữ", "2006", "Khmer", None, "Ấp Nhơn Lộc 1", "Hộ nghèo", 2025, 1_050_000],
    ["NA-102", "Võ Thị Mười", "Chủ hộ", "Nữ", "11/11/1959", "Hoa", None, "Ấp Nhơn Lộc 2", "Hộ cận nghèo", 2025,
     1_450_000],
]


def _stored(url: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        people = {r[0]: r[1:] for r in conn.execute(sa.text(
            "SELECT full_name, ethnicity_code, id_number FROM mis.member"))}
        households = {r[0].split("/")[-1]: r[1:] for r in conn.execute(sa.text("""
            SELECT h.household_code, h.hamlet, p.income_per_capita FROM mis.household h
            JOIN mis.poverty_assessment p USING (household_id)"""))}
        log = conn.execute(sa.text("SELECT field, old_value, new_value FROM mis.change_log WHERE new_value IS NULL "
                                   "ORDER BY field")).all()
    engine.dispose()
    return {"people": people, "households": households, "cleared": [tuple(r) for r in log]}


def test_xoa_clears_a_blank_keeps_and_the_history_says_so(tmp_path, mis_db):
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926"}])
    write_roster(tmp_path / "d" / "x.xlsx", FIRST)
    [first] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert first["rows_rejected"] == 0, first
    before = _stored(mis_db)
    assert before["people"]["Phan Văn Khởi"] == ("05", "092068004512") and not before["cleared"], before

    second = [list(r) for r in FIRST]
    second[0][5] = "xóa"            # the head's ethnicity: cleared on purpose
    second[0][6] = "(Xóa)"          # and his ID number, written the way people bracket a note
    second[1][5] = None             # his daughter's ethnicity left blank: kept
    second[2][10] = "XOÁ"           # household NA-102's income: cleared
    second[2][7] = None             # its hamlet left blank: kept
    write_roster(tmp_path / "d" / "x.xlsx", second)
    [run] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert run["status"] in ("success", "attention") and run["rows_rejected"] == 0, run

    after = _stored(mis_db)
    assert after["people"]["Phan Văn Khởi"] == (None, None)
    assert after["people"]["Phan Thị Lành"] == ("05", None)                 # blank is not «xóa»
    assert after["households"]["NA-102"] == ("Ấp Nhơn Lộc 2", None)        # hamlet kept, income cleared
    assert after["households"]["NA-101"][1] == 1_050_000
    assert after["cleared"] == [("ethnicity_code", "05", None), ("id_number", "092068004512", None),
                                ("income_per_capita", "1450000", None)], after["cleared"]
    # The household's history shows the clearing.
    shown = misgw("history", "NA-102", env_url=mis_db)
    assert shown.returncode == 0 and "income_per_capita" in shown.stdout, shown.stdout + shown.stderr
