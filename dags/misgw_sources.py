"""One DAG per source in misgw.yaml: wiring only; every stage is a function of misgw.pipeline."""
from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from airflow.sdk import DAG, Param, task

log = logging.getLogger(__name__)
CONFIG = os.environ.get("MISGW_CONFIG") or str(Path(__file__).resolve().parents[1] / "misgw.yaml")


def _stage(name: str):
    """A task that runs one pipeline stage on the run id and hands the run id on.

    A problem the district or provincial IT must fix (a bad file, unknown headers) fails at once:
    retrying cannot fix it. Anything else (database or network trouble) is retried with backoff.
    """

    @task(task_id=name)
    def run_stage(sync_run: str) -> str:  # "run_id" is Airflow's own context key
        from airflow.sdk.exceptions import AirflowFailException

        from misgw import pipeline
        from misgw.errors import UserError

        try:
            result = getattr(pipeline, name)(sync_run)
        except UserError as exc:
            raise AirflowFailException(str(exc)) from None
        log.info("%s: %s", name, {k: v for k, v in result.items() if k != "mapping"})
        return sync_run

    return run_stage


def build(source, province_code: str) -> DAG:
    tags = ["misgw", f"province:{province_code}", f"kind:{source.kind}"]
    if source.district_code:
        tags.append(f"district:{source.district_code}")
    with DAG(
        dag_id=f"misgw_{source.id.replace('-', '_')}",
        description=f"Sync source '{source.id}' into the MIS",
        schedule=source.schedule,
        start_date=dt.datetime(2025, 7, 1, tzinfo=dt.timezone.utc),
        catchup=False,
        max_active_runs=1,
        tags=tags,
        params={"dry_run": Param(False, type="boolean",
                                 description="Validate and reconcile only; write nothing to the central tables.")},
        default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=1), "retry_exponential_backoff": True,
                      "max_retry_delay": dt.timedelta(minutes=30), "execution_timeout": dt.timedelta(hours=2)},
        doc_md=f"Source `{source.id}` ({source.kind}) of province {province_code}. "
               "Stages: extract → map_validate → reconcile → load → report; tasks pass the run id only.",
    ) as dag:

        @task
        def start(params=None) -> str:
            from misgw import pipeline

            return pipeline.start_run(CONFIG, source.id, dry_run=bool((params or {}).get("dry_run")))

        @task(trigger_rule="one_failed", retries=0)
        def mark_failed(sync_run: str) -> None:
            from misgw import pipeline

            pipeline.fail_run(sync_run, "An Airflow task of this run failed; see its log.")

        sync_run = start()
        last, done = sync_run, []
        for name in ("extract", "map_validate", "reconcile", "load", "report"):
            last = _stage(name)(last)
            done.append(last)
        mark_failed(sync_run).set_upstream(done)
    return dag


def _dags() -> dict[str, DAG]:
    from misgw.config import ConfigError, load_config

    try:
        config = load_config(CONFIG)
    except ConfigError as exc:
        # A bad sources file must not break the scheduler: no DAGs, and the reason in the log.
        log.error("MIS Gateway: no DAGs built: %s", exc)
        return {}
    return {d.dag_id: d for d in (build(s, config.province_code) for s in config.sources)}


globals().update(_dags())
