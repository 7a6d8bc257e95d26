"""Every row of a run accounted for, per file and sheet: read = loaded + unchanged + rejected + held +
superseded + skipped, from the run's work tables (set-based)."""
from __future__ import annotations

import sqlalchemy as sa

from mis.staging import table_name

FATES = ("loaded", "unchanged", "rejected", "held", "superseded", "skipped")


class AccountsDoNotAddUp(RuntimeError):
    """A row was lost or counted twice between reading and judging: the run must not load."""


def row_accounts(conn, run_id: str) -> list[dict]:
    """Per file and sheet: read, loaded (accepted; in a dry run, would load), unchanged (not judged again),
    rejected (a row with a failure of its own), held (a row of a held household that is fine itself, or of a
    file that stopped: `stopped` says how many), superseded (replaced by a returned fix-up workbook),
    skipped (title, header, blank, subtotal, footer, a sheet that is no roster), held_without_reason.

    Reads the run's staging tables accounts (map stage), members, failures, reconcile_failures, outcome,
    held and reconcile_held.
    """
    t = {p: table_name(run_id, p) for p in ("accounts", "members", "failures", "reconcile_failures", "outcome",
                                             "held", "reconcile_held")}
    rows = conn.execute(sa.text(f"""
        WITH bad AS (
            SELECT file, sheet, row::int AS row FROM {t['failures']} WHERE severity = 'reject'
            UNION SELECT file, sheet, row::int FROM {t['reconcile_failures']} WHERE severity = 'reject'
        ), conflict AS (
            SELECT DISTINCT household_code FROM {t['outcome']} WHERE outcome = 'conflict'
        ), reasons AS (
            SELECT file, sheet, row::int AS row, bool_or(coalesce(reason_vi, '') <> '' AND coalesce(reason_en, '') <> '')
                   AS ok
            FROM (SELECT file, sheet, row, reason_vi, reason_en FROM {t['held']}
                  UNION ALL SELECT file, sheet, row, reason_vi, reason_en FROM {t['reconcile_held']}) h
            GROUP BY 1, 2, 3
        ), judged AS (
            SELECT m.source_file AS file, coalesce(m.read_sheet, m.source_sheet) AS sheet,
                   CASE WHEN b.row IS NOT NULL THEN 'rejected'
                        WHEN NOT m.accepted::boolean OR c.household_code IS NOT NULL THEN 'held'
                        ELSE 'loaded' END AS fate,
                   (NOT m.accepted::boolean OR c.household_code IS NOT NULL) AND NOT coalesce(r.ok, false)
                        AS without_reason
            FROM {t['members']} m
            LEFT JOIN bad b ON b.file = m.source_file AND b.sheet = m.source_sheet AND b.row = m.source_row::int
            LEFT JOIN conflict c ON c.household_code = m.household_code
            LEFT JOIN reasons r ON r.file = m.source_file AND r.sheet = m.source_sheet AND r.row = m.source_row::int
        ), per_sheet AS (
            SELECT file, sheet, count(*) FILTER (WHERE fate = 'loaded') AS loaded,
                   count(*) FILTER (WHERE fate = 'rejected') AS rejected,
                   count(*) FILTER (WHERE fate = 'held') AS held,
                   count(*) FILTER (WHERE without_reason) AS held_without_reason
            FROM judged GROUP BY 1, 2
        )
        SELECT a.file, a.sheet, a.read::int AS read, coalesce(j.loaded, 0) AS loaded, a.unchanged::int AS unchanged,
               coalesce(j.rejected, 0) AS rejected, coalesce(j.held, 0) + a.stopped::int AS held,
               a.superseded::int AS superseded, a.skipped::int AS skipped, a.stopped::int AS stopped,
               coalesce(j.held_without_reason, 0) AS held_without_reason
        FROM {t['accounts']} a LEFT JOIN per_sheet j ON j.file = a.file AND j.sheet = a.sheet
        ORDER BY a.file, a.sheet""")).mappings().all()
    out = [dict(r) for r in rows]
    # Judged rows of a sheet the map stage did not count would be rows from nowhere.
    stray = conn.execute(sa.text(f"""
        SELECT m.source_file, coalesce(m.read_sheet, m.source_sheet), count(*) FROM {t['members']} m
        WHERE NOT EXISTS (SELECT 1 FROM {t['accounts']} a WHERE a.file = m.source_file
                          AND a.sheet = coalesce(m.read_sheet, m.source_sheet)) GROUP BY 1, 2""")).all()
    for file, sheet, n in stray:
        out.append({"file": file, "sheet": sheet, "read": 0, "loaded": int(n), "unchanged": 0, "rejected": 0,
                    "held": 0, "superseded": 0, "skipped": 0, "stopped": 0, "held_without_reason": 0})
    return out


def check(accounts: list[dict]) -> None:
    """Raise AccountsDoNotAddUp naming each file and sheet whose rows do not add up, or held rows that do not
    say why they are held."""
    wrong = [a for a in accounts if a["read"] != sum(a[f] for f in FATES) or a["held_without_reason"]]
    if wrong:
        raise AccountsDoNotAddUp("; ".join(
            f"{a['file']} / {a['sheet']}: {a['read']} rows read but "
            + " + ".join(f"{a[f]} {f}" for f in FATES)
            + (f", {a['held_without_reason']} held without a reason" if a["held_without_reason"] else "")
            for a in wrong) + ": nothing was loaded")


def totals(accounts: list[dict]) -> dict:
    return {k: sum(a[k] for a in accounts) for k in ("read", *FATES, "stopped")}


def staged_counts(conn, run_id: str) -> dict:
    """The run's counts once the reconcile has held its conflicts back."""
    members, outcome = table_name(run_id, "members"), table_name(run_id, "outcome")
    row = conn.execute(sa.text(f"""
        WITH m AS (SELECT m.household_code, m.accepted::boolean AND o.household_code IS NULL AS ok
                   FROM {members} m LEFT JOIN {outcome} o ON o.household_code = m.household_code
                                                         AND o.outcome = 'conflict')
        SELECT count(*) AS rows_read,
               count(DISTINCT household_code) FILTER (WHERE ok) AS households_accepted,
               count(*) FILTER (WHERE ok) AS members_accepted,
               count(DISTINCT household_code) FILTER (WHERE NOT ok) AS households_rejected FROM m""")).mappings().one()
    rejected = conn.execute(sa.text(f"""
        SELECT count(*) FROM (SELECT file, sheet, row FROM {table_name(run_id, 'failures')}
                              WHERE severity = 'reject'
                              UNION SELECT file, sheet, row FROM {table_name(run_id, 'reconcile_failures')}
                              WHERE severity = 'reject') x""")).scalar()
    return {**{k: int(v) for k, v in row.items()}, "rows_rejected": int(rejected)}
