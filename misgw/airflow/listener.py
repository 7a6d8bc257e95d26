"""Writes each MIS Gateway DAG run's note: the run summary an operator reads in the Airflow UI without opening logs.

Airflow calls these hooks in the scheduler when a DAG run ends, on the DagRun it holds in its session,
so the note is saved with the run's own state change; no API call, no credentials.
"""
from __future__ import annotations

import logging

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)


@hookimpl
def on_dag_run_success(dag_run, msg: str):
    _write_note(dag_run)


@hookimpl
def on_dag_run_failed(dag_run, msg: str):
    _write_note(dag_run)


def _write_note(dag_run) -> None:
    if not str(dag_run.dag_id).startswith("misgw_"):
        return
    try:
        from misgw.reports import run_note

        note = run_note(dag_run.dag_id, dag_run.run_id)
        if not note:
            return
        from sqlalchemy.orm import object_session

        if object_session(dag_run) is not None:
            dag_run.note = note          # the scheduler's own session: saved with the run's state
            return
        # A DagRun no session holds (dag.test()): save the note in a session of its own.
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        with create_session() as session:
            session.get(DagRun, dag_run.id).note = note
    except Exception as exc:  # noqa: BLE001 - a note must never break the scheduler
        log.warning("MIS Gateway: no note on %s %s: %s", dag_run.dag_id, dag_run.run_id, exc)
