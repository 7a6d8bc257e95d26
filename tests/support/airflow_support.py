"""Airflow for the tests: a throw-away home with a real metadata database, and every Airflow call in a child process.

Airflow reads its configuration (AIRFLOW_HOME, the metadata database, the DAGs folder) once, when it
is first imported. So the pytest process never imports airflow: each parse or run is this file run
as a script in a subprocess whose environment points at the test's own home, and it prints one
line, ``RESULT <json>``, for the test to read.

    python tests/support/airflow_support.py parse <dags folder>
    python tests/support/airflow_support.py test <dags folder> <dag id> [<run conf json>]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment with any Airflow settings replaced by a home of our own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
    )
    env.update(extra)
    return env


def airflow_command() -> list[str]:
    """The `airflow` of the Python running the tests (the project's venv)."""
    binary = Path(sys.executable).with_name("airflow")
    return [str(binary)] if binary.exists() else [sys.executable, "-m", "airflow"]


def migrate(home: Path) -> float:
    """`airflow db migrate` into home/airflow.db; returns the seconds it took."""
    started = time.monotonic()
    out = subprocess.run([*airflow_command(), "db", "migrate"], env=airflow_env(home),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"airflow db migrate failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return time.monotonic() - started


def run(home: Path, *args: str, timeout: float = 600, **env: str) -> dict:
    """Run this file as a script with the test's Airflow environment; return its RESULT and output."""
    out = subprocess.run([sys.executable, __file__, *args], env=airflow_env(home, **env),
                         capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    assert out.returncode == 0 and lines, (
        f"airflow_support {' '.join(args)} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-6000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    result["output"] = out.stdout + out.stderr
    return result


# ----------------------------------------------------------------- the child process

def _describe(dag) -> dict:
    from airflow.serialization.serialized_objects import DagSerialization

    DagSerialization.to_dict(dag)  # what the DAG processor does next; fails on what it cannot store
    assets = getattr(dag.timetable, "asset_condition", None)
    return {
        "tags": sorted(dag.tags), "schedule": dag.schedule if isinstance(dag.schedule, (str, type(None))) else "assets",
        "schedule_assets": sorted(a.name for a in getattr(assets, "objects", ())) if assets is not None else [],
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs, "description": dag.description,
        "params": dag.params.dump(),
        "param_types": {k: dag.params.get_param(k).schema.get("type") for k in dag.params},
        "tasks": {t.task_id: {
            "downstream": sorted(t.downstream_task_ids), "trigger_rule": getattr(t.trigger_rule, "value", t.trigger_rule),
            "retries": t.retries, "retry_exponential_backoff": t.retry_exponential_backoff,
            "execution_timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None,
            "pool": t.pool, "queue": t.queue, "operator": type(t).__name__,
            "outlets": sorted(getattr(o, "name", str(o)) for o in (t.outlets or [])),
        } for t in dag.tasks},
    }


def _parse(folder: str) -> dict:
    """Import every .py file of the folder on its own, as the DAG processor does, timing each."""
    from airflow.dag_processing.dagbag import DagBag

    files, dags = {}, {}
    for path in sorted(Path(folder).glob("*.py")):
        started = time.monotonic()
        bag = DagBag(dag_folder=str(path), safe_mode=False)  # safe_mode=False: import even files without "dag"
        seconds = time.monotonic() - started
        files[path.name] = {"seconds": seconds, "import_errors": [str(e)[-1000:] for e in bag.import_errors.values()],
                            "dag_ids": sorted(bag.dag_ids), "io": _io_at_import(path)}
        dags.update({dag_id: _describe(dag) for dag_id, dag in bag.dags.items()})
    return {"files": files, "dags": dags}


# Audit events that mean a DAG file touches the world while it is parsed (Python's audit hooks, PEP 578).
_IO_EVENTS = {"open", "os.listdir", "os.scandir", "glob.glob", "socket.connect", "socket.getaddrinfo",
              "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "sqlite3.connect", "urllib.Request",
              "shutil.copyfile", "os.remove", "os.rename", "os.mkdir"}


def _io_at_import(path: Path) -> list[str]:
    """Run the DAG file's top-level code once more, recording any I/O it does beyond reading code and the
    sources file (MISGW_CONFIG): database calls, sockets, processes, listing or reading other files."""
    import importlib.util
    import os

    allowed = {os.path.realpath(os.environ.get("MISGW_CONFIG", ""))}
    code_roots = {os.path.realpath(p) for p in sys.path if p} | {os.path.realpath(sys.prefix), str(path.parent.resolve())}
    seen: list[str] = []
    active = [True]

    def hook(event, args):
        if not active[0] or event not in _IO_EVENTS:
            return
        if event == "open":
            target, mode = args[0], (args[1] if len(args) > 1 else "r")
            if not isinstance(target, (str, bytes, os.PathLike)):
                return                                      # an open file descriptor: not a new file
            name = os.path.realpath(os.fsdecode(target))
            is_code = name.endswith((".py", ".pyc", ".so", ".pth", ".json", ".typed")) and \
                any(name.startswith(root) for root in code_roots) and (mode or "r").startswith("r")
            if is_code or name in allowed or name.startswith("/dev/") or name.startswith("/proc/"):
                return
            seen.append(f"open {name} ({mode})")
        else:
            seen.append(f"{event} {args[0] if args else ''}"[:200])

    sys.addaudithook(hook)
    spec = importlib.util.spec_from_file_location(f"audited_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the DagBag above reports import errors; here only the I/O matters
        seen.append(f"import failed: {type(exc).__name__}")
    finally:
        active[0] = False                                   # audit hooks cannot be removed, only silenced
    return seen


def _test(folder: str, dag_id: str, conf: str | None) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=folder, safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    started = time.monotonic()
    dag_run = bag.dags[dag_id].test(run_conf=json.loads(conf) if conf else None)
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        note = session.get(DagRun, dag_run.id).note
    return {"seconds": time.monotonic() - started, "state": str(dag_run.state), "note": note,
            "tasks": {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}}


if __name__ == "__main__":
    command, folder, *rest = sys.argv[1:]
    result = _parse(folder) if command == "parse" else _test(folder, rest[0], rest[1] if len(rest) > 1 else None)
    print("RESULT " + json.dumps(result, default=str), flush=True)
