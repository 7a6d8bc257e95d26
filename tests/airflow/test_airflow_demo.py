"""The Airflow demo of docs/airflow.md for real: scripts/airflow-demo.sh starts `airflow standalone` with the demo's DAGs;
every district's run is green, the province DAG runs on the Asset, and the MIS Gateway page shows the districts."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import requests
from airflow_cluster import free_port
from browser import screenshot_of_misgw_page
from conftest import ROOT, create_database, drop_database

pytestmark = pytest.mark.slow
DEMO_DAGS = ["misgw_cantho_phong_dien", "misgw_cantho_co_do", "misgw_cantho_ninh_kieu"]


class _Standalone:
    def __init__(self, url: str, home):
        self.url, self.home, self._token = url, home, None

    def token(self) -> str:
        password = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
        return requests.post(f"{self.url}/auth/token", json={"username": "admin", "password": password},
                             timeout=30).json()["access_token"]

    def get(self, path: str) -> dict:
        self._token = self._token or self.token()
        return requests.get(f"{self.url}/api/v2{path}", headers={"Authorization": f"Bearer {self._token}"},
                            timeout=30).json()


def test_the_airflow_demo_script_runs_every_district_green(tmp_path):
    port = free_port()
    mis = create_database("misgw_standalone")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(MISGW_DEMO_VAR=str(tmp_path / "var"), MISGW_DATABASE_URL=mis, AIRFLOW__API__PORT=str(port),
               AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
               AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()))
    log = open(tmp_path / "standalone.log", "wb")
    proc = subprocess.Popen([str(ROOT / "scripts" / "airflow-demo.sh")], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    airflow = _Standalone(f"http://127.0.0.1:{port}", tmp_path / "var" / "airflow")
    try:
        deadline = time.monotonic() + 300
        states: dict = {}
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "standalone.log").read_text()[-5000:]
            try:
                states = {d: [r["state"] for r in airflow.get(f"/dags/{d}/dagRuns").get("dag_runs", [])]
                          for d in DEMO_DAGS + ["misgw_province_92"]}
            except (requests.RequestException, FileNotFoundError, KeyError, ValueError):
                time.sleep(3)
                continue
            # Each district that loads moves the Asset: the province DAG may run more than once, one at a time.
            if all(states[d] and all(st in ("success", "failed") for st in states[d])
                   for d in DEMO_DAGS + ["misgw_province_92"]):
                break
            time.sleep(3)
        assert all(states[d] == ["success"] for d in DEMO_DAGS), states
        assert states["misgw_province_92"] and set(states["misgw_province_92"]) == {"success"}, states
        # The page, behind Airflow's sign-in, with the districts.
        assert requests.get(f"{airflow.url}/misgw/", timeout=30).status_code in (401, 403)
        token = airflow.token()
        page = requests.get(f"{airflow.url}/misgw/", headers={"Authorization": f"Bearer {token}"}, timeout=30).text
        for source in ("cantho-phong-dien", "cantho-co-do", "cantho-ninh-kieu"):
            assert source in page
        assert page.count("thành công") >= 3
        shot = screenshot_of_misgw_page(airflow, token, tmp_path)
        print(f"\nscreenshot of the demo's MIS Gateway page in airflow standalone: {shot}")
    finally:
        _stop_tree(proc.pid)
        drop_database(mis)


def _stop_tree(pid: int) -> None:
    """standalone and everything it started (its components start processes of their own)."""
    import psutil

    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    procs = [parent, *parent.children(recursive=True)]
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=30)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
