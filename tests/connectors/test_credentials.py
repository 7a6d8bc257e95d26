"""Airflow connections read by the CLI: the JSON form in-process, exactly as Airflow reads it; the rest through Airflow."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from connectors import credentials
from connectors.base import SourceError

real_run = subprocess.run

FORMS = [
    {"conn_type": "odbc", "extra": {"driver": "SQLite3", "Database": "/srv/huyen/ho_ngheo.sqlite"}},
    {"conn_type": "postgresql", "host": "10.0.3.7", "port": "5433", "login": "xa_an_binh", "password": "m@t khẩu",
     "schema": "btxh"},
    {"conn_type": "generic-odbc", "host": "127.0.0.1", "port": 3306, "extra": json.dumps({"driver": "MariaDB"})},
    {"conn_type": "http", "host": "http://127.0.0.1:8081", "login": "cb_xa", "password": "x", "extra": ""},
]


@pytest.mark.parametrize("fields", FORMS, ids=["odbc-extra-object", "postgresql-port-text", "dash-extra-text", "http"])
def test_the_json_form_reads_as_airflow_reads_it_without_starting_airflow(monkeypatch, fields):
    monkeypatch.setenv("AIRFLOW_CONN_HUYEN_DB", json.dumps(fields, ensure_ascii=False))
    started = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: started.append(a) or real_run(*a, **k))
    ours = credentials.airflow_connection("huyen_db")
    assert started == []                       # no child process, no Airflow import
    assert dataclasses.asdict(ours) == _airflows_answer("huyen_db")


def _airflows_answer(conn_id: str) -> dict:
    """What Airflow's own secrets backends say, asked in a process of their own (importing Airflow here
    would make every later lookup of this test process look like one inside an Airflow task)."""
    done = real_run([sys.executable, "-c", "import dataclasses, json, sys; from connectors.credentials import _lookup; "
                     f"print(json.dumps(dataclasses.asdict(_lookup({conn_id!r}))))"],
                    capture_output=True, text=True, env=dict(os.environ), check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_the_uri_form_is_still_read_by_airflow(monkeypatch):
    assert "airflow.sdk.execution_time.task_runner" not in sys.modules   # the CLI's path, not a task's
    monkeypatch.setenv("AIRFLOW_CONN_HUYEN_API", "http://cb_xa:b%C3%AD%20m%E1%BA%ADt@127.0.0.1:8081/api?timeout=30")
    found = credentials.airflow_connection("huyen_api")
    assert (found.conn_type, found.host, found.port, found.login, found.password) == \
        ("http", "127.0.0.1", 8081, "cb_xa", "bí mật")
    assert found.extra == {"timeout": "30"}


def test_a_broken_json_connection_is_named_not_a_traceback(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_HUYEN_DB", '{"conn_type": "odbc", "port": "năm"}')
    with pytest.raises(SourceError, match="AIRFLOW_CONN_HUYEN_DB .*JSON form"):
        credentials.airflow_connection("huyen_db")
