"""A real Airflow deployment for tests: api-server, scheduler, dag-processor, triggerer and Celery workers as processes.

    with Cluster(tmp_path, env={"MISGW_CONFIG": ..., "MISGW_DATABASE_URL": ...}, executor="CeleryExecutor",
                 workers=["w1", "w2"]) as airflow:
        airflow.wait_for_dags(["misgw_x"]); run = airflow.trigger("misgw_x"); airflow.wait_run("misgw_x", run)

The metadata database is a fresh PostgreSQL database; Celery uses the local Redis as broker and
PostgreSQL as result backend. Every process logs to a file under the home, printed when it fails.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from airflow_support import DAGS, airflow_command
from conftest import create_database, drop_database

PASSWORD = "misgw-test-pw"


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """The component, its process group, and any child that started a group of its own."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for child in children:
        try:
            child.send_signal(sig)
        except psutil.NoSuchProcess:
            pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, root: Path, env: dict, executor: str = "LocalExecutor", workers: list[str] | None = None,
                 queues: dict[str, str] | None = None):
        self.home = root / "airflow-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.metadata = create_database("misgw_airflow")
        self.executor, self.workers, self.queues = executor, workers or [], queues or {}
        self.procs: dict[str, subprocess.Popen] = {}
        (self.home / "passwords.json").write_text(json.dumps({"admin": PASSWORD}))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        broker_db = int(uuid.uuid4().int % 14) + 1
        self.env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "misgw.worker.hostname",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": self.metadata,   # psycopg 3 is async too (no asyncpg)
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
            "AIRFLOW__API_AUTH__JWT_ISSUER": "misgw-test",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.metadata,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **env,
        })
        self._token: str | None = None

    # ------------------------------------------------------------------ processes
    def __enter__(self):
        out = subprocess.run([*airflow_command(), "db", "migrate"], env=self.env, capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, f"airflow db migrate failed:\n{out.stderr[-4000:]}"
        self._start("api-server", "api-server", "--port", str(self.port), "--host", "127.0.0.1")
        self._start("scheduler", "scheduler")
        self._start("dag-processor", "dag-processor")
        self._start("triggerer", "triggerer")
        for name in self.workers:
            self._start(name, "celery", "worker", "--concurrency", "2", "--celery-hostname", f"{name}@%h",
                        "--queues", self.queues.get(name, "default"), MISGW_WORKER_NAME=name)
        self._wait_api()
        return self

    def __exit__(self, *exc):
        # Each component runs in a process group of its own: its children (uvicorn workers, the log
        # server, task processes) stop with it, and no port stays taken for the next test.
        for name, proc in self.procs.items():
            _signal_group(proc, signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)
        if exc[0] is not None:
            self.print_logs()
        try:
            drop_database(self.metadata)
        except Exception:  # noqa: BLE001 - a lingering connection must not hide the test's own result
            pass

    def _start(self, name: str, *args: str, **env: str) -> None:
        log = open(self.home / f"{name}.log", "wb")
        self.procs[name] = subprocess.Popen([*airflow_command(), *args], env={**self.env, **env}, stdout=log,
                                            stderr=subprocess.STDOUT, cwd=self.home, start_new_session=True)

    def _wait_api(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    self.print_logs()
                    raise AssertionError(f"{name} exited with {proc.returncode}")
            try:
                if requests.get(f"{self.url}/api/v2/monitor/health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        self.print_logs()
        raise AssertionError("the api-server did not answer")

    def print_logs(self, tail: int = 4000) -> None:
        for path in sorted(self.home.glob("*.log")):
            print(f"\n===== {path.name} =====\n{path.read_text(errors='replace')[-tail:]}", file=sys.stderr)

    # ------------------------------------------------------------------ REST API
    def token(self, username: str = "admin", password: str = PASSWORD) -> str:
        response = requests.post(f"{self.url}/auth/token", json={"username": username, "password": password},
                                 timeout=30)
        assert response.status_code in (200, 201), response.text
        return response.json()["access_token"]

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        if self._token is None:
            self._token = self.token()
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/api/v2{path}", timeout=60, headers=headers, **kwargs)

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = {d["dag_id"] for d in self.api("GET", "/dags", params={"limit": 100}).json().get("dags", [])}
            if set(dag_ids) <= found:
                return
            time.sleep(2)
        self.print_logs()
        raise AssertionError(f"DAGs never parsed: {set(dag_ids) - found}")

    def unpause(self, dag_id: str) -> None:
        response = self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        assert response.ok, response.text

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        response = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        assert response.ok, response.text
        return response.json()["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> dict:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json()

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 300, states=("success", "failed")) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run_state(dag_id, run_id)
            if run.get("state") in states:
                return run
            time.sleep(2)
        self.print_logs()
        raise AssertionError(f"{dag_id} {run_id} still {run.get('state')} after {timeout} s: "
                             f"{self.task_states(dag_id, run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        response = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                            headers={"Accept": "application/json"})
        try:  # Airflow 3: {"content": [{"event": ..., "level": ...}, ...]} (no text/plain any more)
            content = response.json()["content"]
            text = "\n".join(e if isinstance(e, str) else
                             " ".join(str(e.get(k, "")) for k in ("level", "event", "error_detail") if e.get(k))
                             for e in content)
        except (ValueError, KeyError, TypeError):
            text = response.text
        return text[-6000:]

    def explain(self, dag_id: str, run_id: str) -> str:
        """Task states, and the log of every task that failed: for an assertion's message."""
        states = self.task_states(dag_id, run_id)
        logs = "\n".join(f"--- {t} ---\n{self.task_log(dag_id, run_id, t)}" for t, st in states.items()
                         if st in ("failed", "up_for_retry"))
        return f"{states}\n{logs}"

    def wait_parked(self, dag_id: str, run_id: str, task_id: str, timeout: float = 120) -> None:
        """Until the scheduler has seen the attempt that parked task_id (awaiting_input) end. An answer
        sent before that reaches Airflow while it still counts the parked attempt as running."""
        needle = f"TaskInstance Finished: dag_id={dag_id}, task_id={task_id}, run_id={run_id},"
        log = self.home / "scheduler.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in log.read_text(errors="replace"):
                return
            time.sleep(0.5)
        self.print_logs()
        raise AssertionError(f"the scheduler never saw {task_id} of {run_id} park")

    def task_states(self, dag_id: str, run_id: str) -> dict:
        return {t["task_id"]: t["state"] for t in self.task_instances(dag_id, run_id)}

    def wait_task(self, dag_id: str, run_id: str, task_id: str, states, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t in self.task_instances(dag_id, run_id):
                if t["task_id"] == task_id and t["state"] in states:
                    return t
            time.sleep(2)
        self.print_logs()
        raise AssertionError(f"{task_id} never reached {states}: {self.task_states(dag_id, run_id)}")
