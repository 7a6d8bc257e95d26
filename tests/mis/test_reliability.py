"""Reliability on real PostgreSQL: reruns change nothing, concurrent runs are safe, and no ID number or
database password ever reaches what a person reads (CLI output, logs, DAG task logs)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import airflow_support as af
import pytest
import sqlalchemy as sa
from conftest import create_database, drop_database
from openpyxl import load_workbook
from rosters import GOOD_ROWS, write_config, write_roster
from test_dags import airflow_home  # noqa: F401  (a fixture)
from test_pipeline import (  # noqa: F401
    bad_rows,
    copy_unit_tables,
    dump_checksum,
    mis_db,
    misgw,
    natural_state,  # mis_db is a fixture
)

from expectations.validate import mask_id

PD = {"id": "pd", "kind": "spreadsheet", "path": "pd", "district_code": "926"}
CD = {"id": "cd", "kind": "spreadsheet", "path": "cd", "district_code": "925"}


def person(hh, name, rel, sex, birth, cccd, category="Hộ nghèo", address="Ấp 1", income=1200000):
    return [hh, name, rel, sex, birth, "Kinh", cccd, address, category, 2025, income]


# Cờ Đỏ (925): Xã Trung An is 31222 (pre-2025); its roster names the commune by its sheet.
CD_ROWS = [
    person("31222-0001", "Mai Văn Lộc", "Chủ hộ", "Nam", "07/07/1970", "092070077777"),
    person("31222-0001", "Mai Thị Hồng", "Vợ", "Nữ", "09/09/1972", "092172099999"),
    person("31222-0002", "Đinh Thị Hạnh", "Chủ hộ", "Nữ", "08/08/1968", "092168088888", "Hộ cận nghèo"),
]


# ------------------------------------------------------------------ helpers

def _scalar(url: str, sql: str, **params):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text(sql), params).scalar()
    engine.dispose()
    return value


def _rows(url: str, sql: str, **params) -> list[dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]
    engine.dispose()
    return rows


@pytest.fixture
def reference_db(units_db):
    """A second fresh MIS with the GSO unit tables, as mis_db makes one; dropped afterwards."""
    from mis import db

    url = create_database()
    db.upgrade(db.get_engine(url))
    copy_unit_tables(units_db, url)
    yield url
    drop_database(url)


@pytest.fixture
def spawn():
    """Start `misgw` processes; any still running when the test ends (a failed test) is killed, by its own id."""
    started: list[subprocess.Popen] = []

    def popen(*args: str, env_url: str) -> subprocess.Popen:
        env = dict(os.environ, MISGW_DATABASE_URL=env_url)
        started.append(subprocess.Popen([sys.executable, "-m", "misgw.cli", *args], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        return started[-1]

    yield popen
    for p in started:
        if p.poll() is None:
            p.kill()
            p.communicate()


class _Blocker:
    """Holds mis.poverty_assessment in EXCLUSIVE mode: a load blocks at its assessments, inside its transaction."""

    def __init__(self, url: str):
        self.engine = sa.create_engine(url)
        self.conn = self.engine.connect()
        self.conn.exec_driver_sql("BEGIN")
        self.conn.exec_driver_sql("LOCK TABLE mis.poverty_assessment IN EXCLUSIVE MODE")
        self.held = True

    def release(self):
        if self.held:
            self.conn.exec_driver_sql("ROLLBACK")
            self.conn.close()
            self.engine.dispose()
            self.held = False


def _wait_for_blocked_loads(url: str, n: int, procs: list[subprocess.Popen], timeout: float = 120) -> None:
    """Until n backends of this database wait on a lock at the assessments (the loads are blocked)."""
    engine = sa.create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for p in procs:
                assert p.poll() is None, f"a sync ended before reaching its load: {p.communicate()}"
            with engine.connect() as conn:
                waiting = conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE '%poverty_assessment%' "
                    "AND pid <> pg_backend_pid()")).scalar()
            if waiting >= n:
                return
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError(f"fewer than {n} load(s) reached the assessments within {timeout} s")


def _advisory_leases(url: str) -> int:
    """Source leases (source_lease's advisory lock on hashtext('misgw.run'), any source) granted in this database."""
    return _scalar(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted "
                        "AND classid::bigint = (hashtext('misgw.run')::bigint & 4294967295) "
                        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


# ------------------------------------------------------------------ 1. idempotency

def test_three_full_reruns_change_nothing_and_keep_one_ledger_entry_per_problem(tmp_path, mis_db):  # noqa: F811
    # Two good households (0001, 0002) and, from bad_rows(), the same two problems in households 0003 and 0004.
    bad = [list(r) for r in bad_rows()]
    for r in bad:
        r[0] = {"31300-0001": "31300-0003", "31300-0002": "31300-0004"}[r[0]]
        r[1] = r[1] + " Hai"                 # other people, so no ID or name is shared with 0001/0002
        r[6] = None
    write_roster(tmp_path / "pd" / "x.xlsx", rows=[*GOOD_ROWS, *bad])
    cfg = write_config(tmp_path / "misgw.yaml", [PD])

    runs, sums = [], []
    for i in range(3):
        out = misgw("sync", "--config", str(cfg), "--full", "--json", env_url=mis_db)
        assert out.returncode == 0, out.stderr
        [s] = json.loads(out.stdout)
        assert s["status"] == "success" and not s["unchanged_at_source"] and s["rows_read"] == 10, s
        assert (s["households_accepted"], s["households_rejected"], s["rows_rejected"]) == (2, 2, 2), s
        runs.append(s)
        sums.append(dump_checksum(mis_db))
        entries = _rows(mis_db, "SELECT * FROM mis.reject_entry ORDER BY entry_id")
        if i == 0:
            first_entries = entries
            assert runs[0]["reconcile"]["new"] == 2
            assert {(e["household_code"], e["rule"]) for e in entries} == {
                ("31300-0003", "format.birth_date"), ("31300-0004", "codelist.sex")}
        else:
            assert s["reconcile"] == {"new": 0, "changed": 0, "unchanged": 2, "moved": 0, "missing": 0, "conflict": 0}
        assert sums[i] == sums[0], f"run {i + 1} changed the MIS"
        assert len(entries) == len(first_entries) == 2
        assert [e["entry_id"] for e in entries] == [e["entry_id"] for e in first_entries]
        assert all(e["seen_count"] == i + 1 and e["status"] == "open" for e in entries), entries

    assert all(e["first_run_id"] == runs[0]["run_id"] and e["last_run_id"] == runs[2]["run_id"] for e in entries)
    listed = json.loads(misgw("rejects", "list", "--source", "pd", "--json", env_url=mis_db).stdout)
    assert sorted(r["id"] for r in listed) == [e["entry_id"] for e in entries]       # one line per problem
    assert _scalar(mis_db, "SELECT count(*) FROM mis.reject") == 6                  # each run saw both
    assert _rows(mis_db, "SELECT household_code, count(*) FROM mis.household GROUP BY 1 HAVING count(*) > 1") == []
    assert _scalar(mis_db, "SELECT count(*) FROM mis.household") == 2
    assert _scalar(mis_db, "SELECT count(*) FROM mis.member") == 5
    assert _scalar(mis_db, "SELECT count(*) FROM mis.poverty_assessment") == 2


# ------------------------------------------------------------------ 2. concurrency

@pytest.mark.slow
def test_a_second_run_of_a_busy_source_is_refused_and_the_first_loads_as_if_alone(tmp_path, mis_db,  # noqa: F811
                                                                                   reference_db, spawn):
    write_roster(tmp_path / "pd" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [PD])
    assert _advisory_leases(mis_db) == 0

    blocker = _Blocker(mis_db)
    try:
        first = spawn("sync", "--config", str(cfg), "--json", env_url=mis_db)
        _wait_for_blocked_loads(mis_db, 1, [first])
        assert _advisory_leases(mis_db) == 1                     # the first run holds the source's lease
        [running] = _rows(mis_db, "SELECT run_id, stage FROM mis.sync_run WHERE status = 'running'")
        assert running["stage"] == "load"

        started = time.monotonic()
        second = spawn("sync", "--config", str(cfg), "--json", env_url=mis_db)
        out2, err2 = second.communicate(timeout=90)
        seconds = time.monotonic() - started
        assert first.poll() is None, "the first run ended: the two runs did not overlap"
    finally:
        blocker.release()
    out1, err1 = first.communicate(timeout=180)

    # The second: refused at once, one sentence naming the run that holds the source, nothing else.
    assert second.returncode == 1, (out2, err2)
    assert "Traceback" not in err2 and err2.strip() == "", err2
    [s2] = json.loads(out2)
    assert s2["source_id"] == "pd" and s2["status"] == "failed", s2
    assert "is being synced by another run" in s2["error"] and f"(run {running['run_id']}," in s2["error"]
    assert "\n" not in s2["error"] and s2["rows_read"] == 0 and s2["run_id"] != running["run_id"]
    assert seconds < 60, f"the refused run took {seconds:.0f} s"

    # The first: waited for the table, never for the second, and loaded everything.
    assert first.returncode == 0, err1
    assert "Traceback" not in err1
    [s1] = json.loads(out1)
    assert s1["run_id"] == running["run_id"] and s1["status"] == "success", s1
    assert s1["households_accepted"] == 2 and s1["reconcile"]["new"] == 2
    assert _advisory_leases(mis_db) == 0                         # the lease is let go of
    assert _rows(mis_db, "SELECT status, count(*) AS n FROM mis.sync_run GROUP BY 1 ORDER BY 1") == [
        {"status": "failed", "n": 1}, {"status": "success", "n": 1}]

    # The MIS holds what one run alone loads into another fresh MIS.
    alone = misgw("sync", "--config", str(cfg), "--json", env_url=reference_db)
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout)[0]["households_accepted"] == 2
    assert natural_state(mis_db) == natural_state(reference_db)
    assert _scalar(mis_db, "SELECT count(*) FROM mis.member") == 5

    # And a run afterwards is an ordinary rerun: nothing changes.
    before = dump_checksum(mis_db)
    [s3] = json.loads(misgw("sync", "--config", str(cfg), "--full", "--json", env_url=mis_db).stdout)
    assert s3["status"] == "success" and s3["reconcile"]["unchanged"] == 2
    assert dump_checksum(mis_db) == before


@pytest.mark.slow
def test_two_sources_sync_at_the_same_time_and_both_load(tmp_path, mis_db, spawn):  # noqa: F811
    write_roster(tmp_path / "pd" / "x.xlsx")
    write_roster(tmp_path / "cd" / "x.xlsx", rows=CD_ROWS, sheet="Xã Trung An")
    cfg = write_config(tmp_path / "misgw.yaml", [PD, CD])

    # Both loads are made to wait at the assessments at the same moment: they overlap for certain.
    blocker = _Blocker(mis_db)
    try:
        procs = [spawn("sync", "--config", str(cfg), "--source", sid, "--json", env_url=mis_db)
                 for sid in ("pd", "cd")]
        _wait_for_blocked_loads(mis_db, 2, procs)
        assert _advisory_leases(mis_db) == 2                     # one lease per source, both held at once
    finally:
        blocker.release()
    results = {}
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0 and "Traceback" not in err, err
        [s] = json.loads(out)
        results[s["source_id"]] = s
    assert results["pd"]["status"] == results["cd"]["status"] == "success", results
    assert results["pd"]["households_accepted"] == 2 and results["cd"]["households_accepted"] == 2
    placed = _rows(mis_db, "SELECT household_code, source_id, district_code_pre2025 AS district, member_count "
                           "FROM mis.household ORDER BY 1")
    assert placed == [
        {"household_code": "31222-0001", "source_id": "cd", "district": "925", "member_count": 2},
        {"household_code": "31222-0002", "source_id": "cd", "district": "925", "member_count": 1},
        {"household_code": "31300-0001", "source_id": "pd", "district": "926", "member_count": 3},
        {"household_code": "31300-0002", "source_id": "pd", "district": "926", "member_count": 2}]
    assert _scalar(mis_db, "SELECT count(*) FROM mis.member") == 8
    assert _scalar(mis_db, "SELECT count(*) FROM mis.poverty_assessment") == 4


# ------------------------------------------------------------------ 3. privacy

# Phong Điền (926) beyond GOOD_ROWS: legacy 9-digit CMNDs, an ID twice in the batch, CCCDs whose digits
# disagree with the person's sex or birth year, and an ID whose lost leading zero cannot be proved.
PD_EXTRA = [
    person("31300-0003", "Huỳnh Văn Tư", "Chủ hộ", "Nam", "05/06/1955", "361234567"),
    person("31300-0003", "Huỳnh Thị Năm", "Vợ", "Nữ", "1958", 362345678),
    person("31300-0004", "Phan Thị Sáu", "Chủ hộ", "Nữ", "02/02/1985", "092185033333"),
    person("31300-0004", "Phan Văn Bảy", "Chồng", "Nam", "03/03/1985", "092185033333"),
    person("31300-0005", "Tô Văn Tám", "Chủ hộ", "Nam", "04/04/1960", "092160044444"),
    person("31300-0005", "Tô Văn Chín", "Con", "Nam", "05/05/1990", "092099055555"),
    person("31300-0006", "Lý Văn Mười", "Chủ hộ", "Nam", "06/06/1980", 92090066666),
]
# Cờ Đỏ (925): a CMND, and Phong Điền's Nguyễn Văn An listed here too under his CCCD.
CD_PRIVACY = [
    *CD_ROWS,
    person("31222-0002", "Đinh Văn Phú", "Con", "Nam", "1992", "371234568", "Hộ cận nghèo"),
    person("31222-0003", "Nguyễn Văn An", "Chủ hộ", "Nam", "12/03/1975", "092075012345"),
]
PASSWORD = "S3cretPw-xyz"


def _id_strings(rows: list[list]) -> set[str]:
    """Every ID number of the input as it was typed, and as the 12 digits it stands for."""
    out = set()
    for r in rows:
        if r[6] is None:
            continue
        s = str(r[6])
        out.add(s)
        if isinstance(r[6], int) and len(s) == 11:
            out.add("0" + s)
    return out


def _leaks(outputs: dict[str, str], secrets: set[str]) -> dict[str, list[str]]:
    found = {}
    for label, text in outputs.items():
        hit = sorted(s for s in secrets if s in text)
        if hit:
            found[label] = hit
    return found


def _run(outputs: dict, label: str, *args, env_url: str) -> subprocess.CompletedProcess:
    res = misgw(*args, env_url=env_url)
    outputs[label] = res.stdout + "\n" + res.stderr
    assert "Traceback" not in res.stderr, (label, res.stderr[-3000:])
    return res


def _password_url(url: str, port: int | None = None) -> str:
    u = sa.make_url(url).set(password=PASSWORD)
    if port is not None:
        u = u.set(port=port)
    return u.render_as_string(hide_password=False)


@pytest.mark.slow
def test_no_id_number_or_password_reaches_any_cli_output(tmp_path, mis_db):  # noqa: F811
    pd_rows, cd_rows = [*GOOD_ROWS, *PD_EXTRA], CD_PRIVACY
    write_roster(tmp_path / "pd" / "x.xlsx", rows=pd_rows)
    write_roster(tmp_path / "cd" / "x.xlsx", rows=cd_rows, sheet="Xã Trung An")
    cfg = write_config(tmp_path / "misgw.yaml", [PD, CD])
    ids = _id_strings(pd_rows + cd_rows)
    assert len(ids) >= 16 and "361234567" in ids and "092150011111" in ids and "92090066666" in ids
    url = _password_url(mis_db)               # trust auth: the password is ignored, but it is in the URL
    c = ["--config", str(cfg)]
    outputs: dict[str, str] = {}

    _run(outputs, "sync --dry-run", "sync", *c, "--dry-run", env_url=url)
    _run(outputs, "sync --dry-run --json", "sync", *c, "--dry-run", "--json", env_url=url)
    first = _run(outputs, "sync", "sync", *c, env_url=url)
    assert first.returncode == 0, first.stderr
    assert "map/validate" in first.stderr                     # the progress log is part of what is checked
    full = _run(outputs, "sync --full --json", "sync", *c, "--full", "--json", env_url=url)
    summaries = json.loads(full.stdout)
    assert {s["source_id"]: s["status"] for s in summaries} == {"pd": "success", "cd": "success"}
    _run(outputs, "sync --json", "sync", *c, "--json", env_url=url)

    listed = _run(outputs, "rejects list", "rejects", "list", env_url=url)
    _run(outputs, "rejects list --status all", "rejects", "list", "--status", "all", env_url=url)
    rejects = json.loads(_run(outputs, "rejects list --json", "rejects", "list", "--json", env_url=url).stdout)
    _run(outputs, "rejects list --status all --json", "rejects", "list", "--status", "all", "--json", env_url=url)
    _run(outputs, "rejects aging", "rejects", "aging", env_url=url)
    _run(outputs, "rejects aging --json", "rejects", "aging", "--json", env_url=url)
    for sid in ("pd", "cd"):
        exported = _run(outputs, f"rejects export {sid}", "rejects", "export", "--source", sid,
                        "--out", str(tmp_path / f"export-{sid}.xlsx"), env_url=url)
        assert exported.returncode == 0, exported.stderr
    _run(outputs, "runs list", "runs", "list", env_url=url)
    _run(outputs, "runs list --json", "runs", "list", "--json", env_url=url)
    run_ids = [r["run_id"] for r in _rows(mis_db, "SELECT run_id FROM mis.sync_run ORDER BY started_at")]
    _run(outputs, "runs show", "runs", "show", run_ids[0], env_url=url)
    for r in run_ids:                      # every run: dry, first load (every person new), full rerun, rerun
        _run(outputs, f"runs show {r} --changes", "runs", "show", r, "--changes", env_url=url)
        _run(outputs, f"runs show {r} --changes --json", "runs", "show", r, "--changes", "--json", env_url=url)
    for code in ("31300-0001", "31300-0003", "31222-0001", "31222-0003"):
        _run(outputs, f"history {code}", "history", code, env_url=url)
        _run(outputs, f"history {code} --json", "history", code, "--json", env_url=url)
    _run(outputs, "province report", "province", "report", *c, env_url=url)
    report = json.loads(_run(outputs, "province report --json", "province", "report", *c, "--json",
                             env_url=url).stdout)
    _run(outputs, "poverty movement", "poverty", "movement", "--year", "2025", "--by", "district", env_url=url)
    _run(outputs, "mapping suggest", "mapping", "suggest", str(tmp_path / "pd" / "x.xlsx"), env_url=url)

    # The test sees the ID rules it means to: each problem is there, its value masked.
    rules = {(r["source_id"], r["household_code"], r["rule"]) for r in rejects}
    for expected in [("pd", "31300-0003", "id.legacy_cmnd"), ("pd", "31300-0004", "id.duplicate_in_batch"),
                     ("pd", "31300-0005", "cccd.sex_century"), ("pd", "31300-0005", "cccd.birth_year"),
                     ("pd", "31300-0006", "id.unprovable"), ("cd", "31222-0002", "id.legacy_cmnd")]:
        assert expected in rules, (expected, sorted(rules))
    assert any(r["source_id"] == "cd" and r["household_code"] == "31222-0003" and r["rule"].startswith(("id.", "reconcile."))
               for r in rejects), sorted(rules)

    leaks = _leaks(outputs, ids)
    assert not leaks, json.dumps({k: [v, outputs[k][:2000]] for k, v in leaks.items()}, ensure_ascii=False, indent=1)
    # Masked, the IDs are still there to find the card by.
    assert mask_id("092160044444") in listed.stdout and mask_id("361234567") in listed.stdout
    assert "31300-0005" in outputs["rejects list --json"] and report["province_code"] == "92"
    assert not _leaks(outputs, {PASSWORD}), _leaks(outputs, {PASSWORD})
    # Nor in what the ledger keeps about the runs.
    assert _scalar(mis_db, "SELECT count(*) FROM mis.sync_run x WHERE x::text LIKE :p", p=f"%{PASSWORD}%") == 0

    # A database that does not answer: one sentence naming the server, never its password.
    down = _password_url(mis_db, port=1)
    for args in (["sync", *c], ["sync", *c, "--json"], ["rejects", "list"], ["runs", "list"],
                 ["province", "report", *c], ["db", "upgrade"]):
        res = misgw(*args, env_url=down)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert PASSWORD not in res.stdout + res.stderr, (args, res.stderr)
        assert "Traceback" not in res.stderr and res.stdout == ""
        [line] = res.stderr.strip().splitlines()
        assert "does not answer" in line and "127.0.0.1:1" in line, line
    # A URL that is not one (a typo in the port): one sentence saying so, never its password.
    malformed = f"postgresql://postgres:{PASSWORD}@127.0.0.1:54x2/misgw"
    res = misgw("runs", "list", env_url=malformed)
    assert res.returncode == 2 and PASSWORD not in res.stdout + res.stderr and "Traceback" not in res.stderr
    [line] = res.stderr.strip().splitlines()
    assert "is not a database URL" in line and "127.0.0.1:54x2" in line, line


@pytest.mark.slow
def test_no_id_number_in_the_pipeline_log_in_process(tmp_path, mis_db, caplog, monkeypatch):  # noqa: F811
    import logging

    from misgw import pipeline

    write_roster(tmp_path / "pd" / "x.xlsx", rows=[*GOOD_ROWS, *PD_EXTRA])
    write_roster(tmp_path / "cd" / "x.xlsx", rows=CD_PRIVACY, sheet="Xã Trung An")
    cfg = write_config(tmp_path / "misgw.yaml", [PD, CD])
    monkeypatch.setenv("MISGW_DATABASE_URL", _password_url(mis_db))
    caplog.set_level(logging.DEBUG)
    summaries = pipeline.run_sync(str(cfg))
    summaries += pipeline.run_sync(str(cfg), full=True)
    assert [s["status"] for s in summaries] == ["success"] * 4
    text = "\n".join([caplog.text, *(r.getMessage() + (r.exc_text or "") for r in caplog.records),
                      json.dumps(summaries, ensure_ascii=False, default=str)])
    assert "[pd] map/validate" in text and "[cd] load" in text
    ids = _id_strings([*GOOD_ROWS, *PD_EXTRA, *CD_PRIVACY])
    assert not _leaks({"log": text}, ids | {PASSWORD}), _leaks({"log": text}, ids | {PASSWORD})


@pytest.mark.slow
def test_no_id_number_in_a_dag_run_s_task_logs(tmp_path, airflow_home, mis_db):  # noqa: F811
    from test_dags import PHONG_DIEN
    from test_dags import write_config as dag_config

    rows = [*GOOD_ROWS, *PD_EXTRA]
    write_roster(tmp_path / "phong-dien" / "x.xlsx", rows=rows)
    config = dag_config(tmp_path, [PHONG_DIEN])
    result = af.run(airflow_home, "test", str(af.DAGS), "misgw_cantho_phong_dien", MISGW_CONFIG=str(config),
                    MISGW_DATABASE_URL=_password_url(mis_db))
    assert result["state"] == "success", result["tasks"]
    logs = {"dag.test output": result["output"], "note": result["note"] or ""}
    for path in Path(airflow_home, "logs").rglob("*"):
        if path.is_file():
            logs[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    everything = "\n".join(logs.values())
    assert "map/validate" in everything and "rows rejected" in everything   # the task logs are there to read
    leaks = _leaks(logs, _id_strings(rows) | {PASSWORD})
    assert not leaks, leaks


# ------------------------------------------------------------------ fix-up workbooks never mix districts

def _workbook_codes(path) -> set[str]:
    ws = load_workbook(path)["Cần sửa"]
    headers = [c.value for c in ws[1]]
    col = headers.index("Mã hộ")
    return {row[col] for row in ws.iter_rows(min_row=2, values_only=True) if row[col]}


def test_each_district_s_fixup_workbook_holds_only_its_own_households(tmp_path, mis_db):  # noqa: F811
    # One source, no district of its own, two districts' rosters: one run, two workbooks.
    pd_rows = bad_rows()                                   # 31300-0001 and -0002 held back (Phong Điền)
    cd_rows = [list(r) for r in CD_ROWS]
    cd_rows[0][4] = "30/02/1970"                           # 31222-0001 held back (Cờ Đỏ)
    cd_rows[2][3] = "Không rõ"                             # 31222-0002 too
    write_roster(tmp_path / "ct" / "phong-dien.xlsx", rows=pd_rows)
    write_roster(tmp_path / "ct" / "co-do.xlsx", rows=cd_rows, sheet="Xã Trung An")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "ct", "kind": "spreadsheet", "path": "ct"}])
    out = misgw("sync", "--config", str(cfg), "--json", env_url=mis_db)
    [s] = json.loads(out.stdout)
    assert s["status"] == "attention" and s["households_rejected"] == 4 and s["households_accepted"] == 0, s
    assert sorted(s["fixup_workbooks"]) == ["925", "926"], s["fixup_workbooks"]
    own = {"926": {"31300-0001", "31300-0002"}, "925": {"31222-0001", "31222-0002"}}
    for district, path in s["fixup_workbooks"].items():
        assert _workbook_codes(path) == own[district], (district, path)
        exported = tmp_path / f"export-{district}.xlsx"
        res = misgw("rejects", "export", "--source", "ct", "--district", district, "--out", str(exported),
                    env_url=mis_db)
        assert res.returncode == 0, res.stderr
        assert _workbook_codes(exported) == own[district]
    mixed = misgw("rejects", "export", "--source", "ct", "--out", str(tmp_path / "both.xlsx"), env_url=mis_db)
    assert mixed.returncode == 2 and "never mixes districts" in mixed.stderr and "Traceback" not in mixed.stderr
