"""Report stage: the fix-up workbooks, the poverty movement, the run closed and summarised, its work tables dropped."""
from __future__ import annotations

import datetime as dt
import logging

from mis import db, poverty, runs, staging
from misgw.stages import outcome
from misgw.stages.run_context import context, nonzero, timed

log = logging.getLogger("misgw")

@timed
def report(run_id: str) -> dict:
    """Write the district's fix-up workbook, close the run, drop its work tables; return the summary."""
    from misgw.fixup_workbook import write_fixup_workbooks

    ctx = context(run_id, "report")
    run, config, source = ctx.run, ctx.config, ctx.source
    engine = db.get_engine()
    # After the reform the district is gone: what goes back is addressed to the commune.
    addressed_by = "commune" if source.unit_era == "current" else "district"
    workbooks, stamps = write_fixup_workbooks(engine, run_id, config.output_dir / "fixup" / source.id, by=addressed_by)
    with engine.begin() as conn:
        runs.update_run(conn, run_id, options={**run["options"], "addressed_by": addressed_by, "fixup_files": stamps})
        year = staging.accepted_assessment_year(conn, run_id)
        if year:
            figures = poverty.movement(conn, year, "district" if source.district_code else "province",
                                       district_code=source.district_code,
                                       source_id=None if source.district_code else source.id)
            runs.update_run(conn, run_id, reconcile={**(run["reconcile"] or {}), "poverty_movement": figures})
        attention = outcome.attention(runs.get_run(conn, run_id))
        runs.update_run(conn, run_id, status="attention" if attention else "success", stage="done",
                        attention=attention, finished_at=dt.datetime.now(dt.timezone.utc),
                        fixup_workbooks={d: str(p) for d, p in workbooks.items()})
        staging.drop_run_tables(conn, run_id)
        summary = outcome.summarise(runs.get_run(conn, run_id))
    if attention:
        from misgw import alerts

        log.warning("[%s] needs attention: %s", source.id, attention)
        from misgw.reasons import vietnamese

        alerts.send(config.alerts, "attention", f"[MIS Gateway] {source.id}: lần chạy cần xem lại / a run needs "
                    "attention", f"{vietnamese(attention)}\n\n{attention}", {"source_id": source.id, "run_id": run_id, "summary": summary})
    log.info("[%s] %s", source.id, one_line(summary))
    return summary


def one_line(summary: dict) -> str:
    """The run in one line, its outcome first (what an operator scanning a log needs)."""
    status = summary["status"].upper() + (" (dry run)" if summary.get("dry_run") else "") + \
        (" (no change at source)" if summary.get("unchanged_at_source") else "")
    return (f"{status}: {summary['rows_read']} rows, {summary['households_accepted']} households accepted, "
            f"{summary['rows_rejected']} rows rejected, households {nonzero(summary['reconcile']) or 'none'}, "
            f"fix-up workbooks {', '.join(summary['fixup_workbooks'].values()) or 'none'}")
