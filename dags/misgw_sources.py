"""One DAG per source in misgw.yaml, and one province DAG on their Assets: wiring only; every step is misgw code.

Parsing this file reads the sources file once and nothing else: misgw.pipeline (and with it the
database and the readers) is imported inside the tasks. A missing or invalid sources file builds
no DAGs and logs one line naming the problem; the DAG processor goes on with its other files.

    start → extract → map_validate → reconcile → brake ─→ approve ──→ load → report → publish (Asset)
                                                      └→ no_approval ┘   └→ closed (rejected: nothing loaded)
    mark_failed: only when a step failed for good (the reason on the sync run, alerts, a red DAG run)
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, Asset, BaseNotifier, Param, task

log = logging.getLogger(__name__)
CONFIG = os.environ.get("MISGW_CONFIG") or str(Path(__file__).resolve().parents[1] / "misgw.yaml")

# reconcile runs before load: it classifies the staged households (new, changed, unchanged, moved,
# missing, conflict) against the MIS as it stands *before* this run's merge; after the load every
# household would look unchanged.
STAGES = ("extract", "map_validate", "reconcile")
RESPONSE_TIMEOUT = dt.timedelta(days=7)   # unanswered, an approval request is a Reject: nothing loads


def registry_asset(province_code: str) -> Asset:
    """Updated by every source DAG that loads; the province DAG runs on it."""
    return Asset(name=f"misgw_registry_{province_code}", uri=f"misgw://province/{province_code}/registry")


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
        if getattr(exc, "retryable", False):    # another run of the source is under way: wait and retry
            raise
        raise AirflowFailException(str(exc)) from None
    except (Exception, AirflowTaskTimeout) as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        ti.xcom_push("error", f"Unexpected error ({type(exc).__name__}): {first[:300]}")
        raise


def _stage(name: str, **task_args):
    """A task that runs one stage on the sync run id and hands the id on (never the data)."""

    @task(task_id=name, **task_args)
    def run_stage(sync_run: str, ti=None) -> str:  # not "run_id": that is Airflow's own context key
        result = _call(ti, name, sync_run)
        log.info("%s: %s", name, {k: v for k, v in result.items() if k not in ("mapping", "changed_fields")})
        return sync_run

    return run_stage


class ApprovalAlert(BaseNotifier):
    """Tells the configured people that a run waits for their approval (e-mail, webhook)."""

    def __init__(self, source_id: str):
        super().__init__()
        self.source_id = source_id

    def notify(self, context) -> None:
        from misgw import alerts
        from misgw.config import load_config

        config = load_config(CONFIG)
        figures = context["ti"].xcom_pull(task_ids="brake", key="approval") or {}
        text = context["ti"].xcom_pull(task_ids="brake", key="approval_body") or ""
        dag_run = context["dag_run"]
        alerts.send(config.alerts, "awaiting_approval",
                    f"[MIS Gateway] {self.source_id}: lần chạy chờ phê duyệt / a run waits for approval", text,
                    {"source_id": self.source_id, "dag_id": dag_run.dag_id, "dag_run_id": dag_run.run_id,
                     "figures": figures})


class LoadApproval(ApprovalOperator):
    """The approval of a large load; the answer (who, when, which) is kept on the sync run for the record."""

    def execute_complete(self, context, event):
        if "error" not in event:
            from misgw import pipeline

            pipeline.record_approval(context["ti"].xcom_pull(task_ids="start"), event)
        return super().execute_complete(context, event)


def build(source, config) -> DAG:
    tags = ["misgw", f"province:{config.province_code}", f"kind:{source.kind}"]
    if source.district_code:  # a province-wide source has no district
        tags.append(f"district:{source.district_code}")
    params = {
        "dry_run": Param(False, type="boolean",
                         description="Validate and reconcile only; write nothing to the central tables."),
        "full_reload": Param(False, type="boolean",
                             description="Read everything again: ignore the source's bookmark and snapshot."),
    }
    if source.kind == "spreadsheet":
        params["files"] = Param([], type="array", items={"type": "string", "minLength": 1},
                                description="Read only these files of the source's folder (names); empty: all.")
    with DAG(
        dag_id=f"misgw_{source.id.replace('-', '_')}",
        schedule=source.schedule,
        start_date=dt.datetime(2025, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=tags,
        params=params,
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
               f"{_share(source.approval_share)} of the district) → load → report; tasks pass the sync run id "
               "only. If any of them fails for good, `mark_failed` marks the sync run failed with the reason.",
    ) as dag:

        @task
        def start(params=None, ti=None, dag_run=None) -> str:
            params = params or {}
            return _call(ti, "start_run", CONFIG, source.id, dry_run=bool(params.get("dry_run")),
                         files=list(params.get("files") or []) or None, full=bool(params.get("full_reload")),
                         airflow={"dag_id": dag_run.dag_id, "run_id": dag_run.run_id})

        @task.branch(retries=0)
        def brake(sync_run: str, ti=None) -> str:
            """Does this run change more of its district than allowed? Then a person decides first."""
            figures = _call(ti, "approval_needed", sync_run)
            if not figures:
                return "no_approval"
            from misgw import pipeline

            figures["wait_days"] = RESPONSE_TIMEOUT.days
            ti.xcom_push("approval", figures)
            ti.xcom_push("approval_body", pipeline.approval_text(figures))
            return "approve"

        approve = LoadApproval(
            task_id="approve",
            subject=f"MIS Gateway – {source.id}: tải lên khi thay đổi lớn? / load a large change?",
            body="{{ ti.xcom_pull(task_ids='brake', key='approval_body') }}",
            defaults="Reject", response_timeout=RESPONSE_TIMEOUT, execution_timeout=None, retries=0,
            notifiers=[ApprovalAlert(source.id)],
        )
        no_approval = EmptyOperator(task_id="no_approval")

        @task(trigger_rule="none_failed_min_one_success")
        def load(sync_run: str, ti=None) -> str:
            result = _call(ti, "load", sync_run)
            log.info("load: %s", result)
            return sync_run

        @task
        def report(sync_run: str, ti=None) -> dict:
            summary = _call(ti, "report", sync_run)
            from misgw.pipeline import _one_line

            log.info("%s", _one_line(summary))
            return {k: summary[k] for k in ("run_id", "status", "dry_run", "unchanged_at_source", "rows_read",
                                            "households_accepted", "rows_rejected", "reconcile", "fixup_workbooks")}

        @task(outlets=[registry_asset(config.province_code)])
        def publish(summary: dict) -> None:
            """The province's registry changed: its DAG runs next. A dry run, or a source where nothing
            changed, changed nothing: no Asset event, no province run."""
            if summary["dry_run"] or summary["unchanged_at_source"]:
                from airflow.sdk.exceptions import AirflowSkipException

                from misgw import province

                # No province run follows, yet this district's last attempt changed: the summary says so.
                province.report(CONFIG, trigger=f"source:{source.id}:{summary['run_id']}")
                raise AirflowSkipException("the registry did not change")

        @task(trigger_rule="all_skipped", retries=0)
        def closed(ti=None) -> None:
            """The load was skipped because a person rejected the run (or nobody answered): nothing loaded."""
            from misgw import pipeline

            sync_run = ti.xcom_pull(task_ids="start")
            reason = pipeline.rejection_reason(sync_run)
            _call(ti, "close_unloaded", sync_run, "rejected", reason)
            log.info("%s", reason)

        @task(trigger_rule="one_failed", retries=0)
        def mark_failed(ti=None, run_id=None, dag_run=None) -> None:
            """Runs only when a task failed for good: marks the sync run failed, alerts, then fails itself.

            It is a leaf of the DAG, and Airflow judges a DAG run by its leaves: were this task to
            succeed, the DAG run would show green after a failed sync (Airflow's "watcher" pattern).
            """
            from airflow.sdk.exceptions import AirflowFailException

            from misgw import alerts, pipeline
            from misgw.config import load_config
            from misgw.reasons import vietnamese

            errors = [e for e in ti.xcom_pull(task_ids=["start", *STAGES, "brake", "load", "report"], key="error")
                      if e]
            reason = "; ".join(errors) or f"An Airflow task timed out or lost its worker; see DAG run {run_id}."
            sync_run = ti.xcom_pull(task_ids="start")
            if sync_run:
                pipeline.fail_run(sync_run, reason)
            try:   # the province summary shows the failure now, not after the next load
                from misgw import province

                province.report(CONFIG, trigger=f"failed:{source.id}:{sync_run or '-'}")
            except Exception as exc:  # the failure's own reason and alert matter more
                log.warning("province summary not refreshed: %s", exc)
            alerts.send(load_config(CONFIG).alerts, "failed", f"[MIS Gateway] {source.id}: đồng bộ thất bại / sync failed",
                        f"Nguồn {source.id}, lần chạy {sync_run or '-'}: {vietnamese(reason)}\n\n{reason}",
                        {"source_id": source.id, "sync_run": sync_run, "dag_id": dag_run.dag_id,
                         "dag_run_id": dag_run.run_id, "error": reason})
            raise AirflowFailException(f"Sync run {sync_run or '(not started)'} failed: {reason}")

        first = start()
        tasks = [first]
        last = first
        for name in STAGES:
            last = _stage(name, **({"pool": source.pool} if source.pool and name == "extract" else {}))(last)
            tasks.append(last)
        braked = brake(last)
        braked >> [approve, no_approval]
        loaded = load(last)
        [approve, no_approval] >> loaded
        summary = report(loaded)
        published = publish(summary)
        loaded >> closed()
        tasks += [braked, approve, loaded, summary, published]
        mark_failed().set_upstream(tasks)
    return dag


def build_province(config) -> DAG:
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
            from mis import db
            from misgw import province

            with db.get_engine().connect() as conn:
                found = province.cross_district_conflicts(conn, code)
            for c in found[:20]:
                log.warning("same ID %s in districts %s: %s", c["id_number"], ", ".join(c["districts"]),
                            ", ".join(c["households"]))
            log.info("cross-district conflicts: %d people listed in two districts", len(found))
            return len(found)

        @task
        def poverty_movement() -> list:
            import sqlalchemy as sa

            from mis import db, poverty

            with db.get_engine().connect() as conn:
                year = conn.execute(sa.text("SELECT max(assessment_year) FROM mis.poverty_assessment")).scalar()
                rows = poverty.movement(conn, year, "district") if year else []
            for r in rows:
                log.info("%s %s: poor %s%%, escaped %s, newly poor %s, fell back %s", year, r["unit"],
                         r["poor_rate"], r["escaped"], r["newly_poor"], r["fell_back"])
            return rows

        @task
        def province_summary(run_id=None) -> dict:
            from misgw import province

            body = province.report(CONFIG, trigger=f"airflow:{run_id}")
            log.info("province %s: %d sources, %d cross-district conflicts", code, len(body["sources"]),
                     len(body["cross_district_conflicts"]))
            return {"sources": len(body["sources"]), "conflicts": len(body["cross_district_conflicts"])}

        [cross_district_conflicts(), poverty_movement()] >> province_summary()
    return dag


def _share(value) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _dags() -> dict[str, DAG]:
    from misgw.config import ConfigError, load_config

    try:
        config = load_config(CONFIG)
    except ConfigError as exc:
        # A bad sources file must not break the DAG processor: no DAGs, and the reason in its log.
        # (Any other exception is a bug, and shows as an import error in the UI.)
        log.error("MIS Gateway: no DAGs built: %s", exc)
        return {}
    dags = {d.dag_id: d for d in (build(s, config) for s in config.sources)}
    province = build_province(config)
    dags[province.dag_id] = province
    return dags


globals().update(_dags())
