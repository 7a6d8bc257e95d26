"""Map and validate stage: every roster sheet mapped to MIS fields, its rows judged, members and failures staged."""
from __future__ import annotations

import json
import logging

import pandas as pd

from expectations import docs as data_docs
from expectations import validate
from expectations.validate import judge
from mappings.roster import household_groups, one_row_per_household, translate, unit_codes
from mappings.text import fold_series
from mappings.vocabulary import load_mapping
from mis import db, fixups, households, runs, snapshot, staging
from mis.record import FAILURE_COLUMNS, HELD_COLUMNS, INDICATORS, MEMBER_STAGE_COLUMNS
from misgw.config import Source
from misgw.stages import household_scope, map_roster
from misgw.stages.run_context import context, operator, timed

log = logging.getLogger("misgw")

@timed
def map_validate(run_id: str) -> dict:
    """Map every roster sheet to MIS fields, judge the rows, and stage members and failures."""
    ctx = context(run_id, "map_validate")
    run, config, source, options = ctx.run, ctx.config, ctx.source, ctx.options
    if options.get("unchanged"):
        return nothing_changed(run_id, source)
    mapping = load_mapping(source.mapping_path, source.ethnicity_edition)
    engine = db.get_engine()
    placement, province_pre2025 = map_roster.placement_for(engine, config, source)
    with engine.connect() as conn:
        fixed = fixups.fixed_origins(conn, source.id)
    # A workbook read again maps only the rows not found in their place, and their households.
    narrows, not_narrowed = bool(options.get("compare")) and not options.get("keyed"), None
    while True:
        with engine.begin() as conn:
            raw, settled = _raw_rows(conn, run_id, source.id, narrows)
            read_counts = staging.counts_by_sheet(conn, run_id, "read") if options.get("keyed") else None
        # A partial read (a watermark, or only changed households) of a database or a web service that
        # brought no record (row 1 is the header) found nothing new.
        if options.get("partial") and not (raw["row"].astype(int) > 1).any():
            return nothing_changed(run_id, source)
        try:
            roster = map_roster.map_roster(raw, mapping, source, source.assessment_year, province_pre2025,
                                           config.bare_values.get("relation"), read_counts,
                                           options.get("read") or source.id, fixed=fixed, settled=settled)
            del raw
            frame = roster.frame
            groups = household_groups(frame)
            if settled is not None:
                _settled_apart(roster, groups, settled)
            kept = None if options.get("keyed") else _unchanged_households_out(
                run_id, source, frame, groups, compare=options.get("compare") and not roster.fixups,
                stores=not run["dry_run"])
            if settled is not None and kept is None:
                raise map_roster.NotNarrowed("the records read cannot be compared with the last load's")
            break
        except map_roster.NotNarrowed as e:
            log.info("[%s] map/validate: %s; every row is mapped", source.id, e)
            narrows, not_narrowed = False, str(e)
    reports, accounts = roster.reports, roster.accounts
    households_one_row = one_row_per_household(frame, groups)
    if options.get("compare") and not options.get("keyed"):
        # How much of the read needed no mapping (mis.snapshot.narrow_rows), for the run's summary.
        with engine.begin() as conn:
            latest = runs.get_run(conn, run_id)["options"]
            runs.update_run(conn, run_id, options={
                **latest, "rows_settled": 0 if settled is None else int(len(settled.rows)),
                **({"not_narrowed": not_narrowed} if not_narrowed else {})})
    if kept is not None:
        accounts = map_roster._add(accounts, map_roster.count_rows(frame, kept), "unchanged")
        # Where households are left out, a household's block of rows ends (mappings.household_codes).
        left_out = (~kept).groupby([frame["source_file"], frame["source_sheet"]]).shift(1, fill_value=False)
        frame["block_break"] = left_out.to_numpy() | (frame["block_break"].fillna(False).astype(bool).to_numpy()
                                                      if "block_break" in frame else False)
        frame = frame[kept.to_numpy()].reset_index(drop=True)
    indicators = {c["field"] for r in reports if r["roster"] for c in r["columns"]} & set(INDICATORS)
    if frame.empty:
        return nothing_changed(run_id, source, reports, accounts, roster)
    province = config.province_code_current
    mapped = translate(frame, mapping, placement, source.district_code, province, source.unit_era,
                       households_one_row, bare=config.bare_values.get("relation"), indicator_columns=indicators)
    del frame
    mapped, scope_note = household_scope.apply(run_id, run, config, source, mapped, unit_codes(placement),
                                               operator())
    with engine.connect() as conn:
        registry_ids = households.registry_ids(conn, mapped["id_number"].where(mapped["id_kind"].notna()).dropna())
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
    members = mapped[MEMBER_STAGE_COLUMNS]
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
        runs.update_run(conn, run_id, mapping_report=reports, data_docs=str(docs_page),
                        notices=notices, **counts)
    log.info("[%s] map/validate: %d rows, %d households accepted, %d rows rejected",
             source.id, counts["rows_read"], counts["households_accepted"], counts["rows_rejected"])
    return {"run_id": run_id, **counts}


def _raw_rows(conn, run_id: str, source_id: str, narrows: bool) -> tuple[pd.DataFrame, map_roster.SettledRows | None]:
    """The run's raw rows to map, and the rows left out as settled (mis.snapshot.narrow_rows), if any."""
    if narrows and snapshot.has_snapshot(conn, source_id):
        raw, left = snapshot.narrow_rows(conn, run_id, source_id)
        if left.empty:          # nothing placed (the first read since migration 0014): every row, as read
            return raw.drop(columns="placed_household"), None
        log.info("[%s] map/validate: %d rows found in their place, in households not changed since the "
                 "last load, are not mapped again", source_id, len(left))
        return raw, map_roster.SettledRows(left, runs.sheet_reports(conn, source_id))
    snapshot.forget_settled(conn, run_id)
    return staging.read_frame(conn, run_id, "raw"), None


def _settled_apart(roster, groups: pd.Series, settled) -> None:
    """Raises NotNarrowed when a row mapped names a household whose rows were left out as settled (a row
    added far from its household), or the read brought returned fix-up workbooks."""
    if roster.fixups:
        raise map_roster.NotNarrowed("returned fix-up workbooks are in the read")
    joined = groups.isin(set(settled.rows["household"].dropna()))
    if joined.any():
        raise map_roster.NotNarrowed(f"{int(joined.sum())} row(s) read belong to households otherwise unchanged")


def _unchanged_households_out(run_id: str, source: Source, frame: pd.DataFrame, groups: pd.Series,
                              compare: bool, stores: bool) -> pd.Series | None:
    """A roster without record keys, mapped: which rows go on (a mask), only the households whose rows
    changed since the snapshot (mis.snapshot.narrow_frame); None when all go on. The run is then partial:
    households not judged again are not missing. groups: each row's household (mappings.roster.household_groups)."""
    with db.get_engine().begin() as conn:
        kept, narrowed = snapshot.narrow_frame(conn, run_id, source.id, frame, groups, compare, stores)
        if narrowed["narrowed"]:
            options = runs.get_run(conn, run_id)["options"]
            runs.update_run(conn, run_id, options={**options, "partial": True, "narrowed": narrowed})
    if not narrowed["narrowed"]:
        return None
    log.info("[%s] map/validate: %d households changed since the last load, %d gone; %d rows go on, "
             "%d rows of unchanged households are not judged again", source.id, narrowed["households_changed"],
             narrowed["households_gone"], narrowed["rows_kept"], narrowed["rows_unchanged"])
    return kept


def nothing_changed(run_id: str, source: Source, reports: list | None = None, accounts: pd.DataFrame | None = None,
                     roster=None) -> dict:
    """Nothing new at the source: empty work tables, so the later stages run and change nothing."""
    with db.get_engine().begin() as conn:
        staging.write_frame(conn, run_id, "members", pd.DataFrame(columns=MEMBER_STAGE_COLUMNS))
        staging.write_frame(conn, run_id, "failures", pd.DataFrame(columns=FAILURE_COLUMNS))
        staging.write_frame(conn, run_id, "held", pd.DataFrame(columns=HELD_COLUMNS))
        staging.write_frame(conn, run_id, "accounts", (accounts if accounts is not None else
                                                       pd.DataFrame(columns=map_roster.ACCOUNT_COLUMNS)).astype("string"))
        counts = dict.fromkeys(("rows_read", "households_accepted", "members_accepted", "rows_rejected",
                                "households_rejected"), 0)
        notices = {"files_stopped": roster.stopped, "year_notes": roster.notes,
                   "fixup_notes": roster.fixup_notes} if roster is not None else {}
        runs.update_run(conn, run_id, mapping_report=reports or [], notices=notices, **counts)
    log.info("[%s] map/validate: nothing changed at the source, nothing to judge", source.id)
    return {"run_id": run_id, **counts}


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
