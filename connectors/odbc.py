"""Reads a table or a query of a legacy database (Access, SQL Server, MySQL/MariaDB, PostgreSQL, SQLite) over ODBC.

The read runs in a process of its own (connectors/odbc_worker.py), streamed back in chunks, so that
a driver that crashes (MDBTools on some .accdb files) fails only this source, with a message naming
the driver and the file; connection errors and timeouts are retried with backoff, then fail clearly.
Credentials come from an Airflow connection (the OdbcHook fields: host, port, schema, login,
password; extra: driver or dsn, and any other ODBC attribute such as DBQ for an Access file).
"""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

from connectors.base import Connector, Option, Plan, RawSheet, SourceError
from connectors.credentials import Credentials, airflow_connection

ENCODINGS = ("auto", "windows-1258")
_RESERVED_EXTRA = {"driver", "dsn", "encoding"}


class OdbcSource(Connector):
    """A legacy database table or query. Bookmark: the largest value of `incremental_column` read."""
    kind = "odbc"
    OPTIONS = {
        "conn_id": Option(str, "the Airflow connection with the database's address and credentials", required=True),
        "table": Option(str, "the table or view to read"),
        "query": Option(str, "a SELECT to read instead of a table"),
        "key": Option((str, list), "the column or columns that identify a record (its primary key)"),
        "household_column": Option(str, "the column that holds the household code"),
        "incremental_column": Option(str, "a modified-time or ever-increasing column: each run reads only "
                                          "households with a row above the last run's largest value"),
        "encoding": Option(str, "the code page of the database's text: auto (as the driver gives it; legacy "
                                "TCVN3 and VNI fonts are recognised later) or windows-1258", default="auto",
                           check=lambda v: None if v in ENCODINGS else f"must be one of {', '.join(ENCODINGS)}"),
        "chunk_rows": Option(int, "rows per chunk read", default=5000,
                             check=lambda v: None if v > 0 else "must be positive"),
        "login_timeout": Option(int, "seconds to wait for the database to answer", default=15),
        "query_timeout": Option(int, "seconds a read may go without sending a row before it is stopped",
                                default=600),
        "retries": Option(int, "attempts again after a connection error or a timeout, with backoff", default=3),
    }

    @classmethod
    def check_options(cls, raw: dict, where: str) -> dict:
        options = super().check_options(raw, where)
        if bool(options["table"]) == bool(options["query"]):
            raise SourceError(f"{where}: an odbc source needs exactly one of 'table' or 'query'.")
        if options["incremental_column"] and not options["household_column"]:
            raise SourceError(f"{where}: 'incremental_column' needs 'household_column', so that a changed "
                              "row brings its whole household.")
        if isinstance(options["key"], str):
            options["key"] = [options["key"]]
        return options

    def plan(self, bookmark: dict | None, full: bool = False, only: list[str] | None = None) -> Plan:
        o = self.options
        watermark = None if full or not bookmark else bookmark.get("watermark")
        return Plan(items=[o["table"] or "query"], partial=bool(o["incremental_column"] and watermark is not None),
                    bookmark={"watermark": watermark}, keys=list(o["key"] or []), household=o["household_column"],
                    describe=f"{self.kind} {o['conn_id']} / {o['table'] or 'query'}"
                             + (f" after {o['incremental_column']} {watermark}" if watermark is not None else ""))

    def read(self, plan: Plan) -> Iterator[RawSheet]:
        credentials = airflow_connection(self.options["conn_id"])
        yield RawSheet(_label(credentials), self.options["table"] or "query", self._rows(plan, credentials))

    def _rows(self, plan: Plan, credentials: Credentials) -> Iterator[tuple[int, list]]:
        o = self.options
        driver = credentials.extra.get("driver") or credentials.extra.get("Driver") or "ODBC"
        job = {"connection": connection_string(credentials), "driver": driver, "table": o["table"], "query": o["query"],
               "chunk_rows": o["chunk_rows"], "login_timeout": o["login_timeout"],
               "query_timeout": o["query_timeout"], "encoding": None if o["encoding"] == "auto" else o["encoding"],
               "watermark_column": o["incremental_column"], "household_column": o["household_column"],
               "after": plan.bookmark.get("watermark"),
               # MDBTools' SQL has no WHERE parameters, no ORDER BY, no COUNT, no aliases: read around it.
               "limited_sql": "mdb" in driver.lower()}
        target = _target(credentials, o)
        for attempt in range(o["retries"] + 1):
            worker = _Worker(job, o["query_timeout"] + o["login_timeout"])
            started = False
            try:
                for message in worker.messages():
                    if "columns" in message:
                        started = True
                        if message["columns"]:
                            yield 1, message["columns"]
                        number = 1
                    elif "rows" in message:
                        for values in message["rows"]:
                            number += 1
                            yield number, values
                    elif "damaged" in message:
                        raise SourceError(f"Reading {target} through the ODBC driver {driver} failed: an answer "
                                          f"from the reading process arrived damaged after {number - 1} records. "
                                          f"Nothing of this source is loaded; run it again.")
                    elif "done" in message:
                        if message["done"] != number - 1:
                            raise SourceError(
                                f"Reading {target} through the ODBC driver {driver} failed: the driver read "
                                f"{message['done']} records, {number - 1} arrived. Nothing of this source is "
                                f"loaded; run it again.")
                        if o["incremental_column"]:
                            plan.bookmark = {"watermark": message.get("watermark")}
                        return
                    elif "error" in message:
                        error = message["error"]
                        text = _scrub(error["message"], credentials)
                        if error["kind"] in ("connect", "timeout") and not started and attempt < o["retries"]:
                            raise _Retry(text)
                        raise SourceError(_error_text(error["kind"], driver, target, text, attempt + 1))
                if worker.timed_out:
                    if not started and attempt < o["retries"]:
                        raise _Retry("no answer")
                    raise SourceError(f"Reading {target} through the ODBC driver {driver} stopped: no row for "
                                      f"{o['query_timeout'] + o['login_timeout']} s (after {attempt + 1} attempt(s)).")
                raise SourceError(_crash_text(worker, driver, target, credentials))
            except _Retry as retry:
                delay = min(2 ** attempt, 30)
                sys.stderr.write(f"misgw: {target}: {retry} (attempt {attempt + 1}); trying again in {delay} s\n")
                time.sleep(delay)
            finally:
                worker.stop()


class _Retry(Exception):
    pass


class _Worker:
    """The worker process: its JSON lines, read by a thread so that a silent driver can be timed out."""

    COMMAND = [sys.executable, "-m", "connectors.odbc_worker"]

    def __init__(self, job: dict, timeout: float):
        self.timeout, self.timed_out = timeout, False
        self.stderr: list[str] = []
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                            os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen(self.COMMAND, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdin.write(json.dumps(job).encode())
        self.proc.stdin.close()
        self.lines: queue.Queue = queue.Queue(maxsize=64)
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.decode("utf-8", "replace"))
            del self.stderr[:-20]

    def messages(self) -> Iterator[dict]:
        while True:
            try:
                line = self.lines.get(timeout=self.timeout)
            except queue.Empty:
                self.timed_out = True
                return
            if line is None:
                self.proc.wait()
                return
            try:
                yield json.loads(line)
            except ValueError:
                # Only the worker writes here (a driver's own prints go to its stderr): a line that is not
                # JSON is a damaged answer, and the read stops rather than go on without its rows.
                yield {"damaged": len(line)}
                return

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass


def connection_string(c: Credentials) -> str:
    """The ODBC connection string from the connection's fields, as OdbcHook builds it."""
    parts: dict[str, str] = {}
    extra = {k: v for k, v in c.extra.items() if v is not None}
    lowered = {k.lower(): v for k, v in extra.items()}
    if lowered.get("dsn"):
        parts["DSN"] = str(lowered["dsn"])
    if lowered.get("driver"):
        parts["DRIVER"] = "{" + str(lowered["driver"]).strip("{}") + "}"
    if c.host:
        parts["SERVER"] = c.host
    if c.port:
        parts["PORT"] = str(c.port)
    if c.schema:
        parts["DATABASE"] = c.schema
    if c.login:
        parts["UID"] = c.login
    if c.password:
        parts["PWD"] = "{" + c.password.replace("}", "}}") + "}"
    for key, value in extra.items():
        if key.lower() not in _RESERVED_EXTRA and isinstance(value, (str, int, float)):
            parts[key.upper()] = str(value)
    return "".join(f"{k}={v};" for k, v in parts.items())


def _label(c: Credentials) -> str:
    """The lineage "file" of a database: the Access file's name, or database@host."""
    dbq = next((v for k, v in c.extra.items() if k.lower() == "dbq"), None)
    if dbq:
        return Path(str(dbq)).name
    return f"{c.schema or c.extra.get('dsn') or c.conn_id}@{c.host}" if c.host else str(c.schema or c.conn_id)


def _target(c: Credentials, o: dict) -> str:
    return f"{_label(c)} ({'table ' + o['table'] if o['table'] else 'the configured query'})"


def _scrub(text: str, c: Credentials) -> str:
    """Never a password in a message, whatever the driver echoes."""
    text = re.sub(r"(?i)(pwd|password)\s*=\s*(\{[^}]*\}|[^;]*)", r"\1=***", text)
    return text.replace(c.password, "***") if c.password else text


def _error_text(kind: str, driver: str, target: str, text: str, attempts: int) -> str:
    if kind == "driver":
        return (f"The ODBC driver {driver} is not installed or not registered with unixODBC (odbcinst.ini): "
                f"{text}. See docs/sources.md (ODBC drivers) for the Debian package.")
    if kind == "refused":
        return (f"{target} refused the login through the ODBC driver {driver} (not tried again: repeated attempts "
                f"can lock the account). Check the user and password in the Airflow connection: {text}")
    if kind in ("connect", "timeout"):
        return f"Cannot reach {target} through the ODBC driver {driver} after {attempts} attempt(s): {text}"
    return f"Reading {target} through the ODBC driver {driver} failed: {text}"


def _crash_text(worker: _Worker, driver: str, target: str, c: Credentials) -> str:
    code = worker.proc.returncode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = {"SIGSEGV": "segmentation fault", "SIGABRT": "abort", "SIGBUS": "bus error",
                "SIGKILL": "killed"}.get(name, name)
        return (f"The ODBC driver {driver} crashed ({name}, {what}) while reading {target}. Only this source "
                f"stops; the others go on. Reading this file with this driver is not possible: export the table "
                f"to a workbook, or use another driver.")
    detail = _scrub(" ".join("".join(worker.stderr).split())[-300:], c)
    return f"The ODBC reader of {target} ({driver}) ended unexpectedly (exit {code}){': ' + detail if detail else ''}."
