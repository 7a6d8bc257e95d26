"""A province's syncs on Airflow's CeleryExecutor: Redis as broker, PostgreSQL as metadata database and result
backend, a scheduler, a dag-processor and two Celery workers started as processes; the DAGs are triggered
through the REST API and their tasks run on both workers, the heavy source only on the worker of its queue."""
from __future__ import annotations

import random
import time

import pytest
import registry_truth
from airflow_cluster import Cluster
from conftest import CROSSWALK_CSV, PRE2025_CSV, create_database, drop_database
from rosters import write_config

pytestmark = pytest.mark.slow
DISTRICTS = {"926": "31303", "925": "31222", "927": "31267", "924": "31211"}


def test_a_province_runs_on_two_celery_workers_and_heavy_sources_on_their_queue(tmp_path):
    from mis import db
    from misgw.admin_units import import_admin_units

    rng = random.Random(21)
    people = registry_truth._People(rng)
    sources = []
    for i, (district, commune) in enumerate(DISTRICTS.items()):
        households = [registry_truth._household(people, rng, f"D{district}-{n:03d}", commune, 2) for n in range(30)]
        registry_truth.write(households, tmp_path / f"d{district}" / "ds.xlsx")
        sources.append({"id": f"huyen-{district}", "kind": "spreadsheet", "path": f"d{district}",
                        "district_code": district, **({"queue": "heavy"} if i == 0 else {})})
    config = write_config(tmp_path / "misgw.yaml", sources)
    mis = create_database("misgw_celery")
    db.upgrade(db.get_engine(mis))
    import_admin_units(db.get_engine(mis), PRE2025_CSV, CROSSWALK_CSV)
    env = {"MISGW_CONFIG": str(config), "MISGW_DATABASE_URL": mis}
    dags = [f"misgw_huyen_{d}" for d in DISTRICTS]
    try:
        with Cluster(tmp_path, env, executor="CeleryExecutor", workers=["worker-1", "worker-2"],
                     queues={"worker-1": "default", "worker-2": "default,heavy"}) as airflow:
            airflow.wait_for_dags(dags + ["misgw_province_92"])
            for dag_id in dags + ["misgw_province_92"]:
                airflow.unpause(dag_id)
            runs = {dag_id: airflow.trigger(dag_id) for dag_id in dags}
            ran_on: dict[str, set] = {}
            for dag_id, run_id in runs.items():
                run = airflow.wait_run(dag_id, run_id, timeout=600)
                assert run["state"] == "success", airflow.explain(dag_id, run_id)
                for t in airflow.task_instances(dag_id, run_id):
                    # An EmptyOperator (no_approval) never reaches a worker: the scheduler marks it done.
                    if t["state"] == "success" and t["operator"] != "EmptyOperator":
                        ran_on.setdefault(dag_id, set()).add(t["hostname"])
                        assert t["queue"] == ("heavy" if dag_id == dags[0] else "default"), t
            assert set().union(*ran_on.values()) == {"worker-1", "worker-2"}, ran_on
            assert ran_on[dags[0]] == {"worker-2"}                  # the heavy queue: only the larger worker
            # The registry's Asset moved: the province-wide steps ran on the workers too.
            deadline = time.monotonic() + 300
            province = []
            while time.monotonic() < deadline:
                province = [r for r in airflow.api("GET", "/dags/misgw_province_92/dagRuns").json()["dag_runs"]
                            if r["state"] in ("success", "failed")]
                if province:
                    break
                time.sleep(3)
            assert province and province[-1]["state"] == "success", province
            hosts = {t["hostname"] for t in airflow.task_instances("misgw_province_92", province[-1]["dag_run_id"])}
            assert hosts <= {"worker-1", "worker-2"} and hosts
    finally:
        drop_database(mis)
