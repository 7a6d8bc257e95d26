"""What a DAG's tasks run: each misgw step by name, with the reason of a failure kept for mark_failed, and
the ending of a sync run that failed or that a person rejected."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# The stages a task runs before the brake; reconcile runs before load: it classifies the staged households
# (new, changed, unchanged, moved, missing, conflict) against the MIS as it stands *before* this run's
# merge; after the load every household would look unchanged.
STAGES = ("extract", "map_validate", "reconcile")


def step(name: str):
    """The misgw function a task runs, imported when the task runs: parsing a DAG file imports none of it
    (nor the database or the readers)."""
    from misgw import pipeline
    from misgw.stages import approval, outcome

    return {"start_run": pipeline.start_run, "extract": pipeline.extract, "map_validate": pipeline.map_validate,
            "reconcile": pipeline.reconcile, "approval_needed": approval.approval_needed, "load": pipeline.load,
            "report": pipeline.report, "close_unloaded": outcome.close_unloaded}[name]


def call(ti, name: str, *args, **kwargs):
    """Run one step, keeping the reason of a failure as XCom "error" for mark_failed.

    A problem the district or provincial IT must fix (a bad file, unknown headers) fails at once:
    retrying cannot fix it. Anything else (database or network trouble) is retried with backoff.
    The reasons read as the CLI's (misgw.pipeline.run_source), so the run history looks the same
    whoever ran the source; the sync run row already says which stage it reached.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowTaskTimeout

    from common.errors import UserError

    try:
        return step(name)(*args, **kwargs)
    except UserError as exc:
        ti.xcom_push("error", str(exc))
        if getattr(exc, "retryable", False):    # another run of the source is under way: wait and retry
            raise
        raise AirflowFailException(str(exc)) from None
    except (Exception, AirflowTaskTimeout) as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        ti.xcom_push("error", f"Unexpected error ({type(exc).__name__}): {first[:300]}")
        raise


def approval_request(ti, sync_run: str, wait_days: int) -> bool:
    """Does this run change more of its district than allowed? Then the figures and the text a person reads
    go to XCom (the approval task shows them) and it is True."""
    figures = call(ti, "approval_needed", sync_run)
    if not figures:
        return False
    from misgw.stages import approval

    figures["wait_days"] = wait_days
    ti.xcom_push("approval", figures)
    ti.xcom_push("approval_body", approval.text(figures))
    return True


def close_rejected(ti) -> None:
    """The load was skipped because a person rejected the run (or nobody answered): nothing loaded."""
    from misgw.stages import approval

    sync_run = ti.xcom_pull(task_ids="start")
    reason = approval.rejection_reason(sync_run)
    call(ti, "close_unloaded", sync_run, "rejected", reason)
    log.info("%s", reason)


def fail_sync(ti, config_path: str, source_id: str, dag_run, airflow_run_id: str) -> None:
    """A task failed for good: the sync run failed with the reason, the province summary refreshed, the
    alert sent; then this task fails too (it is a leaf, and Airflow judges a DAG run by its leaves: were it
    to succeed, the DAG run would show green after a failed sync, Airflow's "watcher" pattern)."""
    from airflow.sdk.exceptions import AirflowFailException

    from misgw import alerts, province
    from misgw.config import load_config
    from misgw.reasons import vietnamese
    from misgw.stages import outcome

    errors = [e for e in ti.xcom_pull(task_ids=["start", *STAGES, "brake", "load", "report"], key="error") if e]
    reason = "; ".join(errors) or f"An Airflow task timed out or lost its worker; see DAG run {airflow_run_id}."
    sync_run = ti.xcom_pull(task_ids="start")
    if sync_run:
        outcome.fail_run(sync_run, reason)
    try:   # the province summary shows the failure now, not after the next load
        province.report(config_path, trigger=f"failed:{source_id}:{sync_run or '-'}")
    except Exception as exc:  # the failure's own reason and alert matter more
        log.warning("province summary not refreshed: %s", exc)
    alerts.send(load_config(config_path).alerts, "failed", f"[MIS Gateway] {source_id}: đồng bộ thất bại / sync failed",
                f"Nguồn {source_id}, lần chạy {sync_run or '-'}: {vietnamese(reason)}\n\n{reason}",
                {"source_id": source_id, "sync_run": sync_run, "dag_id": dag_run.dag_id,
                 "dag_run_id": dag_run.run_id, "error": reason})
    raise AirflowFailException(f"Sync run {sync_run or '(not started)'} failed: {reason}")


def report_summary(ti, sync_run: str) -> dict:
    """The report step, logged in one line; what the publish task needs of its summary."""
    from misgw.stages.report import one_line

    summary = call(ti, "report", sync_run)
    log.info("%s", one_line(summary))
    return {k: summary[k] for k in ("run_id", "status", "dry_run", "unchanged_at_source", "rows_read",
                                    "households_accepted", "rows_rejected", "reconcile", "fixup_workbooks")}


def cross_district_conflicts(province_code: str) -> int:
    """People listed in two districts of the province at once: logged (the first 20), counted."""
    from mis import db
    from misgw import province

    with db.get_engine().connect() as conn:
        found = province.cross_district_conflicts(conn, province_code)
    for c in found[:20]:
        log.warning("same ID %s in districts %s: %s", c["id_number"], ", ".join(c["districts"]),
                    ", ".join(c["households"]))
    log.info("cross-district conflicts: %d people listed in two districts", len(found))
    return len(found)


def poverty_movement() -> list:
    """The latest assessment year's movement per district, logged."""
    from mis import db, poverty

    with db.get_engine().connect() as conn:
        year = poverty.latest_year(conn)
        rows = poverty.movement(conn, year, "district") if year else []
    for r in rows:
        log.info("%s %s: poor %s%%, escaped %s, newly poor %s, fell back %s", year, r["unit"],
                 r["poor_rate"], r["escaped"], r["newly_poor"], r["fell_back"])
    return rows


def province_summary(config_path: str, province_code: str, airflow_run_id: str) -> dict:
    """The province summary, kept in the MIS (mis.province_report) for this Airflow run."""
    from misgw import province

    body = province.report(config_path, trigger=f"airflow:{airflow_run_id}")
    log.info("province %s: %d sources, %d cross-district conflicts", province_code, len(body["sources"]),
             len(body["cross_district_conflicts"]))
    return {"sources": len(body["sources"]), "conflicts": len(body["cross_district_conflicts"])}
