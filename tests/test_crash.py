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

from rosters import GOOD_ROWS, write_config, write_roster
from test_pipeline import dump_checksum, mis_db, misgw  # noqa: F401  (mis_db is a fixture)


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
    # The orphaned backend finds its client gone and rolls back; wait until it has.
    for _ in range(100):
        with watcher.connect() as conn:
            busy = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND pid <> pg_backend_pid() AND state <> 'idle'")).scalar()
        if not busy:
            break
        time.sleep(0.2)
    watcher.dispose()
    assert proc.returncode == -signal.SIGKILL
    assert dump_checksum(mis_db) == before

    [again] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert again["status"] == "success" and again["reconcile"]["changed"] == 2
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        cats = sorted(conn.execute(sa.text("SELECT poverty_category FROM mis.poverty_assessment")).scalars())
    engine.dispose()
    assert cats == ["near_poor", "poor"] and dump_checksum(mis_db) != before
