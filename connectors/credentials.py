"""Credentials of a database or web service: an Airflow connection, never the sources file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from connectors.base import SourceError


@dataclass(frozen=True)
class Credentials:
    """The fields of an Airflow connection a connector needs."""
    conn_id: str
    conn_type: str | None
    host: str | None
    port: int | None
    login: str | None
    password: str | None = field(repr=False)
    schema: str | None = None
    extra: dict = field(default_factory=dict)

    def describe(self) -> str:
        """Where it points, without secrets: for messages and logs."""
        where = self.host or self.extra.get("dbq") or self.extra.get("DBQ") or self.schema or self.extra.get("dsn")
        return f"connection '{self.conn_id}' ({where or 'no host'})"


def airflow_connection(conn_id: str) -> Credentials:
    """The Airflow connection `conn_id`.

    Inside an Airflow task it comes from the task's Airflow (the UI's connections, secrets backends).
    Elsewhere (the CLI) it is looked up in a child process, by the secrets backends Airflow reads
    outside a task (the environment variable AIRFLOW_CONN_<ID> first): importing Airflow reconfigures
    logging for the whole process, and the CLI's output must stay its own.
    """
    if "airflow.sdk.execution_time.task_runner" in sys.modules:
        return _lookup(conn_id)
    written = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}", "").strip()
    if written.startswith("{"):
        # Airflow's own JSON form, read as Airflow reads it: the child process (1.4 s, most of it importing
        # Airflow) is needed only for the URI form and the other secrets backends.
        return _from_json(conn_id, written)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                        os.environ.get("PYTHONPATH", "")]))
    try:
        done = subprocess.run([sys.executable, "-m", "connectors.credentials", conn_id], capture_output=True,
                              text=True, timeout=120, env=env)
    except subprocess.TimeoutExpired:
        raise SourceError(f"Looking up the Airflow connection '{conn_id}' took more than 120 s.") from None
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("CREDENTIALS ")]
    if not lines:
        tail = " ".join(done.stderr.split())[-300:]
        raise SourceError(f"Could not look up the Airflow connection '{conn_id}': {tail or 'no answer'}.")
    answer = json.loads(lines[-1][len("CREDENTIALS "):])
    if "error" in answer:
        raise SourceError(answer["error"])
    return Credentials(**answer)


def _from_json(conn_id: str, written: str) -> Credentials:
    """AIRFLOW_CONN_<ID> in JSON, with Airflow's rules (Connection.from_json): extra as an object or a JSON
    text, port a whole number, "postgresql" named "postgres" and dashes in the type as underscores."""
    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    try:
        fields = json.loads(written)
        extra = fields.get("extra") or {}
        extra = json.loads(extra) if isinstance(extra, str) else dict(extra)
        port = int(fields["port"]) if fields.get("port") not in (None, "") else None
    except (ValueError, TypeError, AttributeError) as exc:
        raise SourceError(f"The environment variable {name} is not a connection in Airflow's JSON form: {exc}.") \
            from None
    conn_type = fields.get("conn_type")
    if conn_type == "postgresql":
        conn_type = "postgres"
    elif conn_type:
        conn_type = conn_type.replace("-", "_")
    return Credentials(conn_id=conn_id, conn_type=conn_type, host=fields.get("host"), port=port,
                       login=fields.get("login"), password=fields.get("password"), schema=fields.get("schema"),
                       extra=extra)


def _lookup(conn_id: str) -> Credentials:
    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError as exc:  # pragma: no cover - Airflow is a dependency
        raise SourceError(f"Airflow is needed to read connection '{conn_id}': {exc}") from None
    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        raise SourceError(
            f"The Airflow connection '{conn_id}' is not defined. Add it in the Airflow UI (Admin → Connections), "
            f"with `airflow connections add {conn_id} ...`, or as the environment variable "
            f"AIRFLOW_CONN_{conn_id.upper()}.") from None
    return Credentials(conn_id=conn_id, conn_type=conn.conn_type, host=conn.host, port=conn.port,
                       login=conn.login, password=conn.password, schema=conn.schema,
                       extra=dict(conn.extra_dejson or {}))


if __name__ == "__main__":
    # The child process: one line on stdout, whatever Airflow logs elsewhere.
    try:
        result = asdict(_lookup(sys.argv[1]))
    except SourceError as exc:
        result = {"error": str(exc)}
    sys.stdout.flush()
    print("CREDENTIALS " + json.dumps(result), flush=True)
