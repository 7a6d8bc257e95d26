"""Load stage: one transaction merges the accepted households, records rejects and outcomes, resolves what
stopped failing and moves the source's bookmark on."""
from __future__ import annotations

import logging

import pandas as pd

from mis import db, fixups, ledger, runs, snapshot, staging
from mis import load as mis_load
from mis import reconcile as mis_reconcile
from misgw.stages import outcome
from misgw.stages.reconcile import reconcile_in
from misgw.stages.run_context import context, nonzero, operator, timed

log = logging.getLogger("misgw")


@timed
def load(run_id: str) -> dict:
    """One transaction: merge accepted households, record rejects and outcomes, resolve what stopped failing.

    A dry run records the rejects and outcomes of the run only: nothing in the central tables changes.
    """
    ctx = context(run_id, "load")
    run, source = ctx.run, ctx.source
    with db.get_engine().begin() as conn:
        if run["status"] == "awaiting_approval":      # a person approved it
            runs.update_run(conn, run_id, status="running")
        mis_load.lock(conn, source.id)
        if not run["dry_run"] and mis_reconcile.registry_version(conn) != run["registry_version"]:
            # Another run loaded since this one reconciled: judge again against what is there now.
            log.info("[%s] the MIS changed since this run's reconcile: reconciling again", source.id)
            reconcile_in(conn, run_id, source)
        # A retried load starts clean: what an earlier attempt wrote for this run is replaced, not doubled.
        ledger.clear_run_records(conn, run_id)
        failures = pd.concat([staging.read_frame(conn, run_id, "failures"),
                              staging.read_frame(conn, run_id, "reconcile_failures")], ignore_index=True)
        held = pd.concat([staging.read_frame(conn, run_id, "held"),
                          staging.read_frame(conn, run_id, "reconcile_held")], ignore_index=True)
        counts = {}
        if not run["dry_run"]:
            counts = mis_load.merge(conn, run_id, source.id, changed_by=operator())
        ledger.record_rejects(conn, run_id, source.id, failures, run["dry_run"])
        ledger.record_held_rows(conn, run_id, source.id, held)
        ledger.record_outcomes(conn, run_id)
        if not run["dry_run"]:
            counts["entries_resolved"] = ledger.resolve(conn, run_id, source.id)
            counts["fixes_applied"] = fixups.record_applied(conn, run_id, source.id)
            counts["snapshot_records"] = snapshot.update(conn, run_id, source.id,
                                                         bool((run["options"].get("narrowed") or {}).get("narrowed")),
                                                         keyed=bool(run["options"].get("keyed")))
            if run["options"].get("bookmark"):
                runs.save_bookmark(conn, source.id, run_id, outcome.bookmark_to_keep(run))
    households, members = counts.get("households_written", 0), counts.get("members_written", 0)
    mis_load.analyze(db.get_engine(), {
        "household": households, "member": members, "poverty_assessment": households,
        "source_snapshot": counts.get("snapshot_records", 0), "held_row": len(held), "reject": len(failures),
        "reject_entry": len(failures), "reconcile_outcome": households + members})
    log.info("[%s] load%s: %s", source.id, " (dry run: nothing written)" if run["dry_run"] else "",
             nonzero(counts) or "nothing to write")
    return {"run_id": run_id, "dry_run": run["dry_run"], **counts}
