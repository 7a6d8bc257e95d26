"""The loop with district staff: entries that stay open with a new reason, per-district workbooks, missing households."""
from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook
from rosters import GOOD_ROWS, HEADER, write_config, write_roster
from test_pipeline import bad_rows, mis_db, misgw  # noqa: F401  (mis_db is a fixture)


def _edit(workbook, out, changes: dict[str, tuple[str, str]]) -> None:
    """As a commune officer does in Excel: change the cells whose value is `old` in column `header`."""
    wb = load_workbook(workbook)
    ws = wb["Cần sửa"]
    headers = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        cells = dict(zip(headers, row))
        for header, (old, new) in changes.items():
            if cells[header].value == old:
                cells[header].value = new
    wb.save(out)


def _entries(url: str) -> list[dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.text(
            "SELECT entry_id, household_code, rule, status, seen_count, first_run_id, last_run_id, resolved_run_id "
            "FROM mis.reject_entry ORDER BY entry_id")).mappings()]
    engine.dispose()
    return rows


def test_a_record_still_wrong_stays_open_with_its_new_reason(tmp_path, mis_db):  # noqa: F811
    write_roster(tmp_path / "d" / "x.xlsx", rows=bad_rows())
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    [first] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    out = tmp_path / "sua-loi.xlsx"
    assert misgw("rejects", "export", "--source", "pd", "--out", str(out), env_url=mis_db).returncode == 0
    # The sex is fixed; the impossible date becomes another impossible date.
    _edit(out, tmp_path / "d" / "sua-loi.xlsx", {"Giới tính": ("Không rõ", "Nam"),
                                                 "Ngày sinh": ("31/02/2005", "30/02/2005")})
    [second] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert second["households_accepted"] == 1 and second["households_rejected"] == 1, second

    entries = {e["rule"]: e for e in _entries(mis_db)}
    assert set(entries) == {"format.birth_date", "codelist.sex"}          # one entry per problem, not one per run
    date, sex = entries["format.birth_date"], entries["codelist.sex"]
    assert (sex["status"], sex["resolved_run_id"]) == ("resolved", second["run_id"])
    assert (date["status"], date["seen_count"], date["first_run_id"], date["last_run_id"]) == \
        ("open", 2, first["run_id"], second["run_id"])
    [still] = json.loads(misgw("rejects", "list", "--json", env_url=mis_db).stdout)
    assert still["id"] == date["entry_id"] and "«30/02/2005»" in still["message_vi"]
    assert still["file"] == "sua-loi.xlsx"                                   # seen last in the returned workbook

    # Fixed for good the next time: resolved by the run that loads it.
    _edit(tmp_path / "d" / "sua-loi.xlsx", tmp_path / "d" / "sua-loi.xlsx", {"Ngày sinh": ("30/02/2005", "28/02/2005")})
    [third] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert third["households_accepted"] == 2 and third["rows_rejected"] == 0, third
    date = {e["rule"]: e for e in _entries(mis_db)}["format.birth_date"]
    assert (date["status"], date["resolved_run_id"]) == ("resolved", third["run_id"])


def test_a_province_wide_source_writes_one_workbook_per_district(tmp_path, mis_db):  # noqa: F811
    header = [*HEADER[:8], "Mã xã", *HEADER[9:]]
    rows = [list(r) for r in bad_rows()]
    for r in rows:
        r[7] = "31300"                                         # Nhơn Ái, Phong Điền (926)
    other = [["31222-0009", "Phan Văn Tư", "Chủ hộ", "Nam", "1960", "Kinh", None, "31222", "Hộ nghèo", 2025, 1000000],
             ["31222-0009", "Phan Thị Năm", "Vợ", "Không rõ", "1962", "Kinh", None, "31222", "Hộ nghèo", 2025, 1000000]]
    write_roster(tmp_path / "d" / "tinh.xlsx", rows=rows + other, header=header, sheet="Danh sách")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "cantho", "kind": "spreadsheet", "path": "d"}])
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    # Every household turned back: the run completes, and says it needs a person.
    assert s["status"] == "attention" and set(s["fixup_workbooks"]) == {"925", "926"}, s
    for district, codes in (("926", {"31300-0001", "31300-0002"}), ("925", {"31222-0009"})):
        wb = load_workbook(s["fixup_workbooks"][district])
        ws = wb["Cần sửa"]
        column = [c.value for c in ws[1]].index("Mã hộ")
        assert {r[column] for r in ws.iter_rows(min_row=2, values_only=True)} == codes
        assert wb["_misgw"]["F1"].value == district
    aging = {r["district_code"] for r in json.loads(misgw("rejects", "aging", "--json", env_url=mis_db).stdout)}
    assert aging == {"925", "926"}
    out = tmp_path / "export.xlsx"
    refused = misgw("rejects", "export", "--source", "cantho", "--out", str(out), env_url=mis_db)
    assert refused.returncode == 2 and "925, 926" in refused.stderr and "--district" in refused.stderr
    done = misgw("rejects", "export", "--source", "cantho", "--district", "925", "--out", str(out), env_url=mis_db)
    assert done.returncode == 0, done.stderr
    assert load_workbook(out)["Cần sửa"].max_row == 3


def test_missing_households_are_listed_for_the_district_and_never_read_back(tmp_path, mis_db):  # noqa: F811
    write_roster(tmp_path / "d" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    misgw("sync", "--config", str(cfg), env_url=mis_db, check=True)
    write_roster(tmp_path / "d" / "x.xlsx", rows=GOOD_ROWS[:3])          # household 0002 is left out
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert s["reconcile"]["missing"] == 1
    wb = load_workbook(s["fixup_workbooks"]["926"])
    gone = list(wb["Hộ không có trong DS"].iter_rows(values_only=True))
    assert gone[0][:4] == ("Mã hộ", "Chủ hộ", "Xã/phường", "Số thành viên")
    assert gone[1][:4] == ("31300-0002", "Lê Thị Dung", "Xã Nhơn Ái", 2) and "không bị xóa" in gone[1][5]
    [entry] = [e for e in _entries(mis_db) if e["rule"] == "reconcile.missing"]
    assert entry["household_code"] == "31300-0002" and entry["status"] == "open"

    # The workbook comes back unchanged: its missing-households sheet is not a roster to load.
    wb.save(tmp_path / "d" / "returned.xlsx")
    [again] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert again["reconcile"]["missing"] == 1 and again["reconcile"]["new"] == 0, again
    [entry] = [e for e in _entries(mis_db) if e["rule"] == "reconcile.missing"]
    assert entry["seen_count"] == 2 and entry["status"] == "open"

    # The district puts the household back on its roster: listed again, the entry resolved, the flag gone.
    (tmp_path / "d" / "returned.xlsx").unlink()
    write_roster(tmp_path / "d" / "x.xlsx")
    [back] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert back["reconcile"]["unchanged"] == 2
    [entry] = [e for e in _entries(mis_db) if e["rule"] == "reconcile.missing"]
    assert (entry["status"], entry["resolved_run_id"]) == ("resolved", back["run_id"])
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mis.household WHERE missing_run_id IS NOT NULL")).scalar() == 0
        history = conn.execute(sa.text("SELECT old_value, new_value FROM mis.change_log WHERE field = 'missing' "
                                       "ORDER BY change_id")).all()
    engine.dispose()
    assert history == [("false", "true"), ("true", "false")]


def test_a_load_after_another_run_reconciles_again_and_never_overwrites_it(tmp_path, mis_db):  # noqa: F811
    """Run A reconciles; run B loads the same household code for another district; A's load must see it."""
    from misgw import pipeline

    write_roster(tmp_path / "pd" / "x.xlsx", rows=GOOD_ROWS[:3])
    write_roster(tmp_path / "cd" / "x.xlsx", rows=GOOD_ROWS[:3], sheet="Xã Trung An")
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "pd", "kind": "spreadsheet", "path": "pd", "district_code": "926"},
        {"id": "cd", "kind": "spreadsheet", "path": "cd", "district_code": "925"}])
    run = pipeline.start_run(str(cfg), "pd")
    for stage in (pipeline.extract, pipeline.map_validate, pipeline.reconcile):
        stage(run)
    # Meanwhile Cờ Đỏ loads a household under the same code.
    [other] = pipeline.run_sync(str(cfg), ["cd"])
    assert other["status"] == "success" and other["households_accepted"] == 1
    pipeline.load(run)
    summary = pipeline.report(run)
    assert summary["reconcile"]["conflict"] == 1 and summary["households_accepted"] == 0, summary
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        owner = conn.execute(sa.text("SELECT source_id, district_code_pre2025 FROM mis.household "
                                     "WHERE household_code = '31300-0001'")).one()
    engine.dispose()
    assert tuple(owner) == ("cd", "925")


def test_a_night_with_nothing_new_names_the_workbook_it_already_wrote(tmp_path, mis_db):  # noqa: F811
    """The same records to fix make the same workbook: a run with nothing new, or one that judges the same
    records again to the same reasons, does not write it again, but names the one written; a workbook a
    person saved since, or records that changed, make a new one."""
    write_roster(tmp_path / "d" / "x.xlsx", rows=bad_rows())
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    sync = lambda *more: json.loads(misgw("sync", "--config", str(cfg), "--json", *more, env_url=mis_db).stdout)[0]  # noqa: E731
    folder = tmp_path / "out" / "fixup" / "pd"
    first = sync()
    [written] = first["fixup_workbooks"].values()
    made = Path(written).stat()
    second = sync()                                     # the workbook unchanged at the source
    assert second["unchanged_at_source"] and second["fixup_workbooks"] == first["fixup_workbooks"]
    assert [p.name for p in folder.iterdir()] == [Path(written).name]
    assert Path(written).stat().st_mtime_ns == made.st_mtime_ns
    rows = [(r["household_code"], r["full_name"], r["message_vi"]) for r in _fixup_rows(written)]

    # Read and judged again, to the same rows and reasons (a database's held-back households are, every
    # night): the same workbook, named again.
    third = sync("--full")
    assert third["rows_read"] and third["fixup_workbooks"] == first["fixup_workbooks"]
    assert Path(written).stat().st_mtime_ns == made.st_mtime_ns
    assert sync()["fixup_workbooks"] == third["fixup_workbooks"]

    # Opened in Excel and saved where it was: the next run writes its own, with the same rows.
    wb = load_workbook(written)
    wb["Cần sửa"]["Z1"] = "đã xem"
    wb.save(written)
    fifth = sync()
    [again] = fifth["fixup_workbooks"].values()
    assert fifth["run_id"] in again
    assert [(r["household_code"], r["full_name"], r["message_vi"]) for r in _fixup_rows(again)] == rows

    # A record that changed at the source: a new workbook with the new reason.
    bad = [[("30/02/2005" if v == "31/02/2005" else v) for v in r] for r in bad_rows()]
    write_roster(tmp_path / "d" / "x.xlsx", rows=bad)
    sixth = sync()
    [newest] = sixth["fixup_workbooks"].values()
    assert sixth["run_id"] in newest and any("30/02/2005" in r["message_vi"] for r in _fixup_rows(newest))


def _fixup_rows(path) -> list[dict]:
    """The «Cần sửa» rows as a person reads them: household, name and the reason column."""
    ws = load_workbook(path, read_only=True)["Cần sửa"]
    rows = list(ws.iter_rows(values_only=True))
    at = {h: i for i, h in enumerate(rows[0])}
    return [{"household_code": r[at["Mã hộ"]], "full_name": r[at["Họ và tên"]], "message_vi": r[at["Lý do cần sửa"]]}
            for r in rows[1:]]
