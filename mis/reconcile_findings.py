"""What the reconcile turns back, read from a run's outcome tables: households in conflict or missing, people
claimed elsewhere or ambiguous, with where the registry has them."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from mis.staging import table_name


def turned_back(conn, run_id: str) -> pd.DataFrame:
    """(file, sheet, row, record_key, household_code, rule, value, person, head, place, outcome) of every
    household missing or in conflict and every person in conflict, in roster order."""
    outcome, member_outcome = table_name(run_id, "outcome"), table_name(run_id, "member_outcome")
    return pd.DataFrame(conn.execute(sa.text(f"""
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
        FROM {member_outcome} p JOIN {table_name(run_id, 'members')} s
             ON s.source_file = p.source_file AND s.source_sheet = p.source_sheet AND s.source_row::int = p.source_row
        WHERE p.outcome = 'conflict' AND p.reason IN ('reconcile.id_other_district', 'reconcile.ambiguous_person')
        ORDER BY 1, 2, 3""")).mappings().all())


def missing_places(conn, run_id: str) -> list:
    """(household_code, district_code_pre2025, commune_code) where the registry has each missing household."""
    outcome = table_name(run_id, "outcome")
    return conn.execute(sa.text(f"""
        SELECT o.household_code, h.district_code_pre2025, h.commune_code FROM {outcome} o
        JOIN mis.household h ON h.household_id = o.registry_household_id WHERE o.outcome = 'missing'""")).all()
