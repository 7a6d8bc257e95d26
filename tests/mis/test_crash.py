"""A sync killed with SIGKILL in the middle of its load leaves the MIS exactly as it was; the next run completes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from conftest import SUPPORT
from rosters import GOOD_ROWS, write_config, write_roster
from test_pipeline import dump_checksum, mis_db, misgw, natural_state  # noqa: F401  (mis_db is a fixture)

KILL_AT_SCRIPT = str(SUPPORT / "kill_at.py")   # run as a script: the misgw CLI that kills itself mid-load


@pytest.mark.slow
def test_kill_during_load_changes_nothing_and_the_next_run_completes(tmp_path, mis_db):  # noqa: F811
    write_roster(tmp_path / "d" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    misgw("sync", "--config", str(cfg), env_url=mis_db, check=True)
    rows = [list(r) for r in GOOD_ROWS]
    for r in rows:
        r[8] = "Hộ cận nghèo" if r[8] == "Hộ nghèo" else "Hộ nghèo"     # every household changes category
        r[7] = r[7] + " mới"                                            # and address
    write_roster(tmp_path / "d" / "x.xlsx", rows=rows)
    before = dump_checksum(mis_db)

    # Hold the assessments table so the load blocks half-way: households and members already
    # written inside its transaction, assessments not yet. Then kill the process for real.
    blocker = sa.create_engine(mis_db).connect()
    blocker.exec_driver_sql("BEGIN")
    blocker.exec_driver_sql("LOCK TABLE mis.poverty_assessment IN EXCLUSIVE MODE")
    env = dict(os.environ, MISGW_DATABASE_URL=mis_db)
    proc = subprocess.Popen([sys.executable, "-m", "misgw.cli", "sync", "--config", str(cfg)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watcher = sa.create_engine(mis_db)
    try:
        deadline = time.monotonic() + 120
        waiting = False
        while time.monotonic() < deadline and not waiting:
            with watcher.connect() as conn:
                waiting = bool(conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE '%poverty_assessment%' AND pid <> pg_backend_pid()")).scalar())
                wrote = conn.execute(sa.text("SELECT stage FROM mis.sync_run ORDER BY started_at DESC LIMIT 1")).scalar()
            time.sleep(0.2)
        assert waiting and wrote == "load", "the load never reached the assessments"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        blocker.exec_driver_sql("ROLLBACK")
        blocker.close()
    watcher.dispose()
    _wait_for_rollback(mis_db)
    assert proc.returncode == -signal.SIGKILL
    assert dump_checksum(mis_db) == before

    [again] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert again["status"] == "success" and again["reconcile"]["changed"] == 2
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        cats = sorted(conn.execute(sa.text("SELECT poverty_category FROM mis.poverty_assessment")).scalars())
    engine.dispose()
    assert cats == ["near_poor", "poor"] and dump_checksum(mis_db) != before


# ---------------------------------------------------------------- ten kills at random points of the load
def _district(changed: bool) -> list[list]:
    """Twelve households; the second roster changes, drops, adds and corrects some of them."""
    names = ["Bảy", "Tám", "Chín", "Mười", "Hai", "Ba", "Tư", "Năm", "Sáu", "Út"]
    rows = [list(r) for r in GOOD_ROWS]
    for i, name in enumerate(names, start=3):
        code = f"31300-{i:04d}"
        rows.append([code, f"Phạm Văn {name}", "Chủ hộ", "Nam", f"{1950 + i}", "Kinh", None, "Ấp Nhơn Lộc",
                     "Hộ nghèo", 2025, 1_100_000 + i])
        rows.append([code, f"Võ Thị {name}", "Vợ", "Nữ", f"{1952 + i}", "Kinh", None, "Ấp Nhơn Lộc",
                     "Hộ nghèo", 2025, 1_100_000 + i])
    if changed:
        for r in rows:
            if r[0] == "31300-0001":
                r[8], r[7] = "Hộ cận nghèo", "Ấp Nhơn Lộc 2"            # category and address change
            if r[0] == "31300-0004" and r[2] == "Vợ":
                r[1] = "Võ Thị Mườii"                                    # a typo in a name
        rows = [r for r in rows if r[0] != "31300-0005"]                 # a household missing
        rows.append(["31300-0004", "Phạm Thị Nhỏ", "Con", "Nữ", "2010", "Kinh", None, "Ấp Nhơn Lộc", "Hộ nghèo",
                     2025, 1_100_004])                                   # a member added
        rows.append(["31300-0013", "Đỗ Văn Mới", "Chủ hộ", "Nam", "1980", "Kinh", None, "Ấp Nhơn Thọ",
                     "Hộ cận nghèo", 2025, 1_400_000])                   # a new household
    return rows


def _wait_for_rollback(url: str) -> None:
    """The orphaned backend of a killed sync finds its client gone and rolls back; wait until it has."""
    watcher = sa.create_engine(url)
    for _ in range(150):
        with watcher.connect() as conn:
            busy = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND pid <> pg_backend_pid() AND state <> 'idle'")).scalar()
        if not busy:
            break
        time.sleep(0.2)
    watcher.dispose()


@pytest.mark.slow
def test_ten_kills_at_random_points_of_the_load_leave_the_mis_as_it_was(tmp_path, mis_db):  # noqa: F811
    import random

    from conftest import drop_database

    from mis import db

    write_roster(tmp_path / "d" / "x.xlsx", rows=_district(changed=False))
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    [first] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db, check=True).stdout)
    assert first["status"] == "success" and first["households_accepted"] == 12
    write_roster(tmp_path / "d" / "x.xlsx", rows=_district(changed=True))

    # The uninterrupted reference: a copy of the MIS as it is now, synced once without a kill.
    for engine in db._engines.values():
        engine.dispose()
    server = sa.make_url(mis_db)
    reference = server.set(database=server.database + "_ref").render_as_string(hide_password=False)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{server.database}_ref" TEMPLATE "{server.database}"'))
    admin.dispose()
    try:
        count_file = tmp_path / "statements"
        env = dict(os.environ, MISGW_DATABASE_URL=reference, MISGW_KILL_AT="0", MISGW_KILL_COUNT_FILE=str(count_file))
        hooked = [sys.executable, KILL_AT_SCRIPT, "sync", "--config", str(cfg),
                  "--json"]
        ref = subprocess.run(hooked, env=env, capture_output=True, text=True, timeout=300)
        [ref_run] = json.loads(ref.stdout)
        assert ref_run["status"] == "success", ref.stderr[-2000:]
        assert ref_run["reconcile"]["new"] >= 1 and ref_run["reconcile"]["changed"] >= 1
        statements = int(count_file.read_text())
        assert statements >= 10, statements      # the load is many statements: the kills land all over it
        expected = natural_state(reference, first["run_id"])
    finally:
        drop_database(reference)

    before = dump_checksum(mis_db)
    seed = random.randrange(1 << 30)
    points = sorted(random.Random(seed).sample(range(1, statements + 2), 10))   # statements + 1: at the COMMIT
    print(f"\nload of {statements} statements; kill points {points} (seed {seed})")
    for point in points:
        env = dict(os.environ, MISGW_DATABASE_URL=mis_db, MISGW_KILL_AT=str(point))
        proc = subprocess.run(hooked, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stderr[-2000:])
        _wait_for_rollback(mis_db)
        assert dump_checksum(mis_db) == before, f"killed before statement {point} of the load: the MIS changed"

    [again] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db, check=True).stdout)
    assert again["status"] == "success", again
    assert natural_state(mis_db, first["run_id"]) == expected
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        interrupted = conn.execute(sa.text(
            "SELECT count(*) FROM mis.sync_run WHERE status = 'failed' AND error LIKE 'Interrupted%'")).scalar()
        leftovers = conn.execute(sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'staging'")).scalar()
    engine.dispose()
    assert interrupted == 10 and leftovers == 0


def test_a_source_whose_process_is_killed_fails_alone_under_workers(tmp_path, mis_db):  # noqa: F811
    """With --workers each source runs in a process of its own: one killed in its load fails that
    source with a clear message, the other source loads, and the next run loads the first."""
    write_roster(tmp_path / "a" / "x.xlsx")
    other = [[r[0].replace("-000", "-010"), r[1] + " Hai", *r[2:6], None, *r[7:]] for r in GOOD_ROWS]
    write_roster(tmp_path / "b" / "x.xlsx", rows=other)
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "a", "kind": "spreadsheet", "path": "a", "district_code": "926"},
        {"id": "b", "kind": "spreadsheet", "path": "b", "district_code": "926"}])
    env = dict(os.environ, MISGW_DATABASE_URL=mis_db, MISGW_KILL_AT="3", MISGW_KILL_SOURCE="a")
    hooked = [sys.executable, KILL_AT_SCRIPT, "sync", "--config", str(cfg),
              "--json", "--workers", "2"]
    proc = subprocess.run(hooked, env=env, capture_output=True, text=True, timeout=300)
    runs = {r["source_id"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode != 0
    assert runs["a"]["status"] == "failed" and "(signal 9)" in runs["a"]["error"], runs["a"]
    assert "nothing of it was loaded" in runs["a"]["error"] and "Traceback" not in proc.stdout
    assert runs["b"]["status"] == "success" and runs["b"]["households_accepted"] > 0
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        loaded = dict(conn.execute(sa.text("SELECT source_id, count(*) FROM mis.household GROUP BY 1")).all())
        status = conn.execute(sa.text("SELECT status FROM mis.sync_run WHERE run_id = :r"),
                              {"r": runs["a"]["run_id"]}).scalar()
    assert loaded == {"b": runs["b"]["households_accepted"]} and status == "failed"
    [again, _] = json.loads(misgw("sync", "--config", str(cfg), "--json", "--workers", "2", env_url=mis_db,
                                  check=False).stdout)
    assert again["source_id"] == "a" and again["status"] == "success", again
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mis.household WHERE source_id = 'a'")).scalar() > 0
    engine.dispose()
