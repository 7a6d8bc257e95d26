"""How a run ends: whether one that completed needs a person, the bookmark it keeps, the summary everyone reads,
and the closing of a run that loads nothing or failed."""
from __future__ import annotations

import datetime as dt

from mis import accounts, db, ledger, runs, staging


def bookmark_to_keep(run: dict) -> dict:
    """The bookmark to keep: files that stopped (their year unclear) are left out, so that the next run reads
    them again instead of finding them unchanged."""
    bookmark = run["options"]["bookmark"]
    stopped = (run.get("notices") or {}).get("files_stopped") or {}
    files = (bookmark.get("connector") or {}).get("files")
    if not stopped or not isinstance(files, dict):
        return bookmark
    return {**bookmark, "connector": {**bookmark["connector"],
                                      "files": {k: v for k, v in files.items() if k not in stopped}}}


def attention(run: dict) -> str | None:
    """Why a run that completed is not a plain success, or None: a file that stopped (its year unclear), or
    rows judged and none accepted with a problem no earlier run had seen. A night with nothing new (no
    change at the source, or only the households still held from before, read again) is a plain success."""
    reasons = []
    stopped = (run.get("notices") or {}).get("files_stopped") or {}
    reasons += [f"File not read: {sentence}" for sentence in stopped.values()]
    totals = accounts.totals(run.get("row_accounts") or [])
    judged = totals["loaded"] + totals["rejected"] + totals["held"] - totals["stopped"]
    if judged and not totals["loaded"]:
        with db.get_engine().connect() as conn:
            turned_back = ledger.run_rejects(conn, run["run_id"])
        if run["dry_run"] or turned_back["entries_opened"]:
            why = ", ".join(f"{rule} ({n})" for rule, n in turned_back["top_rules"].items()) or "households held back"
            reasons.append(f"{judged} rows judged and none accepted: {totals['rejected']} rejected, "
                           f"{totals['held'] - totals['stopped']} held (most often: {why}). Check the fix-up "
                           "workbook; a whole district turned back usually means a column was read wrongly "
                           f"(`misgw runs show {run['run_id']}`).")
    return " ".join(reasons) or None


def summarise(run: dict) -> dict:
    """A sync run (its ledger row) as the CLI, the notes, the page and the tests read it."""
    notices = run.get("notices") or {}
    return {
        "run_id": run["run_id"], "source_id": run["source_id"], "status": run["status"],
        "dry_run": run["dry_run"], "unchanged_at_source": bool((run["options"] or {}).get("unchanged")),
        "partial": bool((run["options"] or {}).get("partial")), "rows_read": run["rows_read"] or 0,
        # A workbook's rows found in their place, not mapped again (mis.snapshot.narrow_rows), or why all were.
        "rows_settled": (run["options"] or {}).get("rows_settled") or 0,
        "not_narrowed": (run["options"] or {}).get("not_narrowed"),
        "households_accepted": run["households_accepted"] or 0, "members_accepted": run["members_accepted"] or 0,
        "rows_rejected": run["rows_rejected"] or 0, "households_rejected": run["households_rejected"] or 0,
        "rows_held": run.get("rows_held") or 0, "attention": run.get("attention"),
        "row_accounts": run.get("row_accounts") or [],
        "files_stopped": notices.get("files_stopped") or {}, "not_stored": notices.get("not_stored") or [],
        "fixup_notes": notices.get("fixup_notes") or [],
        "unfit_columns": notices.get("unfit_columns") or [], "checks_not_run": notices.get("checks_not_run") or [],
        "matched_by_expansion": notices.get("matched_by_expansion") or [],
        "household_scope": notices.get("household_scope"),
        "stage_seconds": run.get("stage_seconds") or {},
        "reconcile": (run["reconcile"] or {}).get("households", {}),
        "poverty_movement": (run["reconcile"] or {}).get("poverty_movement", []),
        "fixup_workbooks": run["fixup_workbooks"] or {}, "data_docs": run.get("data_docs"), "error": run["error"],
        "mapping": [{"file": m["file"], "sheet": m["sheet"], "roster": m["roster"], "header_row": m["header_row"],
                     "columns_mapped": len(m["columns"]), "ignored_columns": m["ignored_columns"],
                     "skipped_rows": {k: len(v) for k, v in m["skipped_rows"].items()},
                     **({"reason": m["reason"]} if m.get("reason") else {})}
                    for m in (run["mapping_report"] or [])],
    }


def close_unloaded(run_id: str, status: str, reason: str) -> dict:
    """End a run that loads nothing (rejected by a person, or held by the CLI): the MIS is untouched."""
    with db.get_engine().begin() as conn:
        runs.update_run(conn, run_id, status=status, error=reason, finished_at=dt.datetime.now(dt.timezone.utc))
        staging.drop_run_tables(conn, run_id)
        return summarise(runs.get_run(conn, run_id))


def fail_run(run_id: str, error: str) -> None:
    """End a run that failed: the reason on it, its work tables dropped (its load, one transaction, never began
    or rolled back)."""
    with db.get_engine().begin() as conn:
        runs.update_run(conn, run_id, status="failed", error=error, finished_at=dt.datetime.now(dt.timezone.utc))
        staging.drop_run_tables(conn, run_id)
