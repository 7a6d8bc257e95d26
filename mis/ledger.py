"""The rejects ledger: what each run turned back or held, and the open entries district staff must fix."""
from __future__ import annotations

import hashlib

import pandas as pd
import sqlalchemy as sa

from mis.scratch import HH
from mis.staging import copy_frame, table_name

REJECT_COLUMNS = ["run_id", "entry_id", "source_id", "file", "sheet", "row", "record_key", "household_code",
                  "district_code", "rule", "severity", "field", "value", "message_vi", "message_en", "commune_code"]


def record_rejects(conn, run_id: str, source_id: str, failures: pd.DataFrame, dry_run: bool) -> None:
    """Write the run's failures; open or refresh one ledger entry per problem (not for a dry run)."""
    failures = failures.copy()
    # A fingerprint carries a person's name key: one pasted page in a name cell must not outgrow the index.
    long = failures["fingerprint"].str.len() > 200
    if long.any():
        failures.loc[long, "fingerprint"] = failures.loc[long, "fingerprint"].map(
            lambda f: f[:100] + "#" + hashlib.sha1(f.encode()).hexdigest())
    failures["run_id"] = run_id
    failures["source_id"] = source_id
    failures["entry_id"] = pd.NA
    if not dry_run and len(failures):
        entries = ["fingerprint", "household_code", "district_code", "rule", "commune_code"]
        fp = failures[entries].drop_duplicates("fingerprint")
        conn.exec_driver_sql("DROP TABLE IF EXISTS _fp")
        conn.exec_driver_sql("CREATE TEMP TABLE _fp (fingerprint text, household_code text, district_code text, "
                             "rule text, commune_code text) ON COMMIT DROP")
        copy_frame(conn, "_fp", fp)
        conn.execute(sa.text("""
            INSERT INTO mis.reject_entry AS e (source_id, fingerprint, first_run_id, last_run_id, household_code,
                                               district_code, rule, commune_code)
            SELECT :source, fingerprint, :run, :run, household_code, district_code, rule, commune_code FROM _fp
            ON CONFLICT (source_id, fingerprint) DO UPDATE
            SET last_run_id = EXCLUDED.last_run_id, seen_count = e.seen_count + 1,
                status = CASE WHEN e.status = 'waived' THEN 'waived' ELSE 'open' END,
                resolved_run_id = CASE WHEN e.status = 'waived' THEN e.resolved_run_id END
            WHERE e.last_run_id <> EXCLUDED.last_run_id"""),
            {"source": source_id, "run": run_id})
        ids = pd.DataFrame(conn.execute(sa.text(
            "SELECT fingerprint, entry_id FROM mis.reject_entry WHERE source_id = :s AND last_run_id = :r"),
            {"s": source_id, "r": run_id}).all(), columns=["fingerprint", "entry_id"])
        failures = failures.drop(columns="entry_id").merge(ids, on="fingerprint", how="left")
    copy_frame(conn, "mis.reject", failures[REJECT_COLUMNS])


def resolve(conn, run_id: str, source_id: str, loaded: str = HH) -> int:
    """Entries that stopped failing are resolved by this run (loaded: the households it loaded, mis.load's HH).

    - An open entry of this source whose household (or, for a row with no household code, whose file;
      or the household a returned fix-up row was sent under) this run read, and whose problem this run did not see again: fixed, or replaced by another
      problem of the same record, which has its own entry.
    - A "missing" entry of any source whose household this run loaded: it is listed again, here or in
      the district it moved to.
    """
    members = table_name(run_id, "members")
    outcome = table_name(run_id, "outcome")
    return conn.execute(sa.text(f"""
        UPDATE mis.reject_entry e SET status = 'resolved', resolved_run_id = :run
        WHERE e.status = 'open' AND e.last_run_id <> :run
          AND ((e.source_id = :source
                AND (e.household_code IN (SELECT household_code FROM {members})
                     -- a returned fix-up row read under a corrected household code answers for its old one
                     OR e.household_code IN (SELECT origin_household FROM {members} WHERE origin_household IS NOT NULL)
                     OR (e.household_code IS NULL AND EXISTS (
                         SELECT 1 FROM mis.reject r WHERE r.entry_id = e.entry_id AND r.run_id = e.last_run_id
                         AND r.file IN (SELECT DISTINCT source_file FROM {members})))))
               OR (e.rule = 'reconcile.missing'
                   AND e.household_code IN (SELECT o.registry_code FROM {outcome} o
                                            JOIN {loaded} USING (household_code)
                                            UNION SELECT household_code FROM {loaded})))"""),
        {"run": run_id, "source": source_id}).rowcount


def record_held_rows(conn, run_id: str, source_id: str, held: pd.DataFrame) -> None:
    """Keep every row of the held-back households as written, for the fix-up workbook."""
    if not len(held):
        return
    frame = pd.DataFrame({
        "run_id": run_id, "source_id": source_id, "file": held["file"], "sheet": held["sheet"],
        "row": held["row"], "record_key": held["record_key"], "household_code": held["household_code"],
        "district_code": held["district_code"], "reason_vi": held["reason_vi"], "cells": held["cells"],
        "reason_en": held["reason_en"], "commune_code": held["commune_code"]})
    # Its place in the district's own roster and the round it came in (a row the reconcile held has none
    # of its own: the roster row it is).
    for column, fallback in (("origin_file", "file"), ("origin_sheet", "sheet"), ("origin_row", "row"),
                             ("origin_digest", None), ("fixup_round", None)):
        given = held[column] if column in held else pd.Series(None, index=held.index, dtype="object")
        given = given.where(given.notna() & (given.astype("string") != ""), None)
        frame[column] = given.fillna(held[fallback]) if fallback else given
    frame["fixup_round"] = pd.to_numeric(frame["fixup_round"], errors="coerce").fillna(0).astype(int)
    frame["origin_row"] = pd.to_numeric(frame["origin_row"], errors="coerce").round().astype("Int64")
    copy_frame(conn, "mis.held_row", frame)


def record_outcomes(conn, run_id: str) -> int:
    """Keep the run's reconcile outcomes (all but "unchanged") in mis.reconcile_outcome.

    Every row carries this one run: it is checked here once (and locked against deletion till the commit),
    as a foreign key checked each row (migration 0013)."""
    if conn.execute(sa.text("SELECT 1 FROM mis.sync_run WHERE run_id = :run FOR KEY SHARE"),
                    {"run": run_id}).scalar() is None:
        raise LookupError(f"no run {run_id} in mis.sync_run: its outcomes are not recorded")
    outcome, member_outcome = table_name(run_id, "outcome"), table_name(run_id, "member_outcome")
    return conn.execute(sa.text(f"""
        INSERT INTO mis.reconcile_outcome (run_id, entity, household_code, member_key, full_name, outcome,
                                           changed_fields, registry_household_code, reason, source_file,
                                           source_sheet, source_row, source_key)
        SELECT :run, 'household', household_code, NULL, NULL, outcome, changed_fields, registry_code, reason,
               source_file, source_sheet, source_row, source_key
        FROM {outcome} WHERE outcome <> 'unchanged'
        UNION ALL
        SELECT :run, 'member', o.household_code, o.member_key, o.full_name, o.outcome, o.changed_fields,
               h.household_code, o.reason, o.source_file, o.source_sheet, o.source_row, o.source_key
        FROM {member_outcome} o LEFT JOIN mis.household h ON h.household_id = o.registry_household_id"""),
        {"run": run_id}).rowcount


def list_rejects(conn, source_id: str | None = None, run_id: str | None = None, status: str = "open") -> list[dict]:
    """Ledger rows for `misgw rejects list`: by default the open problems, as last seen."""
    where, params = ["r.severity IS NOT NULL"], {}
    if source_id:
        where.append("r.source_id = :source")
        params["source"] = source_id
    if run_id:
        where.append("r.run_id = :run")
        params["run"] = run_id
    else:
        # The latest sighting of each entry, plus dry-run observations of the latest dry run only when asked by run.
        where.append("r.entry_id IS NOT NULL AND r.run_id = e.last_run_id")
    if status != "all":
        where.append("coalesce(e.status, 'open') = :status")
        params["status"] = status
    rows = conn.execute(sa.text(f"""
        SELECT r.run_id, r.source_id, r.file, r.sheet, r.row, r.household_code, r.rule, r.severity, r.field,
               r.value, r.message_vi, r.message_en, coalesce(e.status, 'dry-run') AS status, e.entry_id
        FROM mis.reject r LEFT JOIN mis.reject_entry e USING (entry_id)
        WHERE {' AND '.join(where)}
        ORDER BY r.source_id, r.file, r.sheet, r.row, r.rule"""), params).mappings().all()
    return [dict(r) for r in rows]


def outcomes(conn, run_id: str) -> list[dict]:
    """What a run found: every household and person whose outcome was not "unchanged"."""
    return [dict(r) for r in conn.execute(sa.text("""
        SELECT entity, household_code, member_key, full_name, outcome, changed_fields, registry_household_code,
               reason, source_file, source_sheet, source_row
        FROM mis.reconcile_outcome WHERE run_id = :r
        ORDER BY entity, outcome, household_code, full_name"""), {"r": run_id}).mappings()]


def waive(conn, entry_id: int, reason: str) -> dict | None:
    """Close an open entry on purpose, with the reason a person gave; None when there is no open entry."""
    row = conn.execute(sa.text("""
        UPDATE mis.reject_entry SET status = 'waived', waive_reason = :reason
        WHERE entry_id = :id AND status = 'open' RETURNING entry_id, source_id, household_code"""),
        {"id": entry_id, "reason": reason}).mappings().first()
    return dict(row) if row else None


AGE_BUCKETS = [(0, 7, "0-7 ngày"), (8, 30, "8-30 ngày"), (31, 90, "31-90 ngày"), (91, 100000, "> 90 ngày")]


def aging(conn) -> list[dict]:
    """Open entries per district (per commune for a roster made after the reform) and age since the run that
    first saw them."""
    buckets = " ".join(f"WHEN age BETWEEN {lo} AND {hi} THEN '{label}'" for lo, hi, label in AGE_BUCKETS)
    rows = conn.execute(sa.text(f"""
        WITH open AS (
            -- After the reform the commune is the addressee: an entry with no district is its commune's.
            SELECT coalesce(e.district_code, e.commune_code, '-') AS district_code, e.source_id,
                   (current_date - r.started_at::date) AS age
            FROM mis.reject_entry e JOIN mis.sync_run r ON r.run_id = e.first_run_id
            WHERE e.status = 'open')
        SELECT district_code, source_id, CASE {buckets} END AS age, count(*) AS entries
        FROM open GROUP BY 1, 2, 3 ORDER BY 1, 2, min(age)""")).mappings().all()
    return [dict(r) for r in rows]


def open_counts(conn) -> list[dict]:
    """What the ledger holds open, counted apart, per source and addressee (its district; its commune for a
    roster made after the reform): rejected records, the households they hold back, warnings (which do not
    block) and households missing from the roster. The same entries as aging() and the fix-up workbook."""
    rows = conn.execute(sa.text("""
        SELECT e.source_id, coalesce(e.district_code, e.commune_code, '-') AS addressee,
               count(*) FILTER (WHERE coalesce(s.severity, 'reject') = 'reject'
                                AND e.rule <> 'reconcile.missing') AS rejects,
               count(DISTINCT e.household_code) FILTER (WHERE coalesce(s.severity, 'reject') = 'reject'
                                                        AND e.rule <> 'reconcile.missing') AS households_held,
               count(*) FILTER (WHERE s.severity = 'warning') AS warnings,
               count(*) FILTER (WHERE e.rule = 'reconcile.missing') AS missing
        FROM mis.reject_entry e
        LEFT JOIN LATERAL (SELECT r.severity FROM mis.reject r WHERE r.entry_id = e.entry_id
                           ORDER BY r.reject_id DESC LIMIT 1) s ON true
        WHERE e.status = 'open'
        GROUP BY 1, 2 ORDER BY 1, 2""")).mappings().all()
    return [dict(r) for r in rows]


def run_rejects(conn, run_id: str) -> dict:
    """What a run turned back: the rules most often named (rule -> rows) and how many ledger entries it
    opened (problems no earlier run had seen)."""
    top = conn.execute(sa.text("""
        SELECT rule, count(*) FROM mis.reject WHERE run_id = :r AND severity = 'reject'
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3"""), {"r": run_id}).all()
    opened = conn.execute(sa.text("SELECT count(*) FROM mis.reject_entry WHERE first_run_id = :r"),
                          {"r": run_id}).scalar()
    return {"top_rules": {rule: int(n) for rule, n in top}, "entries_opened": int(opened)}


def clear_run_records(conn, run_id: str) -> None:
    """What an earlier attempt of this run wrote (rejects, held rows, outcomes): a retried load replaces, not doubles."""
    for table in ("reject", "held_row", "reconcile_outcome"):
        conn.execute(sa.text(f"DELETE FROM mis.{table} WHERE run_id = :r"), {"r": run_id})


def rejected_rows(conn, run_ids: list[str]) -> set[tuple]:
    """(file, sheet, row, rule) of every row these runs rejected."""
    return {tuple(r) for r in conn.execute(sa.text(
        "SELECT DISTINCT file, sheet, row, rule FROM mis.reject WHERE severity = 'reject' AND run_id = ANY(:runs)"),
        {"runs": run_ids})}
