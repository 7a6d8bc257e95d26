"""The fix-up rounds: what each district must fix (open in the ledger, or of one run), and the records a returned
workbook fixed, remembered at load and read before the next run supersedes."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from mis.staging import table_name

NO_ADDRESSEE = "-"   # the key of a source's records with no district (current units have none)


def fixed_origins(conn, source_id: str) -> pd.DataFrame:
    """(origin_file, origin_sheet, origin_row, origin_digest, fixup_round, household_code) of the source's
    fixed records."""
    return pd.DataFrame(conn.execute(sa.text("""
        SELECT origin_file, origin_sheet, origin_row, origin_digest, fixup_round, household_code
        FROM mis.fixup_applied WHERE source_id = :s"""), {"s": source_id}).all(),
        columns=["origin_file", "origin_sheet", "origin_row", "origin_digest", "fixup_round", "household_code"])


def record_applied(conn, run_id: str, source_id: str) -> int:
    """Remember the run's loaded rows that came in a returned workbook, by their place in the roster.
    A later round replaces an earlier one; an earlier round never replaces a later one."""
    members, outcome = table_name(run_id, "members"), table_name(run_id, "outcome")
    return conn.execute(sa.text(f"""
        INSERT INTO mis.fixup_applied AS f (source_id, origin_file, origin_sheet, origin_row, origin_digest,
                                            fixed_file, fixed_row, fixup_round, household_code, run_id)
        SELECT DISTINCT ON (s.origin_file, s.origin_sheet, s.origin_row::int)
               :s, s.origin_file, s.origin_sheet, s.origin_row::int, s.origin_digest, s.source_file,
               s.source_row::int, s.fixup_round::int, s.household_code, :r
        FROM {members} s
        WHERE s.accepted::boolean AND coalesce(s.fixup_round::int, 0) > 0 AND s.origin_row IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM {outcome} o WHERE o.household_code = s.household_code
                          AND o.outcome = 'conflict')
        ORDER BY s.origin_file, s.origin_sheet, s.origin_row::int, s.fixup_round::int DESC
        ON CONFLICT (source_id, origin_file, origin_sheet, origin_row) DO UPDATE
        SET origin_digest = coalesce(f.origin_digest, excluded.origin_digest), fixed_file = excluded.fixed_file,
            fixed_row = excluded.fixed_row, fixup_round = excluded.fixup_round,
            household_code = excluded.household_code, run_id = excluded.run_id, applied_at = now()
        WHERE excluded.fixup_round >= f.fixup_round"""), {"s": source_id, "r": run_id}).rowcount


def last_workbooks(conn, source_id: str) -> dict:
    """addressee -> the stamp (path, digest, size, time) of the fix-up workbook the source's last run wrote
    or named for it (misgw.fixup_workbook)."""
    stamps = conn.execute(sa.text("""
        SELECT options -> 'fixup_files' FROM mis.sync_run
        WHERE source_id = :s AND NOT dry_run AND options ? 'fixup_files'
        ORDER BY started_at DESC LIMIT 1"""), {"s": source_id}).scalar()
    return stamps or {}


def addressees(conn, source_id: str, by: str = "district", run_id: str | None = None) -> list[str]:
    """The districts (by="commune": communes) with records to fix: open in the ledger, or of one run."""
    column = "commune_code" if by == "commune" else "district_code"
    held, missing, warnings = _sources(run_id)
    return list(conn.execute(sa.text(f"""
        SELECT DISTINCT coalesce({column}, :none) FROM ({held}) h
        UNION SELECT DISTINCT coalesce({column}, :none) FROM ({missing}) m
        UNION SELECT DISTINCT coalesce({column}, :none) FROM ({warnings}) w ORDER BY 1"""),
        {"r": run_id, "s": source_id, "none": NO_ADDRESSEE}).scalars().all())


def _sources(run_id: str | None) -> tuple[str, str, str]:
    """SQL for the held rows, missing households and warnings a workbook lists: one run's, or (run_id
    None) what the ledger holds open for the source, each household from the last run that judged it."""
    if run_id is not None:
        return ("SELECT * FROM mis.held_row WHERE run_id = :r",
                "SELECT * FROM mis.reject WHERE run_id = :r AND rule = 'reconcile.missing'",
                "SELECT * FROM mis.reject WHERE run_id = :r AND severity = 'warning'")
    held = """
        SELECT h.* FROM mis.held_row h JOIN (
            SELECT DISTINCT ON (h.household_code) h.household_code, h.run_id
            FROM mis.held_row h JOIN mis.sync_run s USING (run_id)
            WHERE h.source_id = :s AND NOT s.dry_run AND h.household_code IN (
                SELECT household_code FROM mis.reject_entry
                WHERE source_id = :s AND status = 'open' AND rule <> 'reconcile.missing')
            ORDER BY h.household_code, s.started_at DESC) l USING (run_id, household_code)
        UNION ALL
        SELECT h.* FROM mis.held_row h WHERE h.household_code IS NULL AND h.run_id = (
            SELECT run_id FROM mis.sync_run WHERE source_id = :s AND NOT dry_run
            AND status IN ('success', 'attention') AND rows_read > 0 ORDER BY started_at DESC LIMIT 1)"""
    opened = """
        SELECT r.* FROM mis.reject r JOIN mis.reject_entry e ON e.entry_id = r.entry_id AND e.last_run_id = r.run_id
        WHERE e.source_id = :s AND e.status = 'open' AND """
    return held, opened + "r.rule = 'reconcile.missing'", opened + "r.severity = 'warning'"


def records_to_fix(conn, source_id: str, district: str, by: str, run_id: str | None = None) -> tuple:
    """What one district's (by="commune": one commune's) fix-up workbook lists: (held rows, their rejects,
    missing households, warnings with the ID of the person each is about), open in the ledger or of one run."""
    (held, rejects, missing, warnings), params = _record_queries(district, by, run_id), _params(source_id, district, run_id)
    return (conn.execute(sa.text(held), params).mappings().all(), conn.execute(sa.text(rejects), params).mappings().all(),
            conn.execute(sa.text(missing), params).all(), conn.execute(sa.text(warnings), params).all())


def records_digest(conn, source_id: str, district: str, by: str, run_id: str | None = None) -> tuple[str, int]:
    """(a digest of what records_to_fix would return, how many records it would return), computed where the
    records are: a night with nothing new learns that its workbook would not change without fetching and
    hashing its rows (33,000 held rows of one district took 2.3 s that way). Each list is digested as a set
    of row texts: the lists' own ORDER BY makes equal sets the same workbook. Without the run that judged a
    row: a database's held-back households are judged again every night, to the same rows and reasons."""
    # Order-free sums of two 64-bit hashes of each row's text: sorting the rows to hash them in order cost
    # more than the query. The row's own text: making it JSON to drop the run took 40% longer.
    digests = [f"""SELECT count(*), coalesce(sum(hashtextextended(x, 0)::numeric), 0)::text || ':'
                              || coalesce(bit_xor(hashtextextended(x, 1)), 0)::text
                   FROM (SELECT t::text AS x FROM ({sql}) t) r"""
               for sql in _record_queries(district, by, run_id, as_sets=True)]
    params = _params(source_id, district, run_id)
    found = [conn.execute(sa.text(sql), params).one() for sql in digests]
    return "/".join(f"{n}:{d}" for n, d in found), sum(int(n) for n, _ in found)


def _params(source_id: str, district: str, run_id: str | None) -> dict:
    return {"r": run_id, "s": source_id, "d": district, "none": NO_ADDRESSEE}


def _record_queries(district: str, by: str, run_id: str | None, as_sets: bool = False) -> tuple[str, str, str, str]:
    """The SQL of records_to_fix's four lists (parameters: _params); as_sets: for records_digest, without
    the run that judged each held row and reject, and unsorted (a digest of a set needs no order)."""
    held_sql, missing_sql, warnings_sql = _sources(run_id)
    run = "" if as_sets else "run_id, "

    def order(columns: str) -> str:
        return "" if as_sets else f"ORDER BY {columns}"
    column = "commune_code" if by == "commune" else "district_code"
    in_district = f"coalesce({column}, :none) = :d"
    return (f"""
        SELECT {run}file, sheet, row, record_key, household_code, reason_vi, cells,
               coalesce(origin_file, file) AS origin_file, coalesce(origin_sheet, sheet) AS origin_sheet,
               coalesce(origin_row, row) AS origin_row, origin_digest, fixup_round
        FROM ({held_sql}) h WHERE {in_district}
        {order("origin_file, origin_sheet, origin_row, file, row")}""", f"""
        SELECT {run}file, sheet, row, field, message_vi FROM mis.reject
        WHERE run_id IN (SELECT DISTINCT run_id FROM ({held_sql}) h) AND severity = 'reject'
        AND {in_district}""", f"""
        SELECT coalesce(h.local_code, r.household_code), h.head_name,
               coalesce(c.name, h.commune_code_pre2025, h.commune_code) AS commune,
               h.member_count, concat_ws(' / ', r.file, r.sheet, 'dòng ' || r.row) AS last_seen, r.message_vi
        FROM ({missing_sql}) r LEFT JOIN mis.household h USING (household_code)
        LEFT JOIN mis.commune_pre2025 c ON c.commune_code = h.commune_code_pre2025
        WHERE coalesce(r.{column}, :none) = :d
        {order("r.household_code")}""", f"""
        SELECT coalesce(h.local_code, r.household_code), h.head_name,
               concat_ws(' / ', r.file, r.sheet, 'dòng ' || r.row), r.message_vi,
               (SELECT m.id_number FROM mis.member m WHERE m.household_id = h.household_id
                AND m.source_file = r.file AND m.source_row = r.row LIMIT 1)
        FROM ({warnings_sql}) r LEFT JOIN mis.household h USING (household_code)
        WHERE coalesce(r.{column}, :none) = :d {order("r.household_code, r.file, r.row")}""")
