"""The `misgw` commands on what the MIS keeps: the rejects ledger, the runs, a household's history and keys."""
from __future__ import annotations

import json
import os
from pathlib import Path

from common.errors import UserError


def _known_source(conn, source_id: str | None, config_path: str | None = None) -> None:
    """A --source that names no source is an error naming those that exist, never "0 record(s)"."""
    from mis import runs

    if source_id is None:
        return
    known = runs.source_ids(conn)
    if config_path or os.environ.get("MISGW_CONFIG") or Path("misgw.yaml").is_file():
        try:
            from misgw.config import load_config

            known |= {s.id for s in load_config(config_path).sources}
        except Exception:  # the sources file is optional here: the ledger alone names the sources
            pass
    if source_id not in known:
        raise UserError(f"No source '{source_id}'. Sources: {', '.join(sorted(known)) or 'none yet'}.")


def _engine():
    from mis import db

    return db.get_engine()


def cmd_rejects_list(args) -> int:
    from mis import ledger

    with _engine().connect() as conn:
        _known_source(conn, args.source, args.config)
        rows = ledger.list_rejects(conn, args.source, args.run, args.status)
    for r in rows:
        r["id"] = r.pop("entry_id", None)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    for r in rows:
        print(f"#{r['id']}  {r['file']} / {r['sheet']} / dòng {r['row']}  [{r['rule']}, {r['severity']}]  {r['message_vi']}")
    print(f"{len(rows)} record(s).")
    return 0


def cmd_rejects_waive(args) -> int:
    from mis import ledger

    if not args.reason.strip():
        raise UserError("A waiver needs a reason (--reason).")
    with _engine().begin() as conn:
        entry = ledger.waive(conn, args.entry_id, args.reason.strip())
    if entry is None:
        raise UserError(f"No open entry #{args.entry_id}: see `misgw rejects list`.")
    print(f"Entry #{entry['entry_id']} of source '{entry['source_id']}' (household {entry['household_code']}) waived.")
    return 0


def cmd_rejects_aging(args) -> int:
    from mis import ledger

    with _engine().connect() as conn:
        rows = ledger.aging(conn)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print(f"{'district':9} {'source':24} {'age':12} {'open':>6}")
    for r in rows:
        print(f"{r['district_code']:9} {r['source_id']:24} {r['age']:12} {r['entries']:>6}")
    return 0


def cmd_rejects_export(args) -> int:
    from mis import fixups, runs
    from misgw import fixup_workbook

    engine = _engine()
    with engine.connect() as conn:
        _known_source(conn, args.source, args.config)
        run = runs.last_load(conn, args.source)
    if run is None:
        raise UserError(f"No completed run of source '{args.source}' yet: run `misgw sync --source {args.source}`.")
    # What is open in the ledger, whatever the last run judged: a night with no new file changes nothing.
    by = (run["options"] or {}).get("addressed_by") or "district"
    with engine.connect() as conn:
        districts = fixups.addressees(conn, args.source, by)
    if not districts:
        print(f"Nothing to fix: no record of '{args.source}' is held back, missing or warned.")
        return 0
    district = args.district or (districts[0] if len(districts) == 1 else None)
    if district not in districts:
        raise UserError(f"'{args.source}' has records to fix for {by}s {', '.join(districts)}: "
                        "choose one with --district (a workbook never mixes districts).")
    path = fixup_workbook.write_fixup_workbook(engine, args.source, district, args.out, by=by)
    print(f"Fix-up workbook written: {path}")
    return 0


def cmd_runs_list(args) -> int:
    from mis import runs
    from misgw import reports
    from misgw.stages import outcome

    with _engine().connect() as conn:
        _known_source(conn, args.source, args.config)
        latest = runs.recent(conn, args.source, args.limit)
    summaries = [outcome.summarise(r) | {"started_at": r["started_at"]} for r in latest]
    if args.json:
        print(json.dumps(summaries, ensure_ascii=False, indent=2, default=str))
    else:
        print(reports.summary_table(summaries, with_run=True))
    return 0


def cmd_runs_show(args) -> int:
    from mis import ledger, runs
    from misgw import reports
    from misgw.stages import outcome

    with _engine().connect() as conn:
        try:
            run = runs.get_run(conn, args.run_id)
        except LookupError:
            raise UserError(f"No run '{args.run_id}': see `misgw runs list`.") from None
        changes = ledger.outcomes(conn, args.run_id) if args.changes else None
    for change in changes or []:
        change["member_key"] = _shown_key(change["member_key"])
    if args.json:
        shown = outcome.summarise(run) | {"mapping_report": run["mapping_report"],
                                           "changed_fields": (run["reconcile"] or {}).get("changed_fields"),
                                           "members": (run["reconcile"] or {}).get("members")}
        if changes is not None:
            shown["changes"] = changes
        print(json.dumps(shown, ensure_ascii=False, indent=2, default=str))
        return 0
    print(reports.summary_table([outcome.summarise(run)], with_run=True))
    print()
    print(reports.accounts_text(run.get("row_accounts") or []))
    print()
    print(reports.mapping_report_text(run["mapping_report"] or []))
    if changes is not None:
        print()
        print(reports.changes_text(changes))
    return 0


def cmd_history(args) -> int:
    from expectations.validate import mask_id
    from mis import households

    with _engine().connect() as conn:
        found = households.find(conn, args.household_code, args.commune)
    if not found:
        raise UserError(f"No household {args.household_code}" + (f" in commune {args.commune}" if args.commune else "")
                        + " in the MIS. Give the code as the district writes it (with --commune) or the MIS key, "
                          "as `misgw rejects list` or the fix-up workbook shows it.")
    if len(found) > 1:
        shown = "; ".join(f"{h['household_code']} ({h['head_name'] or '-'}, xã {h['commune_code_pre2025'] or h['commune_code']})"
                          for h in found[:10])
        raise UserError(f"Household code {args.household_code} names {len(found)} households: {shown}. "
                        "Say which with --commune CODE, or give the MIS key.")
    key = found[0]["household_code"] if found else args.household_code
    with _engine().connect() as conn:
        rows = households.history(conn, key)
    for r in rows:
        r["member_key"] = _shown_key(r["member_key"])
        if r["field"] == "id_number":
            r["old_value"], r["new_value"] = mask_id(r["old_value"]), mask_id(r["new_value"])
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    if not rows:
        print(f"No change recorded for household {args.household_code}.")
    for r in rows:
        what = r["entity"] + (f" {r['assessment_year']}" if r["assessment_year"] else "") + \
            (f" {r['full_name'] or r['member_key']}" if r["entity"] == "member" else "")
        where = f", {r['source_file']} / {r['source_sheet']} / dòng {r['source_row']}" if r["source_file"] else ""
        print(f"{r['started_at']:%Y-%m-%d %H:%M}  {what}.{r['field']}: {r['old_value']!r} -> {r['new_value']!r}  "
              f"(run {r['run_id']} by {r['changed_by']}{where})")
    return 0


def cmd_households_scope(args) -> int:
    from mis import households
    from mis import load as mis_load
    from misgw.config import load_config

    config = load_config(args.config)
    source = config.source(args.source)
    engine = _engine()
    with engine.begin() as conn:
        current = households.get_scope(conn, source.id)
        if not args.set:
            print(f"{source.id}: household codes are unique within each {current}." if current else
                  f"{source.id}: not decided yet (the first full run decides it from the roster).")
            return 0
        if current == args.set:
            print(f"{source.id}: already {current}.")
            return 0
        import getpass

        mis_load.lock(conn, source.id)
        households.set_scope(conn, source.id, args.set, f"person:{getpass.getuser()}", {"was": current})
        counts = households.rekey(conn, source.id, args.set, config.province_code_current,
                                  _set_run(conn, source, config), f"person:{getpass.getuser()}")
    print(f"{source.id}: household codes are now unique within each {args.set}; "
          f"{counts['households_rekeyed']} household(s) re-keyed.")
    return 0


def _set_run(conn, source, config) -> str:
    """A run of its own for a change made by hand, so that the change history names it."""
    from mis import runs
    from misgw.pipeline import new_run_id

    run_id = new_run_id()
    runs.open_run(conn, run_id, source.id, config.province_code, source.district_code, False,
                  {"config": str(config.path), "manual": "households scope"})
    runs.update_run(conn, run_id, status="success", stage="done")
    return run_id


def cmd_households_review(args) -> int:
    from mis import households

    with _engine().connect() as conn:
        _known_source(conn, args.source, args.config)
        rows = households.reviews(conn, args.source)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    for r in rows:
        print(f"#{r['review_id']}  {r['source_id']}  {r['household_code']} ({r['head_name'] or '-'})  [{r['kind']}]  "
              f"{r['detail']}")
    print(f"{len(rows)} household(s) to review.")
    return 0


def _shown_key(key: str | None) -> str | None:
    """A member key as people may see it: a name key as it is, an ID number masked."""
    from expectations.validate import mask_id

    return key if key is None or "|" in key else mask_id(key)
