"""One DAG per source in misgw.yaml: wiring only; every stage is a function of misgw.pipeline.

Parsing this file reads the sources file once and nothing else: misgw.pipeline (and with it the
database and the readers) is imported inside the tasks. A missing or invalid sources file builds
no DAGs and logs one line naming the problem; the DAG processor goes on with its other files.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from airflow.sdk import DAG, Param, task

log = logging.getLogger(__name__)
CONFIG = os.environ.get("MISGW_CONFIG") or str(Path(__file__).resolve().parents[1] / "misgw.yaml")

# reconcile runs before load: it classifies the staged households (new, changed, unchanged, moved,
# missing, conflict) against the MIS as it stands *before* this run's merge; after the load every
# household would look unchanged.
STAGES = ("extract", "map_validate", "reconcile", "load", "report")


def _call(ti, stage: str, *args, **kwargs):
    """Call one pipeline function, keeping the reason of a failure as XCom "error" for mark_failed.

    A problem the district or provincial IT must fix (a bad file, unknown headers) fails at once:
    retrying cannot fix it. Anything else (database or network trouble) is retried with backoff.
    The reasons read as the CLI's (misgw.pipeline.run_source), so the run history looks the same
    whoever ran the source; the sync run row already says which stage it reached.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowTaskTimeout

    from misgw import pipeline
    from misgw.errors import UserError

    try:
        return getattr(pipeline, stage)(*args, **kwargs)
    except UserError as exc:
        ti.xcom_push("error", str(exc))
        raise AirflowFailException(str(exc)) from None
    except (Exception, AirflowTaskTimeout) as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        ti.xcom_push("error", f"Unexpected error ({type(exc).__name__}): {first[:300]}")
        raise


def _stage(name: str):
    """A task that runs one stage on the sync run id and hands the id on (never the data)."""

    @task(task_id=name)
    def run_stage(sync_run: str, ti=None) -> str:  # not "run_id": that is Airflow's own context key
        result = _call(ti, name, sync_run)
        log.info("%s: %s", name, {k: v for k, v in result.items() if k != "mapping"})
        return sync_run

    return run_stage


def build(source, province_code: str) -> DAG:
    tags = ["misgw", f"province:{province_code}", f"kind:{source.kind}"]
    if source.district_code:  # a province-wide source has no district
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
        default_args={
            "retries": 2,
            "retry_delay": dt.timedelta(minutes=1),
            "retry_exponential_backoff": 2.0,  # Airflow 3: the multiplier (1 min, then 2 min); 0 or 1 = none
            "max_retry_delay": dt.timedelta(minutes=30),
            "execution_timeout": dt.timedelta(hours=2),
        },
        doc_md=f"Source `{source.id}` ({source.kind}) of province {province_code}. "
               "Stages: extract → map_validate → reconcile → load → report; tasks pass the sync run id only. "
               "If any of them fails for good, `mark_failed` marks the sync run failed with the reason.",
    ) as dag:

        @task
        def start(params=None, ti=None) -> str:
            return _call(ti, "start_run", CONFIG, source.id, dry_run=bool((params or {}).get("dry_run")))

        @task(trigger_rule="one_failed", retries=0)
        def mark_failed(ti=None, run_id=None) -> None:
            """Runs only when a task failed for good: marks the sync run failed, then fails itself.

            It is the DAG's only leaf, and Airflow judges a DAG run by its leaves: were this task to
            succeed, the DAG run would show green after a failed sync (Airflow's "watcher" pattern).
            """
            from airflow.sdk.exceptions import AirflowFailException

            from misgw import pipeline

            errors = [e for e in ti.xcom_pull(task_ids=["start", *STAGES], key="error") if e]
            reason = "; ".join(errors) or f"An Airflow task timed out or lost its worker; see DAG run {run_id}."
            sync_run = ti.xcom_pull(task_ids="start")
            if sync_run:
                pipeline.fail_run(sync_run, reason)
            raise AirflowFailException(f"Sync run {sync_run or '(not started)'} failed: {reason}")

        first = start()
        last, tasks = first, [first]
        for name in STAGES:
            last = _stage(name)(last)
            tasks.append(last)
        mark_failed().set_upstream(tasks)
    return dag


def _dags() -> dict[str, DAG]:
    from misgw.config import ConfigError, load_config

    try:
        config = load_config(CONFIG)
    except ConfigError as exc:
        # A bad sources file must not break the DAG processor: no DAGs, and the reason in its log.
        # (Any other exception is a bug, and shows as an import error in the UI.)
        log.error("MIS Gateway: no DAGs built: %s", exc)
        return {}
    return {d.dag_id: d for d in (build(s, config.province_code) for s in config.sources)}


globals().update(_dags())
