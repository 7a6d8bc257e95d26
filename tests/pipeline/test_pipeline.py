"""The whole path on real PostgreSQL: read, map, validate, reconcile, load, report; and its failures."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from rosters import GOOD_ROWS, HEADER, write_config, write_roster

CENTRAL_TABLES = ["household", "member", "poverty_assessment", "beneficiary"]


def dump_checksum(url: str) -> dict[str, str]:
    """md5 of each central table dumped in a fixed order."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {t: conn.execute(sa.text(
            f"SELECT coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') FROM mis.{t} x")).scalar()
            for t in CENTRAL_TABLES}
    engine.dispose()
    return out


SURROGATES = {"household_id", "member_id", "beneficiary_id", "change_id"}


def natural_state(url: str, first_run: str | None = None) -> dict[str, list]:
    """The central tables by natural keys: surrogate ids become household codes and member keys, run ids
    become "first" (the run both databases share, if any) or "later", so two databases can be compared."""
    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as conn:
        codes = dict(conn.execute(sa.text("SELECT household_id, household_code FROM mis.household")).all())
        members = {m: (codes[h], k) for m, h, k in conn.execute(sa.text(
            "SELECT member_id, household_id, member_key FROM mis.member"))}
        for table in CENTRAL_TABLES + ["change_log"]:
            rows = []
            for r in conn.execute(sa.text(f"SELECT * FROM mis.{table}")).mappings():
                row = {}
                for k, v in r.items():
                    if k.endswith("run_id") or k == "run_id":
                        v = None if v is None else ("first" if v == first_run else "later")
                    elif k == "household_id" and table != "household":
                        v = codes[v]
                    elif k == "member_id" and table != "member":
                        v = members[v]
                    elif k in SURROGATES:
                        continue
                    row[k] = v
                rows.append(repr(sorted(row.items())))
            out[table] = sorted(rows)
    engine.dispose()
    return out


def misgw(*args, env_url: str, check: bool = False) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, MISGW_DATABASE_URL=env_url)
    return subprocess.run([sys.executable, "-m", "misgw.cli", *args], capture_output=True, text=True,
                          env=env, check=check, timeout=300)


def copy_unit_tables(units_db: str, url: str) -> None:
    """The GSO unit tables of the session's units database, copied into a migrated MIS."""
    src = sa.create_engine(units_db)
    dst = sa.create_engine(url)
    with src.connect() as a, dst.begin() as b:
        for table in ["province_pre2025", "district_pre2025", "commune_pre2025", "province", "commune",
                      "commune_crosswalk"]:
            rows = a.execute(sa.text(f"SELECT * FROM mis.{table}")).mappings().all()
            if rows:
                cols = list(rows[0].keys())
                b.execute(sa.text(f"INSERT INTO mis.{table} ({', '.join(cols)}) VALUES "
                                  f"({', '.join(':' + c for c in cols)})"), [dict(r) for r in rows])
    src.dispose()
    dst.dispose()


@pytest.fixture
def mis_db(fresh_db, units_db):
    """A fresh MIS with the GSO unit tables copied from the session's units database."""
    copy_unit_tables(units_db, fresh_db)
    return fresh_db


def bad_rows():
    rows = [list(r) for r in GOOD_ROWS]
    rows[2][4] = "31/02/2005"          # household 0001: a member's impossible birth date
    rows[4][3] = "Không rõ"            # household 0002: unknown sex
    return rows


def test_sync_loads_a_roster_and_a_rerun_changes_nothing(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "phong-dien.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "pd", "kind": "spreadsheet", "path": "d", "mapping": "auto", "district_code": "926"}])
    first = misgw("sync", "--config", str(cfg), "--json", env_url=mis_db)
    assert first.returncode == 0, first.stderr
    [s1] = json.loads(first.stdout)
    assert s1["status"] == "success"
    assert (s1["rows_read"], s1["households_accepted"], s1["members_accepted"]) == (5, 2, 5)
    assert s1["rows_rejected"] == 0 and s1["households_rejected"] == 0
    assert s1["reconcile"]["new"] == 2
    # Every stage's wall time is in the summary, the report's own included.
    assert set(s1["stage_seconds"]) == {"extract", "map_validate", "reconcile", "load", "report"}
    assert all(v >= 0 for v in s1["stage_seconds"].values())
    docs = s1["data_docs"]
    assert docs.endswith(f"out/data-docs/runs/pd-{s1['run_id']}.html")
    index = docs.replace(f"runs/pd-{s1['run_id']}.html", "index.html")
    assert f"runs/pd-{s1['run_id']}.html" in open(index, encoding="utf-8").read()
    gx_index = index.replace("index.html", "gx/index.html")
    assert f"validations/roster_basic/pd-{s1['run_id']}/" in open(gx_index, encoding="utf-8").read()
    assert s1["mapping"] == [{"file": "phong-dien.xlsx", "sheet": "Xã Nhơn Ái", "roster": True, "header_row": 4,
                              "columns_mapped": 12, "ignored_columns": [], "skipped_rows": {"blank": 1, "footer": 1}}]
    before = dump_checksum(mis_db)

    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        hh = conn.execute(sa.text("SELECT household_code, commune_code_pre2025, commune_code, head_name, member_count, "
                                  "source_file, source_sheet, source_row FROM mis.household ORDER BY 1")).all()
        dung = conn.execute(sa.text("SELECT full_name, id_number, id_kind, birth_date, birth_year, ethnicity_code "
                                    "FROM mis.member WHERE full_name LIKE 'Lê Thị%'")).one()
        cuong = conn.execute(sa.text("SELECT birth_date, birth_year FROM mis.member "
                                     "WHERE full_name = 'Nguyễn Văn Cường'")).one()
        pa = conn.execute(sa.text("SELECT poverty_category, income_per_capita, assessment_year "
                                  "FROM mis.poverty_assessment ORDER BY 1")).all()
    engine.dispose()
    assert hh[0][:3] == ("31300-0001", "31300", hh[0][2]) and hh[0][2] is not None
    assert hh[0][3] == "Nguyễn Văn An" and hh[0][4] == 3
    assert hh[0][5:] == ("phong-dien.xlsx", "Xã Nhơn Ái", 5)
    # All capitals title-cased; the ID typed as a number got its leading zero back; Khơ me is code 05.
    assert dung == ("Lê Thị Dung", "092150011111", "cccd", dung[3], 1950, "05")
    assert cuong == (None, 2005)            # a year alone stays a year
    assert sorted(p[0] for p in pa) == ["near_poor", "poor"]

    # The same files again: nothing is read, nothing changes.
    [s2] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert s2["status"] == "success" and s2["unchanged_at_source"] and s2["rows_read"] == 0, s2
    assert s2["reconcile"] == dict.fromkeys(["new", "changed", "unchanged", "moved", "missing", "conflict"], 0)
    assert "no change at source" in misgw("runs", "show", s2["run_id"], env_url=mis_db).stdout
    # Read in full all the same: every household unchanged, and still nothing changes.
    [s3] = json.loads(misgw("sync", "--config", str(cfg), "--full", "--json", env_url=mis_db).stdout)
    assert not s3["unchanged_at_source"] and s3["rows_read"] == 5
    assert s3["reconcile"] == {"new": 0, "changed": 0, "unchanged": 2, "moved": 0, "missing": 0, "conflict": 0}
    assert dump_checksum(mis_db) == before


def test_invalid_member_holds_the_household_back_whole(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "x.xlsx", rows=bad_rows())
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    out = misgw("sync", "--config", str(cfg), "--json", env_url=mis_db)
    [s] = json.loads(out.stdout)
    assert s["households_rejected"] == 2 and s["households_accepted"] == 0 and s["rows_rejected"] == 2
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mis.member")).scalar() == 0
    engine.dispose()
    listed = json.loads(misgw("rejects", "list", "--source", "pd", "--json", env_url=mis_db).stdout)
    assert {(r["row"], r["rule"]) for r in listed} == {(7, "format.birth_date"), (9, "codelist.sex")}
    rec = next(r for r in listed if r["rule"] == "codelist.sex")
    assert rec["file"] == "x.xlsx" and rec["sheet"] == "Xã Nhơn Ái" and rec["household_code"] == "31300-0002"
    assert "Không rõ" in rec["message_vi"] and "Nam" in rec["message_vi"] and rec["status"] == "open"
    # The fix-up workbook: Vietnamese, offending cells commented, hidden sheet naming source and run.
    wb = load_workbook(s["fixup_workbooks"]["926"])
    assert wb.sheetnames[0] == "Hướng dẫn" and "Cần sửa" in wb.sheetnames
    assert wb["_misgw"].sheet_state == "hidden" and wb["_misgw"]["B1"].value == "pd"
    ws = wb["Cần sửa"]
    headers = [c.value for c in ws[1]]
    sex_col = headers.index("Giới tính") + 1
    commented = [ws.cell(row=r, column=sex_col) for r in range(2, ws.max_row + 1)
                 if ws.cell(row=r, column=sex_col).comment]
    assert [c.value for c in commented] == ["Không rõ"]
    # Offending cells are highlighted, the others are not; it opens on the records to fix, headers kept in view.
    highlighted = [(r, c) for r in range(2, ws.max_row + 1) for c in range(1, ws.max_column + 1)
                   if ws.cell(row=r, column=c).fill.fgColor.rgb == "00FFF2A8"]
    assert len(highlighted) == 2 and (commented[0].row, sex_col) in highlighted
    assert all(ws.cell(row=r, column=c).comment for r, c in highlighted)
    assert wb.active.title == "Cần sửa" and ws.freeze_panes == "D2" and ws["A1"].font.b
    assert ws.max_row == 1 + 5            # every row of both held-back households


def test_dry_run_writes_nothing_to_the_central_tables(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    before = dump_checksum(mis_db)
    out = misgw("sync", "--config", str(cfg), "--dry-run", "--json", env_url=mis_db)
    [s] = json.loads(out.stdout)
    assert s["status"] == "success" and s["dry_run"] and s["reconcile"]["new"] == 2
    assert dump_checksum(mis_db) == before


@pytest.mark.parametrize("workers", ["1", "3"])
def test_bad_sources_fail_alone_with_one_sentence(tmp_path, mis_db, workers):
    write_roster(tmp_path / "good" / "x.xlsx")
    (tmp_path / "notxl").mkdir()
    (tmp_path / "notxl" / "ds.xlsx").write_text("<html><body>not a workbook</body></html>")
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "missing", "kind": "spreadsheet", "path": "nowhere", "district_code": "926"},
        {"id": "notxl", "kind": "spreadsheet", "path": "notxl", "district_code": "926"},
        {"id": "good", "kind": "spreadsheet", "path": "good", "district_code": "926"}])
    out = misgw("sync", "--config", str(cfg), "--json", "--workers", workers, env_url=mis_db)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert [s["source_id"] for s in json.loads(out.stdout)] == ["missing", "notxl", "good"]   # config order
    by_id = {s["source_id"]: s for s in json.loads(out.stdout)}
    assert by_id["good"]["status"] == "success" and by_id["good"]["households_accepted"] == 2
    assert by_id["missing"]["status"] == "failed" and "nowhere" in by_id["missing"]["error"]
    assert by_id["notxl"]["status"] == "failed" and "ds.xlsx" in by_id["notxl"]["error"]
    for s in (by_id["missing"], by_id["notxl"]):
        assert "\n" not in s["error"]
    # A source that read well once and whose folder is then gone fails alone too (the sync asks every
    # source first whether it has anything new).
    (tmp_path / "good" / "x.xlsx").rename(tmp_path / "x.xlsx")
    (tmp_path / "good").rmdir()
    out = misgw("sync", "--config", str(cfg), "--json", "--workers", workers, env_url=mis_db)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    by_id = {s["source_id"]: s for s in json.loads(out.stdout)}
    assert by_id["good"]["status"] == "failed" and "good" in by_id["good"]["error"], by_id["good"]


def test_workers_start_databases_then_the_sources_whose_last_run_took_longest_first(mis_db, monkeypatch):
    from mis import db, runs
    from misgw import pipeline

    monkeypatch.setenv("MISGW_DATABASE_URL", mis_db)
    engine = db.get_engine()
    with engine.begin() as conn:
        # source, started (minutes ago), seconds taken; only each source's latest run counts.
        for i, (sid, ago, took) in enumerate([("short", 60, 400), ("short", 10, 3), ("long", 20, 90),
                                              ("unfinished", 5, None)]):
            runs.open_run(conn, f"run{i}", sid, "92", "926", False, {})
            conn.execute(sa.text(
                "UPDATE mis.sync_run SET started_at = now() - make_interval(mins => :ago), "
                "finished_at = now() - make_interval(mins => :ago) + make_interval(secs => :took) WHERE run_id = :r"),
                {"ago": ago, "took": took, "r": f"run{i}"})
    # A source never run (or never finished) keeps its place, after those that have a duration.
    assert pipeline._longest_first(["never", "short", "unfinished", "long"]) == ["long", "short", "never", "unfinished"]
    # A database is read on every run (a workbook that did not change costs nothing): it starts first.
    assert pipeline._longest_first(["never", "short", "unfinished", "long"], {"short", "never"}) == \
        ["short", "never", "long", "unfinished"]


GX_INHERITED = r"""
import gc, json, sys
from misgw import pipeline

from expectations import gx_process

work = lambda sid: {"source": sid, "gx": "great_expectations" in sys.modules, "frozen": gc.get_freeze_count() > 10_000,
                    "helper": gx_process.start()}
quiet = set(filter(None, sys.argv[2].split(",")))
done = pipeline._in_processes(work, sys.argv[1].split(","), 2, lambda sid, started, how: {"source": sid, "died": how},
                              quiet=quiet)
print(json.dumps({"children": done, "parent": "great_expectations" in sys.modules}))
"""


@pytest.mark.parametrize("sources, quiet, imported", [("a,b,c", "", True), ("a,b", "", False), ("a,b,c", "c", True),
                                                      ("a,b,c", "b,c", False)])
def test_gx_is_imported_once_before_the_source_processes_fork(mis_db, sources, quiet, imported):
    """More sources than workers: the parent imports GX and every source process inherits it, frozen (the
    children's collections skip it). As many sources as workers: nobody pays for it up front (a source
    that needs GX imports it itself, in a GX process of its own). When only the first source will judge
    anything (the others quiet: their files as the last run read them), it starts at once with a GX
    process of its own, and the quiet ones start with neither GX nor a GX process (if one ever needs GX it
    imports it itself)."""
    out = subprocess.run([sys.executable, "-c", GX_INHERITED, sources, quiet], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "MISGW_DATABASE_URL": mis_db})
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["parent"] is imported
    alone = quiet == "b,c"
    assert got["children"] == [{"source": s, "gx": imported, "frozen": imported or (alone and s in quiet),
                                "helper": not imported and s not in quiet} for s in sources.split(",")]


def test_a_source_whose_files_are_as_the_last_run_read_them_has_nothing_new(tmp_path, mis_db, monkeypatch):
    """What the sync asks before it starts the sources (to know which need GX): the same answer the run's
    extract gets, from the same bookmark."""
    from mis import db
    from misgw.config import load_config
    from misgw.stages.extract import nothing_new

    monkeypatch.setenv("MISGW_DATABASE_URL", mis_db)
    db.forget_engines()
    write_roster(tmp_path / "d" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    source = load_config(str(cfg)).source("pd")
    assert not nothing_new(load_config(str(cfg)), source)                      # never read
    misgw("sync", "--config", str(cfg), env_url=mis_db, check=True)
    assert nothing_new(load_config(str(cfg)), source)
    again = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db, check=True).stdout)[0]
    assert again["unchanged_at_source"] and again["rows_read"] == 0
    rows = [list(r) for r in GOOD_ROWS]
    rows[1][1] = "Lê Thị Hoa Mới"
    write_roster(tmp_path / "d" / "x.xlsx", rows=rows)
    assert not nothing_new(load_config(str(cfg)), source)
    misgw("sync", "--config", str(cfg), env_url=mis_db, check=True)
    # How records are read changed (the source's district): everything is read again.
    cfg.write_text(cfg.read_text().replace("'926'", "'927'").replace('"926"', '"927"').replace(": 926", ": 927"))
    assert load_config(str(cfg)).source("pd").district_code == "927"
    assert not nothing_new(load_config(str(cfg)), load_config(str(cfg)).source("pd"))


@pytest.mark.parametrize("text, expected", [
    ("province_code: 92\nsources: []\n", "'sources' must be a non-empty list"),
    ("province_code: 92\nsources:\n  - {id: a, kind: ftp, path: x}\n", "'kind' must be one of"),
    ("province_code: [\n", "not valid YAML at line"),
    ("sources:\n  - {id: a, kind: spreadsheet, path: x}\n", "'province_code' must be a 2-digit code"),
])
def test_malformed_config_is_one_sentence(tmp_path, mis_db, text, expected):
    cfg = tmp_path / "misgw.yaml"
    cfg.write_text(text)
    out = misgw("sync", "--config", str(cfg), env_url=mis_db)
    assert out.returncode == 2
    assert expected in out.stderr and str(cfg) in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_database_that_does_not_answer(tmp_path):
    write_roster(tmp_path / "d" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d"}])
    out = misgw("sync", "--config", str(cfg), env_url="postgresql://mis:s3cret@127.0.0.1:1/mis")
    assert out.returncode == 2
    assert "does not answer" in out.stderr and "127.0.0.1:1" in out.stderr
    assert "s3cret" not in out.stderr and "Traceback" not in out.stderr


def test_changed_household_is_classified_with_its_fields(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    misgw("sync", "--config", str(cfg), env_url=mis_db, check=True)
    rows = [list(r) for r in GOOD_ROWS]
    for r in rows[3:]:
        r[8] = "Hộ nghèo"                 # household 0002 moves from near-poor to poor
    rows[1][7] = "Ấp Nhơn Lộc 2"          # household 0001: the address on a member row only
    write_roster(tmp_path / "d" / "x.xlsx", rows=rows)
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert s["reconcile"] == {"new": 0, "changed": 1, "unchanged": 1, "moved": 0, "missing": 0, "conflict": 0}
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        cat = conn.execute(sa.text("SELECT p.poverty_category, p.updated_run_id = :r FROM mis.poverty_assessment p "
                                   "JOIN mis.household h USING (household_id) WHERE h.household_code = '31300-0002'"),
                           {"r": s["run_id"]}).one()
        fields = conn.execute(sa.text("SELECT reconcile->'changed_fields' FROM mis.sync_run WHERE run_id = :r"),
                              {"r": s["run_id"]}).scalar()
    engine.dispose()
    assert cat == ("poor", True)
    assert fields == {"poverty_category": 1}
    history = json.loads(misgw("history", "31300-0002", "--json", env_url=mis_db).stdout)
    change = next(h for h in history if h["field"] == "poverty_category")
    assert (change["entity"], change["assessment_year"], change["old_value"], change["new_value"]) == \
        ("poverty_assessment", 2025, "near_poor", "poor")
    assert change["run_id"] == s["run_id"] and change["source_file"] == "x.xlsx" and change["changed_by"]
    text = misgw("history", "31300-0002", env_url=mis_db).stdout
    assert "poverty_assessment 2025.poverty_category: 'near_poor' -> 'poor'" in text


def test_missing_household_is_flagged_never_deleted(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    misgw("sync", "--config", str(cfg), env_url=mis_db, check=True)
    write_roster(tmp_path / "d" / "x.xlsx", rows=GOOD_ROWS[:3])
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert s["reconcile"]["missing"] == 1 and s["reconcile"]["unchanged"] == 1
    # The household still in the workbook is as it was there: compared with the snapshot, not judged again.
    assert s["partial"] and s["rows_read"] == 0, s
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mis.household")).scalar() == 2
    engine.dispose()
    # A full reload judges everything again, with the same outcome.
    [full] = json.loads(misgw("sync", "--config", str(cfg), "--full", "--json", env_url=mis_db).stdout)
    assert not full["partial"] and full["rows_read"] == 3, full
    assert full["reconcile"]["missing"] == 1 and full["reconcile"]["unchanged"] == 1


def test_rejects_export_writes_text_never_formulas(tmp_path, mis_db):
    path = write_roster(tmp_path / "d" / "x.xlsx")
    wb = load_workbook(path)
    cell = wb.active["E6"]                         # a sex value that Excel would run as a formula
    cell.value, cell.data_type = '=HYPERLINK("http://x")', "s"
    wb.save(path)
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    misgw("sync", "--config", str(cfg), env_url=mis_db)
    out_file = tmp_path / "export" / "pd.xlsx"
    res = misgw("rejects", "export", "--source", "pd", "--out", str(out_file), env_url=mis_db)
    assert res.returncode == 0, res.stderr
    ws = load_workbook(out_file)["Cần sửa"]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)
    missing = misgw("rejects", "export", "--source", "nosuch", "--out", str(out_file), env_url=mis_db)
    assert missing.returncode == 2 and "No source 'nosuch'. Sources: pd." in missing.stderr


def test_province_turns_a_rule_into_a_reject_without_code(tmp_path, mis_db):
    rows = [list(r) for r in GOOD_ROWS]
    rows[4][6] = "361234567"                       # a legacy 9-digit CMND: a warning by default
    write_roster(tmp_path / "d" / "x.xlsx", rows=rows)
    sources = [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}]
    cfg = write_config(tmp_path / "misgw.yaml", sources)
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--dry-run", "--json", env_url=mis_db).stdout)
    assert s["households_accepted"] == 2 and s["rows_rejected"] == 0
    import yaml

    data = yaml.safe_load(cfg.read_text())
    data["rules"] = {"id.legacy_cmnd": {"severity": "reject"}}
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True))
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--dry-run", "--json", env_url=mis_db).stdout)
    assert s["households_accepted"] == 1 and s["rows_rejected"] == 1
    data["rules"] = {"id.no_such_rule": {"enabled": False}}
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True))
    bad = misgw("sync", "--config", str(cfg), env_url=mis_db)
    assert bad.returncode == 2 and "unknown rule 'id.no_such_rule'" in bad.stderr


def test_one_row_per_household_layout(tmp_path, mis_db):
    header = ["STT", "Mã hộ", "Họ và tên chủ hộ", "Giới tính", "Năm sinh", "Dân tộc", "Số CCCD", "Phân loại hộ"]
    rows = [["31300-0101", "Võ Văn Sáu", "Nam", 1962, "Kinh", "092062000111", "Hộ nghèo"],
            ["31300-0102", "Đỗ Thị Bảy", "Nữ", 1970, "Kinh", "092170000222", "Hộ cận nghèo"]]
    write_roster(tmp_path / "d" / "x.xlsx", rows=rows, header=header)
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert s["status"] == "success" and s["households_accepted"] == 2 and s["rows_rejected"] == 0, s
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        heads = conn.execute(sa.text("SELECT relation_code, count(*) FROM mis.member GROUP BY 1")).all()
    engine.dispose()
    assert heads == [("01", 2)]


def test_unrecognised_headers_fail_clearly_and_suggest_fixes_them(tmp_path, mis_db):
    header = list(HEADER)
    header[2] = "Ho ten thanh vien ho"        # not in the vocabulary, but one letter from "Họ tên thành viên"
    header[5] = "Ngay thang sinh (dd/mm)"     # nor this, and nothing close
    write_roster(tmp_path / "d" / "x.xlsx", header=header)
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert s["status"] == "failed"
    assert "«Ngay thang sinh (dd/mm)»" in s["error"] and "full_name" not in s["error"]
    assert "birth_date («Ngày sinh»)" in s["error"] and "mapping suggest" in s["error"]

    proposal = misgw("mapping", "suggest", str(tmp_path / "d" / "x.xlsx"), env_url=mis_db)
    assert proposal.returncode == 0, proposal.stderr
    assert '"Ho ten thanh vien ho": full_name  # confidence 0.9' in proposal.stdout
    assert '"Ngay thang sinh (dd/mm)": birth_date' in proposal.stdout
    (tmp_path / "mapping.yaml").write_text(proposal.stdout, encoding="utf-8")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926", "mapping": "mapping.yaml"}])
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert s["status"] == "success" and s["households_accepted"] == 2, s


def test_runs_show_gives_the_mapping_report(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d"}])
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    shown = json.loads(misgw("runs", "show", s["run_id"], "--json", env_url=mis_db).stdout)
    [sheet] = shown["mapping_report"]
    assert sheet["header_row"] == 4 and sheet["skipped_rows"] == {"blank": [10], "footer": [11]}
    assert [c["field"] for c in sheet["columns"]][:3] == ["row_number", "household_code", "full_name"]
    text = misgw("runs", "show", s["run_id"], env_url=mis_db).stdout
    assert "header row 4" in text and "'Họ và tên'" in text and "skipped rows (footer): 11" in text
    listed = misgw("runs", "list", "--source", "pd", env_url=mis_db).stdout
    assert s["run_id"] in listed
    assert misgw("runs", "show", "nope", env_url=mis_db).returncode == 2


def _commune_roster(tmp_path, folder, communes, column="Xã"):
    header = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Năm sinh", column, "Phân loại hộ"]
    rows = [[f"{folder}-{i:03d}", f"Người Thứ {chr(65 + i)}", "Chủ hộ", "Nam", 1970, c, "Hộ nghèo"]
            for i, c in enumerate(communes)]
    return write_roster(tmp_path / folder / "x.xlsx", rows=rows, header=header, sheet="Danh sách")


def test_communes_by_name_or_code_resolve_to_2025_units_or_are_held(tmp_path, mis_db):
    # Phong Điền (926): names with or without "Xã", with or without accents, in capitals.
    _commune_roster(tmp_path, "pd", ["Nhơn Ái", "xa nhon nghia", "XÃ GIAI XUÂN", "Xã Không Có"])
    # By code, across the province: 31178 Bùi Hữu Nghĩa was split in 2025; 31300 is not in Bình Thủy (918).
    _commune_roster(tmp_path, "bt", ["31168", "31178", "31300"], column="Mã xã")
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "pd", "kind": "spreadsheet", "path": "pd", "district_code": "926"},
        {"id": "bt", "kind": "spreadsheet", "path": "bt", "district_code": "918"}])
    runs = {s["source_id"]: s for s in json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)}
    assert runs["pd"]["households_accepted"] == 3 and runs["bt"]["households_accepted"] == 1
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        placed = dict(conn.execute(sa.text(
            "SELECT commune_code_pre2025, commune_code FROM mis.household ORDER BY 1")).all())
    engine.dispose()
    assert set(placed) == {"31300", "31315", "31303", "31168"}
    assert all(placed.values())                       # every loaded household has its 2025 commune
    rejects = {(r["source_id"], r["rule"]): r for r in
               json.loads(misgw("rejects", "list", "--json", env_url=mis_db).stdout)}
    assert rejects[("pd", "unit.commune")]["value"] == "Xã Không Có"
    split = rejects[("bt", "unit.commune_split")]
    assert "Phường Cái Khế (31120)" in split["message_vi"] and "Phường Bình Thủy (31168)" in split["message_vi"]
    assert "cán bộ xác định" in split["message_vi"]
    assert rejects[("bt", "unit.commune_district")]["value"] == "31300"


def test_lost_zero_is_put_back_only_when_the_digits_prove_it(tmp_path, mis_db):
    rows = [list(r) for r in GOOD_ROWS]
    rows[0][6] = 92075012345          # head born 1975, male: 092 0 75 ... proves itself
    rows[4][6] = 92090022222          # born 1980 but digits say 1990: cannot be proved
    write_roster(tmp_path / "d" / "x.xlsx", rows=rows)
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert s["households_accepted"] == 1 and s["rows_rejected"] == 1
    [r] = [r for r in json.loads(misgw("rejects", "list", "--json", env_url=mis_db).stdout) if r["severity"] == "reject"]
    assert r["rule"] == "id.unprovable" and r["row"] == 9 and "mất số 0" in r["message_vi"]
    assert "92090022222" not in json.dumps(r) and "092090022222" not in json.dumps(r)


def test_rosters_made_after_the_reform_use_current_units(tmp_path, mis_db):
    # Cần Thơ after 1 July 2025: Phường Cái Khế is 31120; 31117 (the old Cái Khế) is no current commune.
    _commune_roster(tmp_path, "new", ["31120", "Phường Bình Thủy", "31117"], column="Mã xã")
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "ct-new", "kind": "spreadsheet", "path": "new", "unit_era": "current"}])
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert s["households_accepted"] == 2 and s["rows_rejected"] == 1, s
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        placed = conn.execute(sa.text("SELECT commune_code, commune_code_pre2025 FROM mis.household ORDER BY 1")).all()
    engine.dispose()
    assert placed == [("31120", None), ("31168", None)]
    [r] = [r for r in json.loads(misgw("rejects", "list", "--json", env_url=mis_db).stdout)]
    assert r["rule"] == "unit.commune_current" and r["value"] == "31117" and "01/7/2025" in r["message_vi"]
    bad = write_config(tmp_path / "bad.yaml", [{"id": "x", "kind": "spreadsheet", "path": "new", "unit_era": "2024"}])
    assert "'unit_era' must be 'pre2025'" in misgw("sync", "--config", str(bad), env_url=mis_db).stderr


def test_an_old_schema_is_refused_with_the_command_that_fixes_it(tmp_path):
    from conftest import create_database, drop_database

    url = create_database()
    try:
        write_roster(tmp_path / "d" / "x.xlsx")
        cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d"}])
        out = misgw("sync", "--config", str(cfg), env_url=url)
        assert out.returncode == 2 and "run `misgw db upgrade`" in out.stderr and "Traceback" not in out.stderr
    finally:
        drop_database(url)


def test_the_loop_closes_fixed_workbook_back_into_the_source_folder(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "phong-dien.xlsx", rows=bad_rows())
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    [first] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert first["households_rejected"] == 2
    out = tmp_path / "returned" / "sua-loi.xlsx"
    assert misgw("rejects", "export", "--source", "pd", "--out", str(out), env_url=mis_db).returncode == 0

    # A commune officer fixes the highlighted cells in Excel and sends the workbook back.
    wb = load_workbook(out)
    ws = wb["Cần sửa"]
    headers = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        cells = dict(zip(headers, row))
        if cells["Ngày sinh"].value == "31/02/2005":
            cells["Ngày sinh"].value = "28/02/2005"
        if cells["Giới tính"].value == "Không rõ":
            cells["Giới tính"].value = "Nam"
    wb.save(tmp_path / "d" / "sua-loi.xlsx")

    [second] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert second["status"] == "success", second
    assert second["households_accepted"] == 2 and second["rows_rejected"] == 0, second
    assert second["reconcile"]["new"] == 2
    resolved = json.loads(misgw("rejects", "list", "--status", "resolved", "--json", env_url=mis_db).stdout)
    assert {r["rule"] for r in resolved} == {"format.birth_date", "codelist.sex"}
    assert json.loads(misgw("rejects", "list", "--json", env_url=mis_db).stdout) == []
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        members = dict(conn.execute(sa.text("SELECT full_name, coalesce(birth_date::text, birth_year::text) "
                                            "FROM mis.member")).all())
        communes = conn.execute(sa.text("SELECT DISTINCT commune_code_pre2025 FROM mis.household")).scalars().all()
    engine.dispose()
    assert len(members) == 5 and members["Nguyễn Văn Cường"] == "2005-02-28"
    assert communes == ["31300"]                     # the sheet-per-commune context survived the round trip


def test_a_fixup_workbook_without_its_hidden_sheet_is_an_ordinary_roster(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "x.xlsx", rows=bad_rows())
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    misgw("sync", "--config", str(cfg), env_url=mis_db)
    out = tmp_path / "returned.xlsx"
    misgw("rejects", "export", "--source", "pd", "--out", str(out), env_url=mis_db)
    wb = load_workbook(out)
    del wb["_misgw"]
    wb.save(tmp_path / "d" / "edited.xlsx")
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    # Read as a roster of its own: the same households twice, so they are turned back, never merged silently.
    assert s["status"] == "attention" and s["households_accepted"] == 0 and "none accepted" in s["attention"]


def test_waive_and_aging(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "x.xlsx", rows=bad_rows())
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    misgw("sync", "--config", str(cfg), env_url=mis_db)
    aging = json.loads(misgw("rejects", "aging", "--json", env_url=mis_db).stdout)
    assert aging == [{"district_code": "926", "source_id": "pd", "age": "0-7 ngày", "entries": 2}]
    [entry, _] = json.loads(misgw("rejects", "list", "--json", env_url=mis_db).stdout)
    assert misgw("rejects", "waive", str(entry["id"]), "--reason", " ", env_url=mis_db).returncode == 2
    done = misgw("rejects", "waive", str(entry["id"]), "--reason", "Hộ đã chuyển đi, xã xác nhận", env_url=mis_db)
    assert done.returncode == 0 and "waived" in done.stdout
    assert len(json.loads(misgw("rejects", "list", "--json", env_url=mis_db).stdout)) == 1
    assert [r["id"] for r in json.loads(misgw("rejects", "list", "--status", "waived", "--json",
                                                 env_url=mis_db).stdout)] == [entry["id"]]
    assert misgw("rejects", "waive", str(entry["id"]), "--reason", "again", env_url=mis_db).returncode == 2
    # Seen again in the next run (read in full), a waived entry stays waived.
    misgw("sync", "--config", str(cfg), "--full", env_url=mis_db)
    assert len(json.loads(misgw("rejects", "list", "--json", env_url=mis_db).stdout)) == 1


def test_poverty_movement_year_over_year(tmp_path, mis_db):
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])

    def roster(year, households):
        rows = []
        for i, (code, category, income) in enumerate(households):
            rows.append([code, f"Người Số {chr(65 + i)}", "Chủ hộ", "Nam", "1970", "Kinh", None, "Ấp 1",
                         category, year, income])
        write_roster(tmp_path / "d" / "x.xlsx", rows=rows, title=f"DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year}")
        [s] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
        assert s["rows_rejected"] == 0 and not s["files_stopped"], s
        return s

    poor, near, avg = ("Hộ nghèo", 1000000), ("Hộ cận nghèo", 1400000), ("Hộ có mức sống trung bình", 2000000)
    # The first year in the registry: nothing to compare with, so no household is "newly poor".
    [first] = roster(2023, [("D", *poor)])["poverty_movement"]
    assert (first["poor"], first["escaped"], first["newly_poor"], first["fell_back"]) == (1, None, None, None)
    assert "no 2022 assessment" in first["movement_note"]
    shown = misgw("poverty", "movement", "--year", "2023", "--by", "district", env_url=mis_db).stdout
    assert "poor/assessed %" in shown and "movement cannot be computed" in shown, shown
    roster(2024, [("A", *poor), ("B", *poor), ("C", *near), ("D", *avg)])
    s = roster(2025, [("A", *avg), ("B", *poor), ("C", *poor), ("D", *poor), ("E", *poor)])
    [fig] = s["poverty_movement"]
    assert fig["unit"] == "926" and fig["year"] == 2025
    assert (fig["assessed"], fig["poor"], fig["near_poor"]) == (5, 4, 0)
    assert (fig["escaped"], fig["newly_poor"], fig["fell_back"]) == (1, 2, 1)     # A; C and E; D (tái nghèo)
    assert fig["poor_rate"] == 80.0
    by_commune = json.loads(misgw("poverty", "movement", "--year", "2025", "--by", "commune", "--json",
                                  env_url=mis_db).stdout)
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        current = conn.execute(sa.text("SELECT DISTINCT commune_code FROM mis.household")).scalars().all()
    engine.dispose()
    assert [r["unit"] for r in by_commune] == current and by_commune[0]["fell_back"] == 1


def test_moved_and_conflicting_households(tmp_path, mis_db):
    # Phong Điền (926) loads households 31300-0001/0002 in Nhơn Ái.
    write_roster(tmp_path / "pd" / "x.xlsx")
    # Cờ Đỏ (925) later sends a roster using the same code 31300-0001: another household, another district.
    other = [list(r) for r in GOOD_ROWS[:3]]
    write_roster(tmp_path / "cd" / "x.xlsx", rows=other, sheet="Xã Trung An")
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "pd", "kind": "spreadsheet", "path": "pd", "district_code": "926"},
        {"id": "cd", "kind": "spreadsheet", "path": "cd", "district_code": "925"}])
    misgw("sync", "--config", str(cfg), "--source", "pd", env_url=mis_db, check=True)
    before = dump_checksum(mis_db)
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--source", "cd", "--json", env_url=mis_db).stdout)
    assert s["reconcile"]["conflict"] == 1 and s["households_accepted"] == 0 and s["households_rejected"] == 1
    assert dump_checksum(mis_db) == before                      # never merged into the other district's household
    [r] = json.loads(misgw("rejects", "list", "--source", "cd", "--json", env_url=mis_db).stdout)
    assert r["rule"] == "reconcile.code_other_district" and "pd / 926 / 31300" in r["message_vi"]
    assert load_workbook(s["fixup_workbooks"]["925"])["Cần sửa"].max_row == 4        # the household, in the workbook

    # The same district moves household 0002 to Nhơn Nghĩa: moved, not just changed.
    rows = [list(r) for r in GOOD_ROWS]
    write_roster(tmp_path / "pd" / "x.xlsx", rows=rows[:3])
    write_roster(tmp_path / "pd" / "y.xlsx", rows=rows[3:], sheet="Xã Nhơn Nghĩa")
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--source", "pd", "--json", env_url=mis_db).stdout)
    assert s["reconcile"]["moved"] == 1 and s["reconcile"]["unchanged"] == 1


def test_member_outcomes_with_known_truth(tmp_path, mis_db):
    """Six outcomes, one person each, including people without an ID and a typo in a name."""
    def person(hh, name, rel, sex, birth, cccd, eth="Kinh"):
        return [hh, name, rel, sex, birth, eth, cccd, "Ấp 1", "Hộ nghèo", 2025, 1200000]

    a = person("H1", "Nguyễn Văn An", "Chủ hộ", "Nam", "12/03/1975", "092075012345")
    b = person("H1", "Trần Thị Bình", "Vợ", "Nữ", "1978", None)
    c = person("H1", "Nguyễn Văn Cường", "Con", "Nam", "2005", None)
    d = person("H2", "Lê Văn Dũng", "Chủ hộ", "Nam", "01/01/1960", "092060000111")
    f = person("H2", "Lê Thị Phương", "Con", "Nữ", "01/01/1990", "092190000222")
    g = person("H9", "Võ Văn Giàu", "Chủ hộ", "Nam", "01/01/1955", "092055000333")
    write_roster(tmp_path / "pd" / "x.xlsx", rows=[a, b, c, d, f])
    write_roster(tmp_path / "cd" / "x.xlsx", rows=[g], sheet="Xã Trung An")
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "pd", "kind": "spreadsheet", "path": "pd", "district_code": "926"},
        {"id": "cd", "kind": "spreadsheet", "path": "cd", "district_code": "925"}])
    misgw("sync", "--config", str(cfg), env_url=mis_db, check=True)

    b_typo = person("H1", "Trần Thi Bìnnh", "Vợ", "Nữ", "1978", None)          # changed (typo, no ID)
    e_new = person("H1", "Nguyễn Thị Em", "Con", "Nữ", "2010", None)            # new
    f_moved = person("H1", "Lê Thị Phương", "Con dâu", "Nữ", "01/01/1990", "092190000222")   # moved H2 -> H1
    d_changed = person("H2", "Lê Văn Dũng", "Chủ hộ", "Nam", "01/01/1960", "092060000111", eth="Hoa")
    g_other = person("H3", "Võ Văn Giàu", "Chủ hộ", "Nam", "01/01/1955", "092055000333")   # another district's person
    write_roster(tmp_path / "pd" / "x.xlsx", rows=[a, b_typo, e_new, f_moved, d_changed, g_other])   # c missing
    [s] = json.loads(misgw("sync", "--config", str(cfg), "--source", "pd", "--json", env_url=mis_db).stdout)
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        members = conn.execute(sa.text("SELECT reconcile->'members' FROM mis.sync_run WHERE run_id = :r"),
                               {"r": s["run_id"]}).scalar()
        names = conn.execute(sa.text("SELECT full_name FROM mis.member m JOIN mis.household h USING (household_id) "
                                     "WHERE h.local_code = 'H1' AND m.listed ORDER BY 1")).scalars().all()
    engine.dispose()
    assert members == {"unchanged": 1, "changed": 2, "new": 1, "moved": 1, "missing": 1, "conflict": 1}
    assert s["reconcile"]["conflict"] == 1                  # H3 is held for a person to decide
    # The typo updated Bình (not a second Bình), Cường stays in the MIS though missing from the roster.
    assert names == ["Lê Thị Phương", "Nguyễn Thị Em", "Nguyễn Văn An", "Trần Thi Bìnnh"]


def test_staging_copies_a_frame_larger_than_one_slice_whole(fresh_db):
    """write_frame copies in slices of CSV_SLICE rows: every row arrives once, quotes, commas, newlines
    and a NUL from a legacy export included."""
    import pandas as pd

    from mis import db, staging

    n = 2 * staging.CSV_SLICE + 7
    frame = pd.DataFrame({"household_code": [f"H{i:06d}" for i in range(n)],
                          "full_name": ['Lê "Văn", An\nHai' if i % 997 == 0 else f"Người {i}" for i in range(n)],
                          "note": [None if i % 3 else "a\x00b" for i in range(n)]})
    engine = db.get_engine(fresh_db)
    with engine.begin() as conn:
        staging.write_frame(conn, "slices", "members", frame)
        back = staging.read_frame(conn, "slices", "members")
    assert len(back) == n and back["household_code"].is_unique
    back = back.sort_values("household_code").reset_index(drop=True)
    assert back["full_name"].tolist() == frame["full_name"].tolist()
    assert back["note"].fillna("").tolist() == frame["note"].fillna("").str.replace("\x00", "").tolist()
