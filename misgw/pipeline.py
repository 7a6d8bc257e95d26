"""Runs one source through the stages (extract, map and validate, reconcile, load, report), by run id."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import secrets
import time
from contextlib import contextmanager

import pandas as pd
import sqlalchemy as sa

from connectors import base
from expectations import docs as data_docs
from expectations import validate
from expectations.validate import judge
from mappings.roster import household_groups, one_row_per_household, translate, unit_codes
from mappings.text import fold, fold_series
from mappings.vocabulary import load_mapping
from mis import accounts, db, fixups, ledger, poverty, snapshot, staging, units
from mis import load as mis_load
from mis import reconcile as mis_reconcile
from misgw.config import Config, Source, load_config
from misgw.errors import SourceBusy, UserError
from misgw.stages import approval, household_scope, map_roster, outcome

log = logging.getLogger("misgw")


def new_run_id() -> str:
    return f"{dt.datetime.now():%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def _context(run_id: str) -> tuple[dict, Config, Source]:
    engine = db.get_engine()
    with engine.begin() as conn:
        run = ledger.get_run(conn, run_id)
    config = load_config(run["options"]["config"])
    return run, config, config.source(run["source_id"])


def start_run(config_path: str | None, source_id: str, dry_run: bool = False,
              files: list[str] | None = None, full: bool = False, airflow: dict | None = None) -> str:
    """Record a new run of one source and return its id; later stages need only that id.

    files: read only these files of a spreadsheet source. full: ignore the source's bookmark and
    snapshot, and read (and compare) everything. airflow: the DAG run that runs it (dag_id, run_id).
    """
    config = load_config(config_path)
    source = config.source(source_id)
    run_id = new_run_id()
    if airflow:
        # A CLI run of this source holds its lease for its whole life: Airflow waits (retries) until it ends.
        with source_lease(source.id):
            pass
    with db.get_engine().begin() as conn:
        ledger.open_run(conn, run_id, source.id, config.province_code, source.district_code, dry_run,
                        {"config": str(config.path), "files": files or [], "full": full,
                         **({"airflow": airflow} if airflow else {})})
    return run_id


def _timed(stage):
    """A stage's wall time, kept on its run (sync_run.stage_seconds), whether the CLI or Airflow runs it."""
    @functools.wraps(stage)
    def timed(run_id: str, *args, **kwargs):
        started = time.monotonic()
        result = None
        try:
            with _few_collections():
                result = stage(run_id, *args, **kwargs)
            return result
        finally:
            seconds = time.monotonic() - started
            with db.get_engine().begin() as conn:
                ledger.record_stage_seconds(conn, run_id, stage.__name__, seconds)
            if isinstance(result, dict) and isinstance(result.get("stage_seconds"), dict):
                # The run's summary (report's result) was made before its own stage ended.
                result["stage_seconds"][stage.__name__] = round(seconds, 2)
            _give_back_memory()
    return timed


@contextmanager
def _few_collections():
    """Python's cycle collector at rare intervals while a stage runs. A stage makes millions of small objects
    (a sheet's cells, JSON rows, workbook cells) that form no cycles; at the default thresholds the collector
    walked them thousands of times per source (4.7 s of a 34 s run of a 133,000-row source). Young cycles are
    still collected; the stage's end collects everything (_give_back_memory)."""
    import gc

    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _give_back_memory() -> None:
    """Hand the memory a stage freed back to the system. glibc keeps freed heap pages for reuse, so the
    process would hold the peak of its biggest stage through the stages after it."""
    import ctypes
    import gc

    gc.collect()
    # What survives is long-lived (modules, GX, caches, the engine): later collections need not walk it
    # again (each full collection walked it for 0.2 s).
    gc.freeze()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to hand back this way
        pass


BULK_ROWS = 20_000   # a load writing more than this refreshes the planner's statistics of the central tables

RAW_COLUMNS = {"file": "text", "sheet": "text", "row": "integer", "key": "text", "household": "text",
               "hash": "text", "cells": "text"}


@_timed
def extract(run_id: str) -> dict:
    """Read what is new at the source, as it is, into the run's raw table (file, sheet, row, key, cells).

    The connector plans the read from the bookmark of the last run that loaded: nothing at all when
    nothing changed, or the rows after a watermark. A full read of a source with record keys is then
    compared with its snapshot, and only the households with a new, changed or gone record go on.
    """
    run, config, source = _context(run_id)
    _stage(run_id, "extract")
    options = run["options"]
    connector = source.connector()
    engine = db.get_engine()
    with engine.connect() as conn:
        saved = ledger.get_bookmark(conn, source.id) or {}
    reading = _reading_fingerprint(config, source)
    full = bool(options.get("full")) or saved.get("reading") != reading
    plan = connector.plan(saved.get("connector"), full=full, only=options.get("files") or None)
    narrowed = {}
    with engine.begin() as conn:
        table = staging.create_table(conn, run_id, "raw", RAW_COLUMNS)
        n = 0 if plan.unchanged else staging.copy_rows(conn, table, list(RAW_COLUMNS),
                                                       _raw_rows(connector.read(plan), plan))
        if plan.keys and not plan.unchanged:
            narrowed = snapshot.narrow(conn, run_id, source.id, compare=not full and not plan.partial)
        partial = plan.unchanged or plan.partial or bool(narrowed.get("narrowed"))
        bookmark = None if options.get("files") else {"connector": plan.bookmark, "reading": reading}
        # Records without keys (a workbook's rows) are compared with the snapshot once mapped (map_validate).
        compare = not full and not plan.partial and not options.get("files")
        ledger.update_run(conn, run_id, options={**options, "partial": partial, "unchanged": plan.unchanged,
                                                 "read": plan.describe, "keyed": bool(plan.keys),
                                                 "compare": compare, "bookmark": bookmark, "narrowed": narrowed})
    if plan.unchanged:
        log.info("[%s] extract: nothing changed at the source since the last load (%s)", source.id, plan.describe)
    else:
        log.info("[%s] extract: %s, %d rows read%s", source.id, plan.describe, n,
                 f"; {narrowed['households_changed']} households changed since the last load, "
                 f"{narrowed['rows_kept']} rows go on" if narrowed.get("narrowed") else "")
    return {"run_id": run_id, "table": table, "rows": n, "unchanged": plan.unchanged, "partial": partial}


def _raw_rows(sheets, plan):
    """(file, sheet, row, key, household, hash, cells) for COPY; key and household from the header row."""
    for sheet in sheets:
        key_at = household_at = None
        for number, cells in sheet.rows:
            text = json.dumps(cells, ensure_ascii=False)
            if plan.keys and number == 1:
                key_at, household_at = _header_positions(sheet, cells, plan)
                yield sheet.file_name, sheet.sheet, number, None, None, None, text
                continue
            if key_at is None:
                yield sheet.file_name, sheet.sheet, number, None, None, None, text
                continue
            key = "|".join("" if cells[i] is None else str(cells[i]) for i in key_at)
            household = cells[household_at] if household_at is not None else None
            yield (sheet.file_name, sheet.sheet, number, key, None if household is None else str(household),
                   hashlib.sha1(text.encode()).hexdigest(), text)


def _header_positions(sheet, header: list, plan) -> tuple[list[int], int | None]:
    names = [str(h) if h is not None else "" for h in header]
    missing = [k for k in plan.keys + ([plan.household] if plan.household else []) if k not in names]
    if missing:
        raise base.SourceError(f"{sheet.file_name} / {sheet.sheet}: no column {', '.join(missing)} "
                                     f"(columns: {', '.join(names)}).")
    return [names.index(k) for k in plan.keys], names.index(plan.household) if plan.household else None


def _reading_fingerprint(config: Config, source: Source) -> str:
    """What decides how a record is read and judged: when any of it changes, the next run reads everything."""
    from importlib import resources

    data = [hashlib.sha256(resources.files(pkg).joinpath(name).read_bytes()).hexdigest()
            for pkg, names in (("mappings", ("vocabulary.yaml", "codelists.yaml", "ethnicity.yaml", "common_syllables.yaml")),
                               ("expectations", ("rules.yaml", "roster_basic.json", "poverty_standards.yaml")))
            for name in names]
    mapping = hashlib.sha256(source.mapping_path.read_bytes()).hexdigest() if source.mapping_path else "auto"
    return base.fingerprint(data, mapping, source.kind, source.options, source.district_code, source.unit_era,
                            config.rules, config.province_code, config.province_code_current,
                            source.assessment_year, source.ethnicity_edition, config.relation_ba)


@_timed
def map_validate(run_id: str) -> dict:
    """Map every roster sheet to MIS fields, judge the rows, and stage members and failures."""
    run, config, source = _context(run_id)
    _stage(run_id, "map_validate")
    options = run["options"]
    if options.get("unchanged"):
        return _nothing_changed(run_id, source)
    mapping = load_mapping(source.mapping_path, source.ethnicity_edition)
    engine = db.get_engine()
    with engine.begin() as conn:
        raw = staging.read_frame(conn, run_id, "raw")
        read_counts = staging.counts_by_sheet(conn, run_id, "read") if options.get("keyed") else None
    placement, province_pre2025 = map_roster.placement_for(engine, config, source)
    # A partial read (a watermark, or only changed households) of a database or a web service that
    # brought no record (row 1 is the header) found nothing new.
    if options.get("partial") and not (raw["row"].astype(int) > 1).any():
        return _nothing_changed(run_id, source)
    with engine.connect() as conn:
        fixed = fixups.fixed_origins(conn, source.id)
    roster = map_roster.map_roster(raw, mapping, source, source.assessment_year, province_pre2025,
                                   config.bare_values.get("relation"), read_counts, options.get("read") or source.id,
                                   fixed=fixed)
    del raw
    reports, returned, accounts = roster.reports, roster.fixups, roster.accounts
    frame = roster.frame
    groups = household_groups(frame)
    households_one_row = one_row_per_household(frame, groups)
    if not options.get("keyed"):
        kept = _unchanged_households_out(run_id, source, frame, groups,
                                         compare=options.get("compare") and not returned)
        if kept is not None:
            accounts = map_roster._add(accounts, map_roster.count_rows(frame, kept), "unchanged")
            frame = frame[kept.to_numpy()].reset_index(drop=True)
    indicators = {c["field"] for r in reports if r["roster"] for c in r["columns"]} & set(mis_load.INDICATORS)
    if frame.empty:
        return _nothing_changed(run_id, source, reports, accounts, roster)
    province = config.province_code_current
    mapped = translate(frame, mapping, placement, source.district_code, province, source.unit_era,
                       households_one_row, bare=config.bare_values.get("relation"), indicator_columns=indicators)
    del frame
    mapped, scope_note = household_scope.apply(run_id, run, config, source, mapped, unit_codes(placement),
                                               _operator())
    with engine.connect() as conn:
        registry_ids = ledger.registry_ids(conn, mapped["id_number"].where(mapped["id_kind"].notna()).dropna())
    docs_dir = config.output_dir / "data-docs"
    failures, held = judge(mapped, source.district_code, config.rules, indicator_columns=indicators,
                           registry_ids=registry_ids, docs=(str(docs_dir / "gx"), f"{source.id}-{run_id}"))
    mapped = mapped.reset_index(drop=True)
    mapped["accepted"] = ~held
    mapped["name_key"] = fold_series(mapped["full_name"])
    # A person's identity inside the household: the ID number, else the folded name and birth year.
    mapped["member_key"] = mapped["id_number"].where(mapped["id_kind"].notna(), mapped["name_key"] + "|" +
                                                     mapped["birth_year"].astype("string").fillna(""))
    # Two people of one household with one name and birth year (told apart by their full birth dates): the
    # date joins the key, as the reconcile keys such a person (mis.reconcile).
    clash = mapped.duplicated(["household_code", "member_key"], keep=False) & mapped["id_kind"].isna() \
        & mapped["birth_date"].notna()
    mapped.loc[clash, "member_key"] = mapped.loc[clash, "member_key"] + "|" + mapped.loc[clash, "birth_date"]
    # Each record's own district decides whose fix-up workbook it goes to; after the reform, its commune.
    mapped["district_code"] = mapped["district_code_pre2025"].fillna(source.district_code)
    failures = _with_lineage(failures, mapped)
    docs_page = data_docs.write_run_page(docs_dir, f"{source.id}-{run_id}", source.id, run_id, failures,
                                         len(mapped), int(mapped.loc[~mapped["accepted"], "household_code"].nunique()))
    members = mapped[_MEMBER_STAGE_COLUMNS]
    notices = map_roster.notices(reports, roster, mapped, indicators, scope_note)
    with engine.begin() as conn:
        staging.write_frame(conn, run_id, "members", members)
        staging.write_frame(conn, run_id, "failures", failures)
        staging.write_frame(conn, run_id, "held", _held_rows(mapped, failures))
        staging.write_frame(conn, run_id, "accounts", accounts.astype("string"))
        # Households the roster still lists as they were when a returned workbook fixed them: not missing.
        staging.write_frame(conn, run_id, "fixed_present",
                            pd.DataFrame({"household_code": sorted(roster.fixed_present)}, dtype="string"))
        counts = _counts(mapped, failures)
        ledger.update_run(conn, run_id, mapping_report=reports, data_docs=str(docs_page),
                          notices=notices, **counts)
    log.info("[%s] map/validate: %d rows, %d households accepted, %d rows rejected",
             source.id, counts["rows_read"], counts["households_accepted"], counts["rows_rejected"])
    return {"run_id": run_id, **counts}


def _unchanged_households_out(run_id: str, source: Source, frame: pd.DataFrame, groups: pd.Series,
                              compare: bool) -> pd.Series | None:
    """A roster without record keys, mapped: which rows go on (a mask), only the households whose rows
    changed since the snapshot (mis.snapshot.narrow_frame); None when all go on. The run is then partial:
    households not judged again are not missing. groups: each row's household (mappings.roster.household_groups)."""
    with db.get_engine().begin() as conn:
        kept, narrowed = snapshot.narrow_frame(conn, run_id, source.id, frame, groups, compare)
        if narrowed["narrowed"]:
            options = ledger.get_run(conn, run_id)["options"]
            ledger.update_run(conn, run_id, options={**options, "partial": True, "narrowed": narrowed})
    if not narrowed["narrowed"]:
        return None
    log.info("[%s] map/validate: %d households changed since the last load, %d gone; %d rows go on, "
             "%d rows of unchanged households are not judged again", source.id, narrowed["households_changed"],
             narrowed["households_gone"], narrowed["rows_kept"], narrowed["rows_unchanged"])
    return kept


def _nothing_changed(run_id: str, source: Source, reports: list | None = None, accounts: pd.DataFrame | None = None,
                     roster=None) -> dict:
    """Nothing new at the source: empty work tables, so the later stages run and change nothing."""
    with db.get_engine().begin() as conn:
        staging.write_frame(conn, run_id, "members", pd.DataFrame(columns=_MEMBER_STAGE_COLUMNS))
        staging.write_frame(conn, run_id, "failures", pd.DataFrame(columns=FAILURE_COLUMNS))
        staging.write_frame(conn, run_id, "held", pd.DataFrame(columns=HELD_COLUMNS))
        staging.write_frame(conn, run_id, "accounts", (accounts if accounts is not None else
                                                       pd.DataFrame(columns=map_roster.ACCOUNT_COLUMNS)).astype("string"))
        counts = dict.fromkeys(("rows_read", "households_accepted", "members_accepted", "rows_rejected",
                                "households_rejected"), 0)
        notices = {"files_stopped": roster.stopped, "year_notes": roster.notes,
                   "fixup_notes": roster.fixup_notes} if roster is not None else {}
        ledger.update_run(conn, run_id, mapping_report=reports or [], notices=notices, **counts)
    log.info("[%s] map/validate: nothing changed at the source, nothing to judge", source.id)
    return {"run_id": run_id, **counts}


@_timed
def reconcile(run_id: str) -> dict:
    """Classify the accepted households against the registry as it stands (before the load)."""
    run, config, source = _context(run_id)
    _stage(run_id, "reconcile")
    with db.get_engine().begin() as conn:
        result = _reconcile_in(conn, run_id, source)
    log.info("[%s] reconcile: households %s; people %s", source.id, _nonzero(result["households"]),
             _nonzero(result["members"]))
    return {"run_id": run_id, **result}


def _reconcile_in(conn, run_id: str, source: Source) -> dict:
    """Classify, hold the conflicts back with their reasons, flag the missing households; in conn's transaction."""
    run = ledger.get_run(conn, run_id)
    # A partial read (a watermark, or only the changed households) finds missing only what the
    # snapshot says is gone from the source; households not read are not looked at.
    gone = staging.table_name(run_id, "gone") if run["options"].get("partial") else None
    result = mis_reconcile.classify(conn, run_id, source.id, source.district_code, partial=gone)
    version = result.pop("registry_version")
    narrowed = run["options"].get("narrowed") or {}
    if narrowed.get("narrowed"):
        # Households whose rows are as the source had them when they loaded: unchanged, without judging
        # them again (mis.snapshot).
        result["households"]["unchanged"] = result["households"].get("unchanged", 0) + narrowed["households_unchanged"]
        result["members"]["unchanged"] = result["members"].get("unchanged", 0) + narrowed["rows_unchanged"]
    failures, held = _reconcile_rejects(conn, run_id, source)
    staging.write_frame(conn, run_id, "reconcile_failures", failures)
    staging.write_frame(conn, run_id, "reconcile_held", held)
    # Every row read is loaded, unchanged, rejected, held, superseded or skipped, and a held row says why:
    # proved here, before anything loads.
    rows = accounts.row_accounts(conn, run_id)
    accounts.check(rows)
    ledger.update_run(conn, run_id, reconcile=result, registry_version=version, row_accounts=rows,
                      rows_held=accounts.totals(rows)["held"], **_staged_counts(conn, run_id))
    return result


def approval_needed(run_id: str) -> dict | None:
    """The figures a person must see before this run loads, when it would change more of its district's
    households (changed, moved or missing) than its source allows; None when it may load at once.

    Small registries never wait: fewer than `approval_min_households` households affected is not a
    surprise. A dry run never waits: it loads nothing.
    """
    run, config, source = _context(run_id)
    counts = (run["reconcile"] or {}).get("households") or {}
    if run["dry_run"] or source.approval_share is None:
        return None
    affected = sum(counts.get(k, 0) for k in ("changed", "moved", "missing"))
    with db.get_engine().begin() as conn:
        registry = mis_reconcile.scope_size(conn, source.id, source.district_code)
        if not registry or affected < config.approval_min_households or affected / registry <= source.approval_share:
            return None
        figures = {"source_id": source.id, "district_code": source.district_code, "run_id": run_id,
                   "registry_households": registry, "affected": affected, "share": round(affected / registry, 4),
                   "threshold": source.approval_share, "households": counts,
                   "changed_fields": (run["reconcile"] or {}).get("changed_fields", {}),
                   "district_name": units.names(conn, [source.district_code]).get(source.district_code)
                   if source.district_code else None,
                   "examples": json.loads(json.dumps(mis_reconcile.change_examples(conn, run_id), default=str))}
        ledger.update_run(conn, run_id, status="awaiting_approval", approval=figures)
    log.warning("[%s] this run would change %d of %d households (%.1f%%, more than %.1f%%): it waits for a person "
                "before loading", source.id, affected, registry, 100 * figures["share"], 100 * source.approval_share)
    return figures


def approval_text(figures: dict) -> str:
    """What the person deciding reads (misgw.stages.approval)."""
    return approval.text(figures)


def record_approval(run_id: str, answer: dict) -> None:
    """Keep a person's answer to an approval request on the run: which option, who, when."""
    user = answer.get("responded_by_user")
    record = {"chosen": list(answer.get("chosen_options") or []), "timed_out": bool(answer.get("timedout")),
              "by": (user.get("name") or user.get("id")) if isinstance(user, dict) else None,
              "at": str(answer.get("responded_at") or "")}
    with db.get_engine().begin() as conn:
        run = ledger.get_run(conn, run_id)
        ledger.update_run(conn, run_id, approval={**(run["approval"] or {}), "answer": record})
    log.info("approval of %s: %s by %s", run_id, record["chosen"], record["by"] or "nobody (timed out)")


def rejection_reason(run_id: str) -> str:
    with db.get_engine().connect() as conn:
        answer = (ledger.get_run(conn, run_id)["approval"] or {}).get("answer") or {}
    if answer.get("timed_out") or not answer.get("chosen"):
        return "Not approved within the time allowed: nothing loaded."
    return f"Rejected at approval{' by ' + answer['by'] if answer.get('by') else ''}: nothing loaded."


def close_unloaded(run_id: str, status: str, reason: str) -> dict:
    """End a run that loads nothing (rejected by a person, or held by the CLI): the MIS is untouched."""
    with db.get_engine().begin() as conn:
        ledger.update_run(conn, run_id, status=status, error=reason, finished_at=dt.datetime.now(dt.timezone.utc))
        staging.drop_run_tables(conn, run_id)
        return outcome.summarise(ledger.get_run(conn, run_id))


@_timed
def load(run_id: str) -> dict:
    """One transaction: merge accepted households, record rejects and outcomes, resolve what stopped failing.

    A dry run records the rejects and outcomes of the run only: nothing in the central tables changes.
    """
    run, config, source = _context(run_id)
    _stage(run_id, "load")
    with db.get_engine().begin() as conn:
        if run["status"] == "awaiting_approval":      # a person approved it
            ledger.update_run(conn, run_id, status="running")
        mis_load.lock(conn, source.id)
        if not run["dry_run"] and mis_reconcile.registry_version(conn) != run["registry_version"]:
            # Another run loaded since this one reconciled: judge again against what is there now.
            log.info("[%s] the MIS changed since this run's reconcile: reconciling again", source.id)
            _reconcile_in(conn, run_id, source)
        # A retried load starts clean: what an earlier attempt wrote for this run is replaced, not doubled.
        for table in ("reject", "held_row", "reconcile_outcome"):
            conn.execute(sa.text(f"DELETE FROM mis.{table} WHERE run_id = :r"), {"r": run_id})
        failures = pd.concat([staging.read_frame(conn, run_id, "failures"),
                              staging.read_frame(conn, run_id, "reconcile_failures")], ignore_index=True)
        held = pd.concat([staging.read_frame(conn, run_id, "held"),
                          staging.read_frame(conn, run_id, "reconcile_held")], ignore_index=True)
        counts = {}
        if not run["dry_run"]:
            counts = mis_load.merge(conn, run_id, source.id, changed_by=_operator())
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
                ledger.save_bookmark(conn, source.id, run_id, outcome.bookmark_to_keep(run))
    if counts.get("members_written", 0) + counts.get("households_written", 0) > BULK_ROWS:
        mis_load.analyze(db.get_engine())
    log.info("[%s] load%s: %s", source.id, " (dry run: nothing written)" if run["dry_run"] else "",
             _nonzero(counts) or "nothing to write")
    return {"run_id": run_id, "dry_run": run["dry_run"], **counts}


@_timed
def report(run_id: str) -> dict:
    """Write the district's fix-up workbook, close the run, drop its work tables; return the summary."""
    from misgw import reports

    run, config, source = _context(run_id)
    _stage(run_id, "report")
    engine = db.get_engine()
    # After the reform the district is gone: what goes back is addressed to the commune.
    addressed_by = "commune" if source.unit_era == "current" else "district"
    with engine.begin() as conn:
        ledger.update_run(conn, run_id, options={**run["options"], "addressed_by": addressed_by})
    workbooks = reports.write_fixup_workbooks(engine, run_id, config.output_dir / "fixup" / source.id, by=addressed_by)
    with engine.begin() as conn:
        year = conn.execute(sa.text(f"SELECT max(assessment_year::int) FROM {staging.table_name(run_id, 'members')}"
                                    " WHERE accepted::boolean")).scalar()
        if year:
            figures = poverty.movement(conn, year, "district" if source.district_code else "province",
                                       district_code=source.district_code,
                                       source_id=None if source.district_code else source.id)
            ledger.update_run(conn, run_id, reconcile={**(run["reconcile"] or {}), "poverty_movement": figures})
        attention = outcome.attention(ledger.get_run(conn, run_id))
        ledger.update_run(conn, run_id, status="attention" if attention else "success", stage="done",
                          attention=attention, finished_at=dt.datetime.now(dt.timezone.utc),
                          fixup_workbooks={d: str(p) for d, p in workbooks.items()})
        staging.drop_run_tables(conn, run_id)
        summary = outcome.summarise(ledger.get_run(conn, run_id))
    if attention:
        from misgw import alerts

        log.warning("[%s] needs attention: %s", source.id, attention)
        from misgw.reasons import vietnamese

        alerts.send(config.alerts, "attention", f"[MIS Gateway] {source.id}: lần chạy cần xem lại / a run needs "
                    "attention", f"{vietnamese(attention)}\n\n{attention}", {"source_id": source.id, "run_id": run_id, "summary": summary})
    log.info("[%s] %s", source.id, _one_line(summary))
    return summary


def fail_run(run_id: str, error: str) -> None:
    with db.get_engine().begin() as conn:
        ledger.update_run(conn, run_id, status="failed", error=error, finished_at=dt.datetime.now(dt.timezone.utc))
        staging.drop_run_tables(conn, run_id)


def run_source(config_path: str | None, source_id: str, dry_run: bool = False,
               files: list[str] | None = None, full: bool = False, approve: bool = False) -> dict:
    """All stages of one source in this process. A failure ends this source only, with one clear sentence.

    A run that would change more of its district than allowed stops before the load ("held") unless
    approve is given: the person running the CLI is the one who decides.
    """
    try:
        with source_lease(source_id):
            _close_interrupted(source_id)
            return _run_stages(config_path, source_id, dry_run, files, full, approve)
    except SourceBusy as busy:
        run_id = start_run(config_path, source_id, dry_run, files, full)
        fail_run(run_id, str(busy))
        with db.get_engine().begin() as conn:
            return outcome.summarise(ledger.get_run(conn, run_id))


def _run_stages(config_path, source_id, dry_run, files, full, approve) -> dict:
    run_id = start_run(config_path, source_id, dry_run, files, full)
    try:
        for stage in (extract, map_validate, reconcile):
            stage(run_id)
        figures = approval_needed(run_id)
        if figures and not approve:
            return close_unloaded(run_id, "held", (
                f"This run would change {figures['affected']} of {figures['registry_households']} households of the "
                f"district ({100 * figures['share']:.1f}%, more than {100 * figures['threshold']:.1f}%): nothing "
                f"loaded. Check `misgw runs show {run_id} --changes`, then run again with --approve to load it."))
        load(run_id)
        return report(run_id)
    except (UserError, db.DatabaseUnavailable) as exc:
        message = str(exc)
    except Exception as exc:  # an unexpected fault still fails only this source, and says where
        log.exception("[%s] unexpected error in run %s", source_id, run_id)
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        message = f"Unexpected error ({type(exc).__name__}): {first[:300]}"
    fail_run(run_id, message)
    with db.get_engine().begin() as conn:
        return outcome.summarise(ledger.get_run(conn, run_id))


def _close_interrupted(source_id: str) -> None:
    """With the lease held, a CLI run of this source still marked running had its process killed: say so,
    and drop what it left in staging (its load, one transaction, rolled back with the process)."""
    with db.get_engine().begin() as conn:
        dead = conn.execute(sa.text("""
            UPDATE mis.sync_run SET status = 'failed', finished_at = now(),
                   error = 'Interrupted: the process running it ended before the run finished; nothing of it was loaded.'
            WHERE source_id = :s AND status = 'running' AND options->'airflow' IS NULL RETURNING run_id"""),
            {"s": source_id}).scalars().all()
        for run_id in dead:
            staging.drop_run_tables(conn, run_id)
    if dead:
        log.warning("[%s] %d earlier run(s) had been interrupted and are now marked failed: %s",
                    source_id, len(dead), ", ".join(dead))


@contextmanager
def source_lease(source_id: str):
    """Held for the whole of a run of one source in this process: a second run of the same source at the
    same time is refused with who holds it (SourceBusy). A PostgreSQL session lock, so a killed process
    lets go of it by itself."""
    engine = db.get_engine()
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    got = False
    try:
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtext('misgw.run'), hashtext(:s))"),
                           {"s": source_id}).scalar()
        if not got:
            other = conn.execute(sa.text("""
                SELECT run_id, started_at FROM mis.sync_run WHERE source_id = :s
                AND status IN ('running', 'awaiting_approval') ORDER BY started_at DESC LIMIT 1"""),
                {"s": source_id}).first()
            since = f" (run {other[0]}, started {other[1]:%Y-%m-%d %H:%M})" if other else ""
            raise SourceBusy(f"Source '{source_id}' is being synced by another run{since}: this run did nothing. "
                             "Try again when that one ends.")
        yield
    finally:
        if got:  # pooled connections outlive close(): the lock must be let go of explicitly
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext('misgw.run'), hashtext(:s))"), {"s": source_id})
        conn.close()


def run_sync(config_path: str | None = None, source_ids: list[str] | None = None,
             dry_run: bool = False, full: bool = False, approve: bool = False, workers: int = 1) -> list[dict]:
    """Every source (or those asked for), each in one run; workers > 1 runs that many sources at a time,
    each in its own process (sources are independent: each has its own lease and load transaction)."""
    config = load_config(config_path)
    db.require_current_schema(db.get_engine())
    wanted = source_ids or [s.id for s in config.sources]
    for sid in wanted:
        config.source(sid)  # unknown ids fail before anything runs
    work = functools.partial(run_source, str(config.path), dry_run=dry_run, full=full, approve=approve)
    if workers <= 1 or len(wanted) <= 1:
        return [work(sid) for sid in wanted]
    order = _longest_first(wanted)
    results = dict(zip(order, _in_processes(work, order, workers, lambda sid, started, how: _died(
        str(config.path), sid, dry_run, started, how))))
    return [results[sid] for sid in wanted]


def _longest_first(source_ids: list[str]) -> list[str]:
    """The sources in the order to start them: those whose last run took longest first, so that a long
    source does not run alone at the end while the other workers idle. Sources never run keep their order,
    after those that have."""
    with db.get_engine().connect() as conn:
        took = dict(conn.execute(sa.text("""
            SELECT DISTINCT ON (source_id) source_id, extract(epoch FROM finished_at - started_at)
            FROM mis.sync_run WHERE source_id = ANY(:ids) AND finished_at IS NOT NULL
            ORDER BY source_id, started_at DESC"""), {"ids": source_ids}).all())
    return sorted(source_ids, key=lambda sid: -float(took.get(sid) or 0))


def _in_processes(work, source_ids: list[str], workers: int, died) -> list[dict]:
    """work(source_id) for each source in a process of its own, `workers` at a time; results in order.
    died(source_id, started, how): the summary of a source whose process ended without one.

    fork: the child keeps this process's logging and drops its pooled connections first. A new
    process for each source, not a pool: one that ran a province-sized source keeps much of that peak
    (Python hands memory back only in whole arenas), and the next source would start from there
    (measured at size L: 1,245 MB instead of 1,443 MB for the tree with two workers, for about 10%
    more time). A child that dies without an answer fails its source, not the sync.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    fork = multiprocessing.get_context("fork")

    def child(sid, sender):
        db.forget_engines()
        try:
            sender.send(work(sid))
        finally:
            sender.close()

    results: dict[str, dict] = {}
    pending, running = list(source_ids), {}
    while pending or running:
        while pending and len(running) < workers:
            sid = pending.pop(0)
            with db.get_engine().connect() as conn:
                started = conn.execute(sa.text("SELECT now()")).scalar()   # the database's clock, as the runs'
            receiver, sender = fork.Pipe(duplex=False)
            process = fork.Process(target=child, args=(sid, sender), name=f"misgw-{sid}")
            process.start()
            sender.close()
            running[process.sentinel] = (sid, process, receiver, started)
        for sentinel in wait(list(running)):
            sid, process, receiver, started = running.pop(sentinel)
            try:
                results[sid] = receiver.recv() if receiver.poll() else None
            except (EOFError, OSError):
                results[sid] = None
            receiver.close()
            process.join()
            if results[sid] is None:
                code = process.exitcode
                results[sid] = died(sid, started, f"signal {-code}" if code and code < 0 else f"exit code {code}")
    return [results[sid] for sid in source_ids]


def _died(config_path: str, source_id: str, dry_run: bool, started, how: str) -> dict:
    """The summary of a source whose process ended without one (killed, out of memory): its run, if it
    had begun one, is failed with the reason; its load, if it had begun, was rolled back by PostgreSQL."""
    message = f"The process running source '{source_id}' ended before it finished ({how}): nothing of it was loaded."
    with db.get_engine().begin() as conn:
        run_id = conn.execute(sa.text(
            "SELECT run_id FROM mis.sync_run WHERE source_id = :s AND status IN ('running', 'awaiting_approval') "
            "AND started_at >= :t ORDER BY started_at DESC LIMIT 1"), {"s": source_id, "t": started}).scalar()
    run_id = run_id or start_run(config_path, source_id, dry_run)
    fail_run(run_id, message)
    with db.get_engine().begin() as conn:
        return outcome.summarise(ledger.get_run(conn, run_id))


# ------------------------------------------------------------------ helpers
_MEMBER_STAGE_COLUMNS = [
    "source_file", "source_sheet", "source_row", "household_code", "member_key", "full_name", "relation_code",
    "sex", "birth_date", "birth_year", "ethnicity_code", "id_number", "id_kind", "commune_code",
    "commune_code_pre2025", "district_code_pre2025", "district_code", "name_key", "source_key", "province_code", "address", "area", "poverty_category",
    "assessment_year", "income_per_capita", *mis_load.INDICATORS, "deprivation_count",
    "approval_decision_no", "approval_date", "accepted", "local_code", "hamlet", "read_sheet",
    "origin_file", "origin_sheet", "origin_row", "origin_digest", "origin_household", "fixup_round", "cleared_fields"]


FAILURE_COLUMNS = ["file", "sheet", "row", "household_code", "rule", "severity", "field", "value", "message_vi",
                   "message_en", "district_code", "record_key", "fingerprint", "commune_code"]
HELD_COLUMNS = ["file", "sheet", "row", "household_code", "district_code", "record_key", "reason_vi", "cells",
                "reason_en", "commune_code", "origin_file", "origin_sheet", "origin_row", "origin_digest",
                "fixup_round"]


def _operator() -> str:
    """Who runs the sync, for the change history: MISGW_OPERATOR, the Airflow DAG run, or the OS user."""
    import getpass
    import os

    if os.environ.get("MISGW_OPERATOR"):
        return os.environ["MISGW_OPERATOR"]
    if os.environ.get("AIRFLOW_CTX_DAG_ID"):
        return f"airflow:{os.environ['AIRFLOW_CTX_DAG_ID']}/{os.environ.get('AIRFLOW_CTX_DAG_RUN_ID', '')}"
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _stage(run_id: str, stage: str) -> None:
    with db.get_engine().begin() as conn:
        ledger.update_run(conn, run_id, stage=stage)


def _reconcile_rejects(conn, run_id: str, source: Source) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Failures and held rows from the reconcile: conflicts (held back whole) and missing households (warned)."""
    from mappings import codelists

    outcome, member_outcome = staging.table_name(run_id, "outcome"), staging.table_name(run_id, "member_outcome")
    found = pd.DataFrame(conn.execute(sa.text(f"""
        SELECT o.source_file AS file, o.source_sheet AS sheet, o.source_row AS row, o.source_key AS record_key,
               o.household_code,
               o.reason AS rule, o.household_code AS value, NULL AS person,
               CASE WHEN o.outcome = 'missing' THEN o.detail END AS head,
               CASE WHEN o.outcome = 'missing' THEN o.registry_place ELSE coalesce(o.detail, o.registry_place) END
                   AS place, o.outcome
        FROM {outcome} o WHERE o.outcome = 'missing'
           OR (o.outcome = 'conflict' AND o.reason NOT IN ('reconcile.id_other_district', 'reconcile.ambiguous_person'))
        UNION ALL
        SELECT p.source_file, p.source_sheet, p.source_row, p.source_key, p.household_code, p.reason,
               CASE WHEN p.reason = 'reconcile.id_other_district' THEN s.id_number ELSE p.full_name END,
               p.full_name, NULL, p.detail, 'conflict'
        FROM {member_outcome} p JOIN {staging.table_name(run_id, 'members')} s
             ON s.source_file = p.source_file AND s.source_sheet = p.source_sheet AND s.source_row::int = p.source_row
        WHERE p.outcome = 'conflict' AND p.reason IN ('reconcile.id_other_district', 'reconcile.ambiguous_person')
        ORDER BY 1, 2, 3""")).mappings().all())
    if found.empty:
        return pd.DataFrame(columns=FAILURE_COLUMNS), pd.DataFrame(columns=HELD_COLUMNS)
    found.loc[found["outcome"] == "missing", "rule"] = "reconcile.missing"
    missing = found["outcome"] == "missing"
    registry = conn.execute(sa.text(f"""
        SELECT o.household_code, h.district_code_pre2025, h.commune_code FROM {outcome} o
        JOIN mis.household h ON h.household_id = o.registry_household_id WHERE o.outcome = 'missing'""")).all()
    districts = {code: district for code, district, _ in registry}
    members = staging.read_frame(conn, run_id, "members")
    communes = {**dict(zip(members["household_code"], members["commune_code"])),
                **{code: commune for code, _, commune in registry}}
    rules = validate.rule_book()
    texts = [validate.messages(rule, code, name=person or head or "", place=place or "")
             for rule, code, person, head, place in zip(found["rule"], found["household_code"], found["person"],
                                                        found["head"], found["place"])]
    failures = pd.DataFrame({
        "file": found["file"], "sheet": found["sheet"], "row": found["row"], "household_code": found["household_code"],
        "rule": found["rule"], "severity": found["rule"].map(lambda r: rules[r]["severity"]),
        "field": found["rule"].map(lambda r: rules[r]["field"]),
        "value": [validate.mask_id(v) if r == "reconcile.id_other_district" else v
                  for r, v in zip(found["rule"], found["value"])],
        "message_vi": [t[0] for t in texts], "message_en": [t[1] for t in texts],
        "district_code": found["household_code"].map(districts).where(missing, source.district_code),
        "record_key": found["record_key"], "commune_code": found["household_code"].map(communes)})
    failures["fingerprint"] = (failures["household_code"] + "|" + failures["rule"] + "|" +
                               failures["field"].fillna("") + "|" + found["person"].map(fold))
    # Every row of a household in conflict waits in the fix-up workbook, with the reason.
    conflict = failures[failures["severity"] == "reject"].drop_duplicates("household_code")
    rows = members[members["household_code"].isin(conflict["household_code"])]
    reason = dict(zip(conflict["household_code"], conflict["message_vi"]))
    reason_en = dict(zip(conflict["household_code"], conflict["message_en"]))
    labels = {f: codelists.labels(f) for f in ("relation", "sex", "ethnicity", "poverty_category", "area")}
    cells = [json.dumps({k: v for k, v in {
        "household_code": r["local_code"] or r["household_code"], "full_name": r["full_name"],
        "relation": labels["relation"].get(r["relation_code"]), "sex": labels["sex"].get(r["sex"]),
        "birth_date": r["birth_date"] or r["birth_year"], "ethnicity": labels["ethnicity"].get(r["ethnicity_code"]),
        "id_number": r["id_number"], "commune_code": r["commune_code_pre2025"] or r["commune_code"],
        "address": r["address"], "hamlet": r["hamlet"],
        "poverty_category": labels["poverty_category"].get(r["poverty_category"]),
        "assessment_year": r["assessment_year"], "income_per_capita": r["income_per_capita"]}.items()
        if v is not None and not pd.isna(v)}, ensure_ascii=False) for r in rows.to_dict("records")]
    held = pd.DataFrame({
        "file": rows["source_file"], "sheet": rows["source_sheet"], "row": rows["source_row"],
        "household_code": rows["household_code"], "district_code": rows["district_code"],
        "record_key": rows["source_key"], "reason_vi": rows["household_code"].map(reason), "cells": cells,
        "reason_en": rows["household_code"].map(reason_en), "commune_code": rows["commune_code"],
        **{c: rows[c] for c in ("origin_file", "origin_sheet", "origin_row", "origin_digest", "fixup_round")}})
    return failures[FAILURE_COLUMNS].astype("string"), held[HELD_COLUMNS].astype("string")


def _staged_counts(conn, run_id: str) -> dict:
    """The run's counts once the reconcile has held its conflicts back."""
    members, outcome = staging.table_name(run_id, "members"), staging.table_name(run_id, "outcome")
    row = conn.execute(sa.text(f"""
        WITH m AS (SELECT m.household_code, m.accepted::boolean AND o.household_code IS NULL AS ok
                   FROM {members} m LEFT JOIN {outcome} o ON o.household_code = m.household_code
                                                         AND o.outcome = 'conflict')
        SELECT count(*) AS rows_read,
               count(DISTINCT household_code) FILTER (WHERE ok) AS households_accepted,
               count(*) FILTER (WHERE ok) AS members_accepted,
               count(DISTINCT household_code) FILTER (WHERE NOT ok) AS households_rejected FROM m""")).mappings().one()
    rejected = conn.execute(sa.text(f"""
        SELECT count(*) FROM (SELECT file, sheet, row FROM {staging.table_name(run_id, 'failures')}
                              WHERE severity = 'reject'
                              UNION SELECT file, sheet, row FROM {staging.table_name(run_id, 'reconcile_failures')}
                              WHERE severity = 'reject') x""")).scalar()
    return {**{k: int(v) for k, v in row.items()}, "rows_rejected": int(rejected)}


def _with_lineage(failures: pd.DataFrame, mapped: pd.DataFrame) -> pd.DataFrame:
    rows = mapped.loc[failures["pos"]]
    out = pd.DataFrame({
        "file": rows["source_file"].to_numpy(), "sheet": rows["source_sheet"].to_numpy(),
        "row": rows["source_row"].to_numpy(), "household_code": failures["household_code"].to_numpy(),
        "rule": failures["rule"].to_numpy(), "severity": failures["severity"].to_numpy(),
        "field": failures["field"].to_numpy(), "value": failures["value"].to_numpy(),
        "message_vi": failures["message_vi"].to_numpy(), "message_en": failures["message_en"].to_numpy(),
        "district_code": rows["district_code"].to_numpy(), "record_key": rows["source_key"].to_numpy(),
        "commune_code": rows["commune_code"].to_numpy()})
    # One ledger entry per problem: the same rule on the same person's field in the next run is the same
    # entry, whatever the value now written there (a date fixed into another wrong date stays one entry).
    out["fingerprint"] = (out["household_code"].fillna(out["file"] + "#" + out["row"].astype(str)) + "|" +
                          out["rule"] + "|" + out["field"].fillna("") + "|" +
                          rows["name_key"].fillna("").map(validate.mask_ids_in_text).to_numpy())
    return out


def _held_rows(mapped: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    """Every row of the held-back households, as written, with why it is held: its own failures, or (a row
    that is fine) that another row of its household failed."""
    held = mapped[~mapped["accepted"]]
    raw_cols = [c for c in held.columns if c.startswith("raw_") and c != "raw_commune_any"]
    reject = failures[failures["severity"] == "reject"]
    reasons = reject.groupby(["file", "sheet", "row"])["message_vi"].agg(" ".join)
    reasons_en = reject.groupby(["file", "sheet", "row"])["message_en"].agg(" ".join)
    keys = pd.MultiIndex.from_arrays([held["source_file"], held["source_sheet"], held["source_row"]])
    cells = held[raw_cols].rename(columns=lambda c: c[4:])
    cells = cells.loc[:, cells.notna().any()]     # a roster fills a dozen of the vocabulary's fields
    # An ID read back from a number cell goes out as its 12 digits (text), so the returned workbook
    # does not lose the zero again; one that was never an ID stays as written for the person to fix.
    cells["id_number"] = held["id_number"].where(held["id_kind"].notna(), cells.get("id_number"))
    rule = validate.rule_book()["household.held_back"]
    return pd.DataFrame({
        "file": held["source_file"].to_numpy(), "sheet": held["source_sheet"].to_numpy(),
        "row": held["source_row"].to_numpy(), "household_code": held["household_code"].to_numpy(),
        "district_code": held["district_code"].to_numpy(), "record_key": held["source_key"].to_numpy(),
        "reason_vi": reasons.reindex(keys).fillna(rule["vi"]).to_numpy(),
        "cells": [json.dumps({k: v for k, v in rec.items() if v is not None and not pd.isna(v)}, ensure_ascii=False)
                  for rec in cells.to_dict("records")],
        "reason_en": reasons_en.reindex(keys).fillna(rule["en"]).to_numpy(),
        "commune_code": held["commune_code"].to_numpy(),
        **{c: held[c].to_numpy() for c in ("origin_file", "origin_sheet", "origin_row", "origin_digest",
                                            "fixup_round")}})


def _counts(mapped: pd.DataFrame, failures: pd.DataFrame) -> dict:
    accepted = mapped[mapped["accepted"]]
    rejected_rows = failures.loc[failures["severity"] == "reject", ["file", "sheet", "row"]].drop_duplicates()
    return {
        "rows_read": int(len(mapped)),
        "households_accepted": int(accepted["household_code"].nunique()),
        "members_accepted": int(len(accepted)),
        "rows_rejected": int(len(rejected_rows)),
        "households_rejected": int(mapped.loc[~mapped["accepted"], "household_code"].nunique()),
    }


def _nonzero(counts: dict) -> str:
    """"448 new, 2 missing": the counts a person reads, without the zeros."""
    return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v)


def _one_line(summary: dict) -> str:
    """The run in one line, its outcome first (what an operator scanning a log needs)."""
    outcome = summary["status"].upper() + (" (dry run)" if summary.get("dry_run") else "") + \
        (" (no change at source)" if summary.get("unchanged_at_source") else "")
    return (f"{outcome}: {summary['rows_read']} rows, {summary['households_accepted']} households accepted, "
            f"{summary['rows_rejected']} rows rejected, households {_nonzero(summary['reconcile']) or 'none'}, "
            f"fix-up workbooks {', '.join(summary['fixup_workbooks'].values()) or 'none'}")
