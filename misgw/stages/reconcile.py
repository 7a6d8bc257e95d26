"""Reconcile stage: the accepted households classified against the registry as it stands, before the load."""
from __future__ import annotations

import json
import logging

import pandas as pd

from expectations import validate
from mappings.text import fold
from mis import accounts, db, reconcile_findings, runs, staging
from mis import reconcile as mis_reconcile
from mis.record import FAILURE_COLUMNS, HELD_COLUMNS
from misgw.config import Source
from misgw.stages.run_context import context, nonzero, timed

log = logging.getLogger("misgw")

@timed
def reconcile(run_id: str) -> dict:
    """Classify the accepted households against the registry as it stands (before the load)."""
    source = context(run_id, "reconcile").source
    with db.get_engine().begin() as conn:
        result = reconcile_in(conn, run_id, source)
    log.info("[%s] reconcile: households %s; people %s", source.id, nonzero(result["households"]),
             nonzero(result["members"]))
    return {"run_id": run_id, **result}


def reconcile_in(conn, run_id: str, source: Source) -> dict:
    """Classify, hold the conflicts back with their reasons, flag the missing households; in conn's transaction."""
    run = runs.get_run(conn, run_id)
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
    failures, held = _rejects(conn, run_id, source)
    staging.write_frame(conn, run_id, "reconcile_failures", failures)
    staging.write_frame(conn, run_id, "reconcile_held", held)
    # Every row read is loaded, unchanged, rejected, held, superseded or skipped, and a held row says why:
    # proved here, before anything loads.
    rows = accounts.row_accounts(conn, run_id)
    accounts.check(rows)
    runs.update_run(conn, run_id, reconcile=result, registry_version=version, row_accounts=rows,
                    rows_held=accounts.totals(rows)["held"], **accounts.staged_counts(conn, run_id))
    return result


def _rejects(conn, run_id: str, source: Source) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Failures and held rows from the reconcile: conflicts (held back whole) and missing households (warned)."""
    from mappings import codelists

    found = reconcile_findings.turned_back(conn, run_id)
    if found.empty:
        return pd.DataFrame(columns=FAILURE_COLUMNS), pd.DataFrame(columns=HELD_COLUMNS)
    found.loc[found["outcome"] == "missing", "rule"] = "reconcile.missing"
    missing = found["outcome"] == "missing"
    registry = reconcile_findings.missing_places(conn, run_id)
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
