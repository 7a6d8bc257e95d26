"""The new user's path: the embedded PostgreSQL when no server is configured, and the demo end to end."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import CROSSWALK_CSV, PRE2025_CSV


def _run(args, env, timeout=900):
    return subprocess.run([sys.executable, "-m", "misgw.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def _postmaster_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.is_file():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_embedded_postgres_when_no_database_is_configured(tmp_path):
    """No server configured: the MIS lives in the user's data directory, is found from any folder, and
    no command leaves its server running."""
    env = {k: v for k, v in os.environ.items() if k not in ("MISGW_DATABASE_URL", "MISGW_EMBEDDED_PG_DIR")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    pgdata = tmp_path / "data" / "misgw" / "pgdata"
    first, second = tmp_path / "office", tmp_path / "home" / "elsewhere"
    first.mkdir()
    second.mkdir(parents=True)
    out = subprocess.run([sys.executable, "-m", "misgw.cli", "db", "upgrade"], capture_output=True, text=True,
                         env=env, cwd=first, timeout=900)
    assert out.returncode == 0, out.stderr
    assert "MIS schema up to date (0001_initial" in out.stdout
    assert out.stderr.strip() == "", out.stderr                   # no warnings in normal use
    assert (pgdata / "PG_VERSION").is_file() and not (first / "var").exists()
    assert not _postmaster_running(pgdata), "the embedded server was left running"
    # Another folder, another process: the same server and data, started again and stopped again.
    again = subprocess.run([sys.executable, "-m", "misgw.cli", "db", "upgrade"], capture_output=True, text=True,
                           env=env, cwd=second, timeout=900)
    assert again.returncode == 0 and "no new migrations" in again.stdout, again.stderr
    assert not (second / "var").exists() and not _postmaster_running(pgdata)
    import pgserver

    server = pgserver.get_server(str(pgdata), cleanup_mode="stop")
    engine = sa.create_engine(server.get_uri().replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        from mis.db import migrations

        applied = conn.execute(sa.text("SELECT version FROM public.misgw_schema_version ORDER BY 1")).scalars().all()
        assert applied == [v for v, _ in migrations()]
    engine.dispose()
    server.cleanup()


@pytest.mark.slow
def test_demo_rejects_exactly_the_truth_files_rows(tmp_path, fresh_db):
    env = dict(os.environ, MISGW_DATABASE_URL=fresh_db)
    out = _run(["demo", "--dir", str(tmp_path / "demo"), "--pre2025", str(PRE2025_CSV),
                "--crosswalk", str(CROSSWALK_CSV), "--json"], env)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    check = result["truth_check"]
    assert check["match"] and check["expected"] == check["found"] > 0
    runs = result["runs"]
    assert {r["source_id"] for r in runs} == {"cantho-phong-dien", "cantho-co-do", "cantho-ninh-kieu"}
    for r in runs:
        assert r["status"] == "success" and r["rows_rejected"] > 0
        [workbook] = r["fixup_workbooks"].values()       # one district per source: one workbook
        assert Path(workbook).is_file() and r["source_id"] in Path(workbook).name
    # The fix-up workbook speaks the district's own wording, in its own column order.
    from openpyxl import load_workbook

    co_do = next(r for r in runs if r["source_id"] == "cantho-co-do")
    headers = [c.value for c in load_workbook(co_do["fixup_workbooks"]["925"])["Cần sửa"][1]]
    # Code, name and the reason first; then the district's own wording and order; the origin and key last.
    assert headers[:5] == ["Mã HGĐ", "Họ tên", "Lý do cần sửa", "QH với CH", "Nam/Nữ"], headers
    assert headers[-4:] == ["Tệp gốc", "Trang tính", "Dòng gốc", "Mã dòng (không sửa)"], headers
    # A second demo run reuses the generated province: every household unchanged.
    again = json.loads(_run(["demo", "--dir", str(tmp_path / "demo"), "--pre2025", str(PRE2025_CSV),
                             "--crosswalk", str(CROSSWALK_CSV), "--json"], env).stdout)
    for r in again["runs"]:
        assert r["reconcile"]["new"] == 0 and r["reconcile"]["changed"] == 0
        assert r["reconcile"]["unchanged"] == r["households_accepted"] > 0
    # A plain sync of the same files reads nothing at all.
    plain = json.loads(_run(["sync", "--config", str(tmp_path / "demo" / "misgw.yaml"), "--json"], env).stdout)
    assert all(r["unchanged_at_source"] and r["rows_read"] == 0 for r in plain)
