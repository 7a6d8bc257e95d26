"""Records fixed by a returned fix-up workbook: remembered at load, read before the next run supersedes."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from mis.staging import table_name


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
