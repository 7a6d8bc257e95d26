"""The DAGs of a sources file: one per source (its stages, the approval brake, the failure watcher) and one
per province on their Assets. Built from the sources file alone: parsing imports no stage, database or reader.

    start → extract → map_validate → reconcile → brake ─→ approve ──→ load → report → publish (Asset)
                                                      └→ no_approval ┘   └→ closed (rejected: nothing loaded)
    mark_failed: only when a step failed for good (the reason on the sync run, alerts, a red DAG run)
"""
from __future__ import annotations

import datetime as dt
import logging

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, Param, task

from misgw.airflow import tasks
from misgw.airflow.approval import ApprovalAlert, LoadApproval

log = logging.getLogger(__name__)
RESPONSE_TIMEOUT = dt.timedelta(days=7)   # unanswered, an approval request is a Reject: nothing loads


def registry_asset(province_code: str) -> Asset:
    """Updated by every source DAG that loads; the province DAG runs on it."""
    return Asset(name=f"misgw_registry_{province_code}", uri=f"misgw://province/{province_code}/registry")


def all_dags(config_path: str) -> dict[str, DAG]:
    """Every DAG of the sources file by id; none when the file is missing or invalid (the reason logged)."""
    from misgw.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        # A bad sources file must not break the DAG processor: no DAGs, and the reason in its log.
        # (Any other exception is a bug, and shows as an import error in the UI.)
        log.error("MIS Gateway: no DAGs built: %s", exc)
        return {}
    dags = {d.dag_id: d for d in (source_dag(s, config, config_path) for s in config.sources)}
    province = province_dag(config, config_path)
    dags[province.dag_id] = province
    return dags


def _stage(name: str, **task_args):
    """A task that runs one stage on the sync run id and hands the id on (never the data)."""

    @task(task_id=name, **task_args)
    def run_stage(sync_run: str, ti=None) -> str:  # not "run_id": that is Airflow's own context key
        result = tasks.call(ti, name, sync_run)
        log.info("%s: %s", name, {k: v for k, v in result.items() if k not in ("mapping", "changed_fields")})
        return sync_run

    return run_stage


def _params(source) -> dict:
    params = {
        "dry_run": Param(False, type="boolean",
                         description="Validate and reconcile only; write nothing to the central tables."),
        "full_reload": Param(False, type="boolean",
                             description="Read everything again: ignore the source's bookmark and snapshot."),
    }
    if source.kind == "spreadsheet":
        params["files"] = Param([], type="array", items={"type": "string", "minLength": 1},
                                description="Read only these files of the source's folder (names); empty: all.")
    return params


def source_dag(source, config, config_path: str) -> DAG:
    tags = ["misgw", f"province:{config.province_code}", f"kind:{source.kind}"]
    if source.district_code:  # a province-wide source has no district
        tags.append(f"district:{source.district_code}")
    share = "—" if source.approval_share is None else f"{100 * source.approval_share:.0f}%"
    with DAG(
        dag_id=f"misgw_{source.id.replace('-', '_')}",
        schedule=source.schedule,
        start_date=dt.datetime(2025, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=tags,
        params=_params(source),
        default_args={
            "retries": 2,
            "retry_delay": dt.timedelta(minutes=1),
            "retry_exponential_backoff": 2.0,  # Airflow 3: the multiplier (1 min, then 2 min); 0 or 1 = none
            "max_retry_delay": dt.timedelta(minutes=30),
            "execution_timeout": dt.timedelta(hours=2),
            "queue": source.queue,
        },
        doc_md=f"Source `{source.id}` ({source.kind}) of province {config.province_code}. "
               "Stages: extract → map_validate → reconcile → (approval, when the run would change more than "
               f"{share} of the district) → load → report; tasks pass the sync run id "
               "only. If any of them fails for good, `mark_failed` marks the sync run failed with the reason.",
    ) as dag:

        @task
        def start(params=None, ti=None, dag_run=None) -> str:
            params = params or {}
            return tasks.call(ti, "start_run", config_path, source.id, dry_run=bool(params.get("dry_run")),
                              files=list(params.get("files") or []) or None, full=bool(params.get("full_reload")),
                              airflow={"dag_id": dag_run.dag_id, "run_id": dag_run.run_id})

        @task.branch(retries=0)
        def brake(sync_run: str, ti=None) -> str:
            """Does this run change more of its district than allowed? Then a person decides first."""
            return "approve" if tasks.approval_request(ti, sync_run, RESPONSE_TIMEOUT.days) else "no_approval"

        approve = LoadApproval(
            task_id="approve",
            subject=f"MIS Gateway – {source.id}: tải lên khi thay đổi lớn? / load a large change?",
            body="{{ ti.xcom_pull(task_ids='brake', key='approval_body') }}",
            defaults="Reject", response_timeout=RESPONSE_TIMEOUT, execution_timeout=None, retries=0,
            notifiers=[ApprovalAlert(source.id, config_path)],
        )
        no_approval = EmptyOperator(task_id="no_approval")

        @task(trigger_rule="none_failed_min_one_success")
        def load(sync_run: str, ti=None) -> str:
            log.info("load: %s", tasks.call(ti, "load", sync_run))
            return sync_run

        @task
        def report(sync_run: str, ti=None) -> dict:
            return tasks.report_summary(ti, sync_run)

        @task(outlets=[registry_asset(config.province_code)])
        def publish(summary: dict) -> None:
            """The province's registry changed: its DAG runs next. A dry run, or a source where nothing
            changed, changed nothing: no Asset event, no province run."""
            if summary["dry_run"] or summary["unchanged_at_source"]:
                from airflow.sdk.exceptions import AirflowSkipException

                from misgw import province

                # No province run follows, yet this district's last attempt changed: the summary says so.
                province.report(config_path, trigger=f"source:{source.id}:{summary['run_id']}")
                raise AirflowSkipException("the registry did not change")

        @task(trigger_rule="all_skipped", retries=0)
        def closed(ti=None) -> None:
            """The load was skipped because a person rejected the run (or nobody answered): nothing loaded."""
            tasks.close_rejected(ti)

        @task(trigger_rule="one_failed", retries=0)
        def mark_failed(ti=None, run_id=None, dag_run=None) -> None:
            """Runs only when a task failed for good: the sync run failed, alerts, then fails itself."""
            tasks.fail_sync(ti, config_path, source.id, dag_run, run_id)

        first = start()
        steps = [first]
        last = first
        for name in tasks.STAGES:
            last = _stage(name, **({"pool": source.pool} if source.pool and name == "extract" else {}))(last)
            steps.append(last)
        braked = brake(last)
        braked >> [approve, no_approval]
        loaded = load(last)
        [approve, no_approval] >> loaded
        summary = report(loaded)
        published = publish(summary)
        loaded >> closed()
        steps += [braked, approve, loaded, summary, published]
        mark_failed().set_upstream(steps)
    return dag


def province_dag(config, config_path: str) -> DAG:
    code = config.province_code
    with DAG(
        dag_id=f"misgw_province_{code}",
        schedule=[registry_asset(code)],
        start_date=dt.datetime(2025, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["misgw", f"province:{code}", "kind:province"],
        default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=1), "retry_exponential_backoff": 2.0,
                      "execution_timeout": dt.timedelta(hours=1)},
        doc_md=f"Province {code}, after any of its districts loads: cross-district conflicts (the same ID "
               "number in two districts), poverty movement, and the province summary (`mis.province_report`).",
    ) as dag:

        @task
        def cross_district_conflicts() -> int:
            return tasks.cross_district_conflicts(code)

        @task
        def poverty_movement() -> list:
            return tasks.poverty_movement()

        @task
        def province_summary(run_id=None) -> dict:
            return tasks.province_summary(config_path, code, run_id)

        [cross_district_conflicts(), poverty_movement()] >> province_summary()
    return dag
