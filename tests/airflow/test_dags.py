"""The DAGs: one per source, cheap to parse, harmless on a bad sources file, and a real run on a real Airflow metadata database.

Airflow runs in child processes (tests/support/airflow_support.py) pointed at a temporary AIRFLOW_HOME, so
this process's own Airflow configuration, if any, plays no part.
"""
from __future__ import annotations

import json
from pathlib import Path

import airflow_support as af
import pytest
import sqlalchemy as sa
import yaml
from conftest import CROSSWALK_CSV, PRE2025_CSV
from openpyxl import Workbook

STAGES = ["start", "extract", "map_validate", "reconcile"]
HEADER = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
          "Mã xã", "Phân loại hộ", "Năm rà soát", "Thu nhập bình quân đầu người"]
# Xã Giai Xuân (31303), Huyện Phong Điền (926), Thành phố Cần Thơ (92), pre-2025 units.
# CCCD: 092 (Cần Thơ) + century/sex (0 man, 1 woman born 19xx; 2 man, 3 woman born 20xx) + yy + 6 digits.
MEMBERS = [
    ["31303-0001", "Trần Văn Hùng", "Chủ hộ", "Nam", "15/04/1970", "Kinh", "092070123456", "31303", "Hộ nghèo", 2025, 1200000],
    ["31303-0001", "Nguyễn Thị Lan", "Vợ", "Nữ", "22/08/1973", "Kinh", "092173654321", "31303", "Hộ nghèo", 2025, 1200000],
    ["31303-0001", "Trần Thị Mai", "Con", "Nữ", "03/01/2002", "Kinh", "092302111222", "31303", "Hộ nghèo", 2025, 1200000],
    ["31303-0001", "Trần Văn Phúc", "Con", "Nam", "10/10/2008", "Kinh", "092208333444", "31303", "Hộ nghèo", 2025, 1200000],
    ["31303-0002", "Thạch Thị Sa Ri", "Chủ hộ", "Nữ", "05/05/1965", "Khmer", "092165777888", "31303", "Hộ cận nghèo", 2025, 1400000],
    ["31303-0002", "Thạch Văn Sơn", "Con", "Nam", "12/12/1990", "Khmer", "092090999000", "31303", "Hộ cận nghèo", 2025, 1400000],
]


def write_workbook(path: Path, header: list[str] = HEADER, rows: list[list] = MEMBERS) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Xã Giai Xuân"
    ws.append(["DANH SÁCH HỘ NGHÈO NĂM 2025"])
    ws.append(header)
    for number, row in enumerate(rows, start=1):
        ws.append([number, *row])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_config(tmp_path: Path, sources: list[dict]) -> Path:
    path = tmp_path / "misgw.yaml"
    path.write_text(yaml.safe_dump({"province_code": "92", "output_dir": "out", "sources": sources},
                                   allow_unicode=True), encoding="utf-8")
    return path


PHONG_DIEN = {"id": "cantho-phong-dien", "kind": "spreadsheet", "path": "phong-dien", "district_code": "926",
              "schedule": "@daily"}


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """An AIRFLOW_HOME whose metadata database (SQLite) has been through `airflow db migrate`."""
    home = tmp_path_factory.mktemp("airflow")
    seconds = af.migrate(home)
    print(f"\nairflow db migrate: {seconds:.1f} s")
    return home


def _dag_test(home: Path, dag_id: str, config: Path, database_url: str, conf: dict | None = None) -> dict:
    args = ["test", str(af.DAGS), dag_id] + ([json.dumps(conf)] if conf else [])
    result = af.run(home, *args, MISGW_CONFIG=str(config), MISGW_DATABASE_URL=database_url)
    print(f"\ndag.test({dag_id}): {result['seconds']:.1f} s")
    return result


def _with_units(url: str) -> str:
    from mis import db
    from misgw.admin_units import import_admin_units

    import_admin_units(db.get_engine(url), PRE2025_CSV, CROSSWALK_CSV)
    return url


def _rows(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def _scalars(url: str, sql: str) -> list:
    return [row[0] for row in _rows(url, sql)]


def test_every_dag_file_imports_quickly_without_io_and_builds_one_dag_per_source(tmp_path):
    (tmp_path / "phong-dien").mkdir()
    config = write_config(tmp_path, [PHONG_DIEN,
                                     {"id": "cantho-province", "kind": "spreadsheet", "path": "phong-dien"},
                                     {"id": "co-do-db", "kind": "odbc", "conn_id": "coDo_btxh", "table": "tblNhanKhau",
                                      "district_code": "925", "queue": "heavy"}])
    result = af.run(tmp_path / "airflow", "parse", str(af.DAGS), MISGW_CONFIG=str(config))

    assert set(result["files"]) == {p.name for p in af.DAGS.glob("*.py")}
    for name, parsed in result["files"].items():
        assert parsed["import_errors"] == [], name
        assert parsed["seconds"] < 2.0, f"{name} took {parsed['seconds']:.2f} s to import"
        assert parsed["io"] == [], f"{name} does I/O when parsed: {parsed['io']}"
    dags = result["dags"]
    assert set(dags) == {"misgw_cantho_phong_dien", "misgw_cantho_province", "misgw_co_do_db", "misgw_province_92"}

    pd = dags["misgw_cantho_phong_dien"]
    assert pd["tags"] == ["district:926", "kind:spreadsheet", "misgw", "province:92"]
    assert pd["schedule"] == "@daily" and pd["catchup"] is False and pd["max_active_runs"] == 1
    assert pd["params"] == {"dry_run": False, "full_reload": False, "files": []}
    assert pd["param_types"] == {"dry_run": "boolean", "full_reload": "boolean", "files": "array"}
    tasks = pd["tasks"]
    for upstream, downstream in zip(STAGES, STAGES[1:]):
        assert downstream in tasks[upstream]["downstream"] and "mark_failed" in tasks[upstream]["downstream"]
    assert set(tasks["brake"]["downstream"]) == {"approve", "no_approval", "mark_failed"}
    assert "load" in tasks["approve"]["downstream"] and "load" in tasks["no_approval"]["downstream"]
    assert tasks["load"]["trigger_rule"] == "none_failed_min_one_success"
    assert set(tasks["load"]["downstream"]) == {"report", "closed", "mark_failed"}
    assert tasks["closed"]["trigger_rule"] == "all_skipped"
    assert tasks["publish"]["outlets"] == ["misgw_registry_92"]
    assert tasks["mark_failed"]["trigger_rule"] == "one_failed" and tasks["mark_failed"]["retries"] == 0
    for task_id in STAGES:
        assert tasks[task_id]["retries"] == 2
        assert tasks[task_id]["retry_exponential_backoff"] > 1  # a multiplier in Airflow 3: 1 means no backoff
        assert tasks[task_id]["execution_timeout"]
        assert tasks[task_id]["pool"] == "default_pool" and tasks[task_id]["queue"] == "default"
    assert tasks["approve"]["operator"] == "LoadApproval" and tasks["approve"]["execution_timeout"] is None

    db = dags["misgw_co_do_db"]
    assert db["tasks"]["extract"]["pool"] == "misgw_db_coDo_btxh"         # one pool per database server
    assert db["tasks"]["map_validate"]["pool"] == "default_pool"
    assert {t["queue"] for t in db["tasks"].values()} == {"heavy"}          # heavy sources, larger workers
    assert db["params"] == {"dry_run": False, "full_reload": False}

    province = dags["misgw_province_92"]
    assert province["schedule_assets"] == ["misgw_registry_92"] and province["max_active_runs"] == 1
    assert set(province["tasks"]) == {"cross_district_conflicts", "poverty_movement", "province_summary"}
    assert province["tags"] == ["kind:province", "misgw", "province:92"]


def test_one_deployment_runs_districts_of_several_old_provinces(tmp_path):
    """Today's Cần Thơ (92) took old Cần Thơ, Hậu Giang (93) and Sóc Trăng (94): one sources file, one
    deployment, a DAG per district whatever its old province, one province DAG over them all."""
    for folder in ("phong-dien", "vi-thanh", "my-tu"):
        (tmp_path / folder).mkdir()
    config = write_config(tmp_path, [PHONG_DIEN,
                                     {"id": "haugiang-vi-thanh", "kind": "spreadsheet", "path": "vi-thanh",
                                      "district_code": "930"},
                                     {"id": "soctrang-my-tu", "kind": "spreadsheet", "path": "my-tu",
                                      "district_code": "944", "assessment_year": 2025, "ethnicity_edition": "1979"}])
    result = af.run(tmp_path / "airflow", "parse", str(af.DAGS), MISGW_CONFIG=str(config))
    assert all(parsed["import_errors"] == [] and parsed["io"] == [] for parsed in result["files"].values())
    dags = result["dags"]
    assert set(dags) == {"misgw_cantho_phong_dien", "misgw_haugiang_vi_thanh", "misgw_soctrang_my_tu",
                         "misgw_province_92"}
    assert dags["misgw_haugiang_vi_thanh"]["tags"] == ["district:930", "kind:spreadsheet", "misgw", "province:92"]
    assert dags["misgw_soctrang_my_tu"]["tags"] == ["district:944", "kind:spreadsheet", "misgw", "province:92"]
    for dag_id in ("misgw_cantho_phong_dien", "misgw_haugiang_vi_thanh", "misgw_soctrang_my_tu"):
        assert dags[dag_id]["tasks"]["publish"]["outlets"] == ["misgw_registry_92"]
    assert dags["misgw_province_92"]["schedule_assets"] == ["misgw_registry_92"]


def test_the_import_test_catches_a_dag_file_that_does_io(tmp_path):
    """The check above can fail: a DAG file that lists a folder and opens a file at parse time is caught."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (tmp_path / "data.csv").write_text("x")
    (folder / "bad_dag.py").write_text(
        "import os\n"
        f"FILES = os.listdir({str(tmp_path)!r})\n"
        f"DATA = open({str(tmp_path / 'data.csv')!r}).read()\n"
        "from airflow.sdk import DAG\n"
        "with DAG(dag_id='bad', schedule=None):\n    pass\n")
    result = af.run(tmp_path / "airflow", "parse", str(folder))
    io = result["files"]["bad_dag.py"]["io"]
    assert any(e.startswith("os.listdir") for e in io) and any("data.csv" in e for e in io), io


@pytest.mark.parametrize("problem", ["missing", "not yaml", "bad province"])
def test_a_missing_or_invalid_sources_file_builds_no_dags_and_says_why(tmp_path, problem):
    config = tmp_path / "misgw.yaml"
    if problem == "not yaml":
        config.write_text("province_code: [\n")
    elif problem == "bad province":
        (tmp_path / "phong-dien").mkdir()
        write_config(tmp_path, [PHONG_DIEN])
        config.write_text(config.read_text().replace("'92'", "'Cần Thơ'"))
    result = af.run(tmp_path / "airflow", "parse", str(af.DAGS), MISGW_CONFIG=str(config))

    assert all(parsed["import_errors"] == [] for parsed in result["files"].values())
    assert result["dags"] == {}
    assert "no DAGs built" in result["output"] and str(config) in result["output"]


@pytest.mark.slow
def test_dag_test_runs_a_source_into_the_mis(tmp_path, airflow_home, fresh_db):
    write_workbook(tmp_path / "phong-dien" / "giai-xuan.xlsx")
    config = write_config(tmp_path, [PHONG_DIEN])
    result = _dag_test(airflow_home, "misgw_cantho_phong_dien", config, _with_units(fresh_db))

    assert result["state"] == "success"
    assert result["tasks"] == {**dict.fromkeys(STAGES, "success"), "brake": "success", "no_approval": "success",
                               "approve": "skipped", "load": "success", "report": "success", "publish": "success",
                               "closed": "skipped", "mark_failed": "skipped"}
    # The DAG run's note carries the run summary (written by the plugin's listener when the run ended).
    assert "**MIS Gateway – `cantho-phong-dien`**" in result["note"] and "2 households (6 people) accepted" in result["note"]
    assert "households: 2 new" in result["note"]
    assert _scalars(fresh_db, "SELECT count(*) FROM mis.household") == [2]
    assert _scalars(fresh_db, "SELECT count(*) FROM mis.member") == [6]
    assert _scalars(fresh_db, "SELECT count(*) FROM mis.reject") == [0]
    assert _scalars(fresh_db, "SELECT status FROM mis.sync_run") == ["success"]
    assert (tmp_path / "out").is_dir()


@pytest.mark.slow
def test_the_dry_run_param_reaches_the_pipeline(tmp_path, airflow_home, fresh_db):
    write_workbook(tmp_path / "phong-dien" / "giai-xuan.xlsx")
    config = write_config(tmp_path, [PHONG_DIEN])
    result = _dag_test(airflow_home, "misgw_cantho_phong_dien", config, _with_units(fresh_db), {"dry_run": True})

    assert result["state"] == "success"
    assert _scalars(fresh_db, "SELECT count(*) FROM mis.household") == [0]
    assert _scalars(fresh_db, "SELECT dry_run FROM mis.sync_run") == [True]


@pytest.mark.slow
def test_a_failing_stage_fails_the_dag_run_and_the_sync_run_with_the_reason(tmp_path, airflow_home, fresh_db):
    unknown = ["STT", "Cột A", "Cột B", "Cột C"]
    write_workbook(tmp_path / "phong-dien" / "giai-xuan.xlsx", unknown, [["x", "y", "z"]] * 3)
    config = write_config(tmp_path, [PHONG_DIEN])
    result = _dag_test(airflow_home, "misgw_cantho_phong_dien", config, _with_units(fresh_db))

    assert result["state"] == "failed"  # mark_failed succeeded at its job, then failed the DAG run
    assert result["tasks"] == {"start": "success", "extract": "success", "map_validate": "failed",
                               "reconcile": "upstream_failed", "brake": "upstream_failed",
                               "approve": "upstream_failed", "no_approval": "upstream_failed",
                               "load": "upstream_failed", "report": "upstream_failed", "publish": "upstream_failed",
                               "closed": "skipped", "mark_failed": "failed"}
    assert "**failed**" in result["note"] and "no sheet holds a roster" in result["note"]
    [(status, error)] = _rows(fresh_db, "SELECT status, error FROM mis.sync_run")
    assert status == "failed"
    assert error.startswith("Source 'cantho-phong-dien': no sheet holds a roster"), error
    assert _scalars(fresh_db, "SELECT count(*) FROM mis.household") == [0]
