"""Runs one source through the stages (extract, map and validate, reconcile, load, report), by run id."""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from connectors import spreadsheet
from expectations.validate import judge
from mappings.roster import map_sheet, translate
from mappings.text import fold_series
from mappings.vocabulary import MappingError, load_mapping
from mis import db, ledger, load as mis_load, poverty, reconcile as mis_reconcile, staging, units
from misgw.config import Config, Source, load_config
from misgw.errors import UserError

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
              files: list[str] | None = None) -> str:
    """Record a new run of one source and return its id; later stages need only that id."""
    config = load_config(config_path)
    source = config.source(source_id)
    run_id = new_run_id()
    with db.get_engine().begin() as conn:
        ledger.open_run(conn, run_id, source.id, config.province_code, source.district_code, dry_run,
                        {"config": str(config.path), "files": files or []})
    return run_id


def extract(run_id: str) -> dict:
    """Read the source's files as they are into the run's raw table (file, sheet, row, cells)."""
    run, config, source = _context(run_id)
    _stage(run_id, "extract")
    if source.kind != "spreadsheet":
        raise UserError(f"Source '{source.id}': kind '{source.kind}' is not supported yet.")
    files = spreadsheet.discover(source.path, run["options"].get("files"))
    if not files:
        raise spreadsheet.SourceFileError(f"Source '{source.id}': no spreadsheet files in {source.path}.")

    def raw_rows():
        for path in files:
            for sheet in spreadsheet.read_sheets(path):
                for number, cells in sheet.rows:
                    yield path.name, sheet.sheet, number, json.dumps(cells, ensure_ascii=False)

    with db.get_engine().begin() as conn:
        table = staging.create_table(conn, run_id, "raw",
                                     {"file": "text", "sheet": "text", "row": "integer", "cells": "text"})
        n = staging.copy_rows(conn, table, ["file", "sheet", "row", "cells"], raw_rows())
    log.info("[%s] extract: %d files, %d non-empty rows", source.id, len(files), n)
    return {"run_id": run_id, "table": table, "files": [p.name for p in files], "rows": n}


def map_validate(run_id: str) -> dict:
    """Map every roster sheet to MIS fields, judge the rows, and stage members and failures."""
    run, config, source = _context(run_id)
    _stage(run_id, "map_validate")
    mapping = load_mapping(source.mapping_path)
    engine = db.get_engine()
    with engine.begin() as conn:
        raw = staging.read_frame(conn, run_id, "raw")
        placement = (units.current_communes(engine, config.province_code_current) if source.unit_era == "current"
                     else units.placement(engine, config.province_code))
    if placement.empty:
        raise UserError("The MIS has no administrative units for province "
                        f"{config.province_code}: run `misgw admin-units import` first.")
    from misgw.reports import HIDDEN_SHEET, fixup_lineage

    fixups = fixup_lineage(raw, source.id)
    frames, reports = [], []
    for (file, sheet), part in raw.groupby(["file", "sheet"], sort=False):
        if sheet == HIDDEN_SHEET and file in fixups:
            continue
        rows = _dense_rows(part)
        mapped, report = map_sheet(file, sheet, rows, mapping)
        if file in fixups and mapped is not None:
            # A returned fix-up workbook is read in its rows' original sheets: a roster with one sheet
            # per commune names the commune by its sheet.
            lineage = fixups[file].set_index(fixups[file]["fixup_row"].astype(int))
            mapped["source_sheet"] = mapped["source_row"].map(lineage["sheet"]).fillna(mapped["source_sheet"])
            report.reason = "fix-up workbook returned by the district: its rows replace the rows they fix"
        reports.append(report.as_dict())
        if mapped is not None and len(mapped):
            frames.append(mapped)
    uncovered = [r for r in reports if r["missing_fields"]]
    if uncovered or not frames:
        problems = "; ".join(f"{r['file']} / {r['sheet']}: {r['reason']}" for r in (uncovered or reports))
        raise MappingError(f"Source '{source.id}': {'the headers are not recognised' if uncovered else 'no sheet holds a roster'} "
                           f"({problems or 'no sheets'}). Add the wordings to a mapping YAML; "
                           f"`misgw mapping suggest FILE` proposes one.")
    frame = _supersede(pd.concat(frames, ignore_index=True), fixups)
    province = config.province_code_current if source.unit_era == "current" else config.province_code
    mapped = translate(frame, mapping, placement, source.district_code, province, source.unit_era)
    indicators = {c["field"] for r in reports if r["roster"] for c in r["columns"]} & set(mis_load.INDICATORS)
    with engine.connect() as conn:
        registry_ids = ledger.registry_ids(conn, mapped["id_number"].where(mapped["id_kind"].notna()).dropna())
    docs_dir = config.output_dir / "data-docs"
    failures, held = judge(mapped, source.district_code, config.rules, indicator_columns=indicators,
                           registry_ids=registry_ids, docs=(str(docs_dir), f"{source.id}-{run_id}"))
    mapped = mapped.reset_index(drop=True)
    mapped["accepted"] = ~held
    mapped["member_key"] = mapped["id_number"].where(mapped["id_kind"].notna(),
                                                     fold_series(mapped["full_name"]) + "|" +
                                                     mapped["birth_year"].astype("string").fillna(""))
    failures = _with_lineage(failures, mapped, source.id)
    members = mapped[_MEMBER_STAGE_COLUMNS]
    with engine.begin() as conn:
        staging.write_frame(conn, run_id, "members", members)
        staging.write_frame(conn, run_id, "failures", failures)
        staging.write_frame(conn, run_id, "held", _held_rows(mapped, failures))
        counts = _counts(mapped, failures)
        ledger.update_run(conn, run_id, mapping_report=reports, data_docs=str(docs_dir / "index.html"), **counts)
    log.info("[%s] map/validate: %d rows, %d households accepted, %d rows rejected",
             source.id, counts["rows_read"], counts["households_accepted"], counts["rows_rejected"])
    return {"run_id": run_id, **counts}


def reconcile(run_id: str) -> dict:
    """Classify the accepted households against the registry as it stands (before the load)."""
    run, config, source = _context(run_id)
    _stage(run_id, "reconcile")
    with db.get_engine().begin() as conn:
        result = mis_reconcile.classify(conn, run_id, source.id, source.district_code)
        if result["households"]["conflict"]:
            _hold_conflicts(conn, run_id, source.id)
        ledger.update_run(conn, run_id, reconcile=result)
    log.info("[%s] reconcile: %s", source.id, result["households"])
    return {"run_id": run_id, **result}


def load(run_id: str) -> dict:
    """One transaction: merge accepted households, record rejects, resolve fixed entries. Dry run: rejects only."""
    run, config, source = _context(run_id)
    _stage(run_id, "load")
    with db.get_engine().begin() as conn:
        # A retried load starts clean: what an earlier attempt wrote for this run is replaced, not doubled.
        conn.execute(sa.text("DELETE FROM mis.reject WHERE run_id = :r"), {"r": run_id})
        conn.execute(sa.text("DELETE FROM mis.held_row WHERE run_id = :r"), {"r": run_id})
        failures = staging.read_frame(conn, run_id, "failures")
        held = staging.read_frame(conn, run_id, "held")
        counts = {}
        if not run["dry_run"]:
            counts = mis_load.merge(conn, run_id, source.id, changed_by=_operator())
        ledger.record_rejects(conn, run_id, source.id, source.district_code, failures, run["dry_run"])
        ledger.record_held_rows(conn, run_id, source.id, source.district_code, held)
        if not run["dry_run"]:
            counts["entries_resolved"] = ledger.resolve_fixed(conn, run_id, source.id, "_hh")
    log.info("[%s] load%s: %s", source.id, " (dry run: nothing written)" if run["dry_run"] else "", counts)
    return {"run_id": run_id, "dry_run": run["dry_run"], **counts}


def report(run_id: str) -> dict:
    """Write the district's fix-up workbook, close the run, drop its work tables; return the summary."""
    from misgw import reports

    run, config, source = _context(run_id)
    _stage(run_id, "report")
    engine = db.get_engine()
    workbook = reports.write_fixup_workbook(engine, run_id, config.output_dir / "fixup" / source.id)
    with engine.begin() as conn:
        year = conn.execute(sa.text(f"SELECT max(assessment_year::int) FROM {staging.table_name(run_id, 'members')}"
                                    " WHERE accepted::boolean")).scalar()
        if year:
            figures = poverty.movement(conn, year, "district" if source.district_code else "province",
                                       district_code=source.district_code,
                                       source_id=None if source.district_code else source.id)
            ledger.update_run(conn, run_id, reconcile={**(run["reconcile"] or {}), "poverty_movement": figures})
        ledger.update_run(conn, run_id, status="success", stage="done", finished_at=dt.datetime.now(dt.timezone.utc),
                          fixup_workbook=str(workbook) if workbook else None)
        staging.drop_run_tables(conn, run_id)
        summary = summarise(ledger.get_run(conn, run_id))
    log.info("[%s] done: %s", source.id, _one_line(summary))
    return summary


def fail_run(run_id: str, error: str) -> None:
    with db.get_engine().begin() as conn:
        ledger.update_run(conn, run_id, status="failed", error=error, finished_at=dt.datetime.now(dt.timezone.utc))
        staging.drop_run_tables(conn, run_id)


def run_source(config_path: str | None, source_id: str, dry_run: bool = False,
               files: list[str] | None = None) -> dict:
    """All stages of one source in this process. A failure ends this source only, with one clear sentence."""
    run_id = start_run(config_path, source_id, dry_run, files)
    try:
        for stage in (extract, map_validate, reconcile, load):
            stage(run_id)
        return report(run_id)
    except (UserError, db.DatabaseUnavailable) as exc:
        message = str(exc)
    except Exception as exc:  # an unexpected fault still fails only this source, and says where
        log.exception("[%s] unexpected error in run %s", source_id, run_id)
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        message = f"Unexpected error ({type(exc).__name__}): {first[:300]}"
    fail_run(run_id, message)
    with db.get_engine().begin() as conn:
        return summarise(ledger.get_run(conn, run_id))


def run_sync(config_path: str | None = None, source_ids: list[str] | None = None,
             dry_run: bool = False) -> list[dict]:
    config = load_config(config_path)
    db.require_current_schema(db.get_engine())
    wanted = source_ids or [s.id for s in config.sources]
    for sid in wanted:
        config.source(sid)  # unknown ids fail before anything runs
    return [run_source(str(config.path), sid, dry_run) for sid in wanted]


def summarise(run: dict) -> dict:
    return {
        "run_id": run["run_id"], "source_id": run["source_id"], "status": run["status"],
        "dry_run": run["dry_run"], "rows_read": run["rows_read"] or 0,
        "households_accepted": run["households_accepted"] or 0, "members_accepted": run["members_accepted"] or 0,
        "rows_rejected": run["rows_rejected"] or 0, "households_rejected": run["households_rejected"] or 0,
        "reconcile": (run["reconcile"] or {}).get("households", {}),
        "poverty_movement": (run["reconcile"] or {}).get("poverty_movement", []),
        "fixup_workbook": run["fixup_workbook"], "data_docs": run.get("data_docs"), "error": run["error"],
        "mapping": [{"file": m["file"], "sheet": m["sheet"], "roster": m["roster"], "header_row": m["header_row"],
                     "columns_mapped": len(m["columns"]), "ignored_columns": m["ignored_columns"],
                     "skipped_rows": {k: len(v) for k, v in m["skipped_rows"].items()},
                     **({"reason": m["reason"]} if m.get("reason") else {})}
                    for m in (run["mapping_report"] or [])],
    }


# ------------------------------------------------------------------ helpers
_MEMBER_STAGE_COLUMNS = [
    "source_file", "source_sheet", "source_row", "household_code", "member_key", "full_name", "relation_code",
    "sex", "birth_date", "birth_year", "ethnicity_code", "id_number", "id_kind", "commune_code",
    "commune_code_pre2025", "district_code_pre2025", "province_code", "address", "area", "poverty_category",
    "assessment_year", "income_per_capita", *mis_load.INDICATORS, "deprivation_count",
    "approval_decision_no", "approval_date", "accepted"]


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


def _hold_conflicts(conn, run_id: str, source_id: str) -> None:
    """Households in conflict with the registry are held back like rejected ones, with the reason."""
    from mappings import codelists

    outcome = staging.table_name(run_id, "outcome")
    members_table = staging.table_name(run_id, "members")
    conflicts = pd.DataFrame(conn.execute(sa.text(
        f"SELECT household_code, registry_place FROM {outcome} WHERE outcome = 'conflict'")).all(),
        columns=["household_code", "registry_place"])
    conn.execute(sa.text(f"UPDATE {members_table} SET accepted = 'False' WHERE household_code IN "
                         f"(SELECT household_code FROM {outcome} WHERE outcome = 'conflict')"))
    members = staging.read_frame(conn, run_id, "members")
    rows = members[members["household_code"].isin(conflicts["household_code"])]
    place = dict(zip(conflicts["household_code"], conflicts["registry_place"]))
    heads = rows.sort_values("source_row").drop_duplicates("household_code")
    new_failures = pd.DataFrame({
        "file": heads["source_file"], "sheet": heads["source_sheet"], "row": heads["source_row"],
        "household_code": heads["household_code"], "rule": "reconcile.conflict", "severity": "reject",
        "field": "household_code", "value": heads["household_code"],
        "message_vi": [_conflict_vi(c, place[c], source_id) for c in heads["household_code"]],
        "message_en": [f"Household {c}: conflict with the MIS ({place[c]}); a person must decide."
                       for c in heads["household_code"]]})
    new_failures["fingerprint"] = new_failures["household_code"] + "|reconcile.conflict"
    failures = pd.concat([staging.read_frame(conn, run_id, "failures"), new_failures.astype("string")],
                         ignore_index=True)
    staging.write_frame(conn, run_id, "failures", failures)
    labels = {f: codelists.labels(f) for f in ("relation", "sex", "ethnicity", "poverty_category", "area")}
    cells = [json.dumps({k: v for k, v in {
        "household_code": r["household_code"], "full_name": r["full_name"],
        "relation": labels["relation"].get(r["relation_code"]), "sex": labels["sex"].get(r["sex"]),
        "birth_date": r["birth_date"] or r["birth_year"], "ethnicity": labels["ethnicity"].get(r["ethnicity_code"]),
        "id_number": r["id_number"], "commune_code": r["commune_code_pre2025"], "address": r["address"],
        "poverty_category": labels["poverty_category"].get(r["poverty_category"]),
        "assessment_year": r["assessment_year"], "income_per_capita": r["income_per_capita"]}.items()
        if v is not None and not pd.isna(v)}, ensure_ascii=False) for r in rows.to_dict("records")]
    held = pd.concat([staging.read_frame(conn, run_id, "held"), pd.DataFrame({
        "file": rows["source_file"], "sheet": rows["source_sheet"], "row": rows["source_row"],
        "household_code": rows["household_code"],
        "reason_vi": rows["household_code"].map(lambda c: _conflict_vi(c, place[c], source_id)),
        "cells": cells}).astype("string")], ignore_index=True)
    staging.write_frame(conn, run_id, "held", held)
    accepted = members[~members["household_code"].isin(conflicts["household_code"]) &
                       members["accepted"].eq("True")]
    ledger.update_run(conn, run_id, households_accepted=int(accepted["household_code"].nunique()),
                      members_accepted=int(len(accepted)),
                      households_rejected=int(members.loc[~members.index.isin(accepted.index), "household_code"].nunique()),
                      rows_rejected=int(failures.loc[failures["severity"] == "reject", ["file", "sheet", "row"]]
                                        .drop_duplicates().shape[0]))


def _conflict_vi(code: str, place: str | None, source_id: str) -> str:
    if place and not place.startswith(f"{source_id} /"):
        return (f"Mã hộ «{code}» đã có trong cơ sở dữ liệu ở nơi khác ({place}). Hai hộ không thể trùng mã: "
                "kiểm tra lại mã hộ, hoặc báo cán bộ tỉnh nếu hộ đã chuyển đến.")
    return (f"Hộ «{code}» có thành viên trùng số định danh với người của huyện khác, hoặc có hai người trong cơ sở dữ "
            "liệu giống nhau đến mức không phân biệt được: cần cán bộ kiểm tra trước khi nhận hộ này.")


def _supersede(frame: pd.DataFrame, fixups: dict) -> pd.DataFrame:
    """Drop the roster rows a returned fix-up workbook replaces (by its lineage, and by household)."""
    if not fixups:
        return frame
    lineage = pd.concat(fixups.values(), ignore_index=True)
    replaced = set(zip(lineage["file"], lineage["sheet"], lineage["row"].astype(int)))
    is_fix = frame["source_file"].isin(list(fixups))
    codes = set(frame.loc[is_fix, "household_code"].dropna().astype(str)) | set(lineage["household_code"].dropna())
    keys = pd.MultiIndex.from_arrays([frame["source_file"], frame["source_sheet"], frame["source_row"].astype(int)])
    old = ~is_fix & (pd.Series(keys.isin(list(replaced)), index=frame.index) |
                     frame["household_code"].astype("string").isin(codes))
    log.info("fix-up workbook(s) %s replace %d roster rows", ", ".join(fixups), int(old.sum()))
    return frame[~old].reset_index(drop=True)


def _dense_rows(part: pd.DataFrame) -> list[list]:
    numbers = part["row"].astype(int).to_numpy()
    rows: list[list] = [[] for _ in range(int(numbers.max()))]
    for n, cells in zip(numbers, part["cells"]):
        rows[n - 1] = json.loads(cells)
    return rows


def _with_lineage(failures: pd.DataFrame, mapped: pd.DataFrame, source_id: str) -> pd.DataFrame:
    rows = mapped.loc[failures["pos"]]
    out = pd.DataFrame({
        "file": rows["source_file"].to_numpy(), "sheet": rows["source_sheet"].to_numpy(),
        "row": rows["source_row"].to_numpy(), "household_code": failures["household_code"].to_numpy(),
        "rule": failures["rule"].to_numpy(), "severity": failures["severity"].to_numpy(),
        "field": failures["field"].to_numpy(), "value": failures["value"].to_numpy(),
        "message_vi": failures["message_vi"].to_numpy(), "message_en": failures["message_en"].to_numpy()})
    # One ledger entry per problem: the same problem in the next run is the same entry.
    out["fingerprint"] = (out["household_code"].fillna(out["file"] + "#" + out["row"].astype(str)) + "|" +
                          out["rule"] + "|" + rows["full_name"].fillna("").to_numpy() + "|" +
                          out["value"].astype("string").fillna(""))
    return out


def _held_rows(mapped: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    held = mapped[~mapped["accepted"]]
    raw_cols = [c for c in held.columns if c.startswith("raw_") and c != "raw_commune_any"]
    reject = failures[failures["severity"] == "reject"]
    reasons = reject.groupby(["file", "sheet", "row"])["message_vi"].agg(" ".join)
    keys = list(zip(held["source_file"], held["source_sheet"], held["source_row"]))
    cells = held[raw_cols].rename(columns=lambda c: c[4:])
    # An ID read back from a number cell goes out as its 12 digits (text), so the returned workbook
    # does not lose the zero again; one that was never an ID stays as written for the person to fix.
    cells["id_number"] = held["id_number"].where(held["id_kind"].notna(), cells.get("id_number"))
    return pd.DataFrame({
        "file": held["source_file"].to_numpy(), "sheet": held["source_sheet"].to_numpy(),
        "row": held["source_row"].to_numpy(), "household_code": held["household_code"].to_numpy(),
        "reason_vi": [reasons.get(k) for k in keys],
        "cells": [json.dumps({k: v for k, v in rec.items() if v is not None and not pd.isna(v)}, ensure_ascii=False)
                  for rec in cells.to_dict("records")]})


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


def _one_line(summary: dict) -> str:
    return (f"{summary['rows_read']} rows, {summary['households_accepted']} households accepted, "
            f"{summary['rows_rejected']} rows rejected, reconcile {summary['reconcile']}, "
            f"fix-up workbook {summary['fixup_workbook']}")
