"""The DAGs: built from the sources file, cheap to parse, and a real run on a real Airflow metadata database."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import CROSSWALK_CSV, PRE2025_CSV, ROOT
from rosters import write_config, write_roster

DAGS = ROOT / "dags"


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """A real Airflow metadata database (SQLite), migrated with `airflow db migrate`."""
    home = tmp_path_factory.mktemp("airflow")
    env = _env(home)
    out = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return home


def _env(home: Path, **extra) -> dict:
    env = dict(os.environ, AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
               AIRFLOW__CORE__DAGS_FOLDER=str(DAGS), AIRFLOW__CORE__UNIT_TEST_MODE="False")
    env.update(extra)
    return env


def _airflow(home: Path, *args, **env) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "airflow_run.py"), *args],
                         env=_env(home, **env), capture_output=True, text=True, timeout=600)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, out.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT "):])


def _config(tmp_path: Path) -> Path:
    write_roster(tmp_path / "pd" / "ds.xlsx")
    return write_config(tmp_path / "misgw.yaml", [
        {"id": "cantho-phong-dien", "kind": "spreadsheet", "path": "pd", "district_code": "926",
         "schedule": "@daily"},
        {"id": "cantho-co-do", "kind": "spreadsheet", "path": "pd", "district_code": "925"}])


def test_every_dag_file_imports_quickly_with_one_dag_per_source(tmp_path, airflow_home):
    result = _airflow(airflow_home, "parse", str(DAGS), MISGW_CONFIG=str(_config(tmp_path)))
    assert result["import_errors"] == {}
    assert result["parse_seconds"] < 2.0
    dags = result["dags"]
    assert set(dags) == {"misgw_cantho_phong_dien", "misgw_cantho_co_do"}
    pd = dags["misgw_cantho_phong_dien"]
    assert pd["tags"] == ["district:926", "kind:spreadsheet", "misgw", "province:92"]
    assert pd["max_active_runs"] == 1 and pd["retries"] == 2 and "daily" in pd["schedule"].lower()
    assert pd["tasks"] == ["extract", "load", "map_validate", "mark_failed", "reconcile", "report", "start"]


def test_a_bad_sources_file_builds_no_dags_and_breaks_nothing(tmp_path, airflow_home):
    bad = tmp_path / "misgw.yaml"
    bad.write_text("province_code: [\n")
    result = _airflow(airflow_home, "parse", str(DAGS), MISGW_CONFIG=str(bad))
    assert result["import_errors"] == {} and result["dags"] == {}


@pytest.mark.slow
def test_dag_test_runs_a_source_into_the_mis(tmp_path, airflow_home, fresh_db):
    from mis import db
    from misgw.admin_units import import_admin_units

    import_admin_units(db.get_engine(fresh_db), PRE2025_CSV, CROSSWALK_CSV)
    cfg = _config(tmp_path)
    result = _airflow(airflow_home, "test", str(DAGS), "misgw_cantho_phong_dien",
                      MISGW_CONFIG=str(cfg), MISGW_DATABASE_URL=fresh_db)
    assert result["state"] == "success"
    assert result["tasks"] == {"start": "success", "extract": "success", "map_validate": "success",
                               "reconcile": "success", "load": "success", "report": "success",
                               "mark_failed": "skipped"}
    engine = sa.create_engine(fresh_db)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mis.household")).scalar() == 2
        assert conn.execute(sa.text("SELECT status FROM mis.sync_run")).scalars().all() == ["success"]
    engine.dispose()


@pytest.mark.slow
def test_dag_dry_run_param_writes_nothing(tmp_path, airflow_home, fresh_db):
    from mis import db
    from misgw.admin_units import import_admin_units

    import_admin_units(db.get_engine(fresh_db), PRE2025_CSV, CROSSWALK_CSV)
    result = _airflow(airflow_home, "test", str(DAGS), "misgw_cantho_phong_dien", json.dumps({"dry_run": True}),
                      MISGW_CONFIG=str(_config(tmp_path)), MISGW_DATABASE_URL=fresh_db)
    assert result["state"] == "success"
    engine = sa.create_engine(fresh_db)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mis.household")).scalar() == 0
        assert conn.execute(sa.text("SELECT dry_run FROM mis.sync_run")).scalars().all() == [True]
    engine.dispose()
