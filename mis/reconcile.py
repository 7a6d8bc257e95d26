"""Classifies a district roster against the central registry: new, changed, unchanged, missing."""
from __future__ import annotations

import sqlalchemy as sa

from mis.load import ASSESSMENT_COLUMNS, HOUSEHOLD_COLUMNS, MEMBER_COLUMNS, _distinct, project
from mis.staging import table_name


def classify(conn, run_id: str, source_id: str, district_code: str | None) -> dict:
    """Counts per outcome, with the changed fields; writes the per-household outcome table for the run.

    Runs before the load, against the registry as it stands, so a dry run reports exactly what a real
    run would change. "missing" households are flagged only: nothing is ever deleted.
    """
    project(conn, run_id, source_id)
    outcome = table_name(run_id, "outcome")
    members = table_name(run_id, "members")
    hh_fields = " || ".join(
        f"CASE WHEN m.{c} IS DISTINCT FROM s.{c} THEN ARRAY['{c}'] ELSE ARRAY[]::text[] END" for c in HOUSEHOLD_COLUMNS)
    pa_fields = " || ".join(
        f"CASE WHEN p.{c} IS DISTINCT FROM s.{c} THEN ARRAY['{c}'] ELSE ARRAY[]::text[] END" for c in ASSESSMENT_COLUMNS)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {outcome}")
    conn.exec_driver_sql(f"""
        CREATE UNLOGGED TABLE {outcome} AS
        WITH member_diff AS (
            SELECT s.household_code,
                   bool_or(t.member_id IS NULL OR {_distinct('t', 's', MEMBER_COLUMNS)}) AS changed
            FROM _mem s
            JOIN mis.household h USING (household_code)
            LEFT JOIN mis.member t ON t.household_id = h.household_id AND t.member_key = s.member_key
            GROUP BY s.household_code
        ), members_left AS (
            SELECT DISTINCT h.household_code
            FROM mis.member t JOIN mis.household h USING (household_id)
            JOIN _hh ON _hh.household_code = h.household_code
            WHERE t.listed AND NOT EXISTS (SELECT 1 FROM _mem s WHERE s.household_code = h.household_code
                                           AND s.member_key = t.member_key)
        )
        SELECT s.household_code,
               CASE WHEN m.household_id IS NULL THEN 'new'
                    -- The same code held by another source for another district: not the same household
                    -- without a person deciding. It is held back, never merged.
                    WHEN m.source_id <> s.source_id
                         AND m.district_code_pre2025 IS DISTINCT FROM s.district_code_pre2025 THEN 'conflict'
                    WHEN m.commune_code IS DISTINCT FROM s.commune_code
                         OR m.commune_code_pre2025 IS DISTINCT FROM s.commune_code_pre2025 THEN 'moved'
                    WHEN cardinality(fields) > 0 THEN 'changed'
                    ELSE 'unchanged' END AS outcome,
               fields AS changed_fields,
               CASE WHEN m.household_id IS NOT NULL THEN concat_ws(' / ', m.source_id, m.district_code_pre2025,
                                                                   m.commune_code_pre2025) END AS registry_place
        FROM _hh s
        LEFT JOIN mis.household m USING (household_code)
        LEFT JOIN mis.poverty_assessment p ON p.household_id = m.household_id AND p.assessment_year = s.assessment_year
        LEFT JOIN member_diff d USING (household_code)
        CROSS JOIN LATERAL (SELECT CASE WHEN m.household_id IS NULL THEN ARRAY[]::text[] ELSE
               ({hh_fields})
               || CASE WHEN s.assessment_year IS NOT NULL AND s.poverty_category IS NOT NULL THEN
                      CASE WHEN p.household_id IS NULL THEN ARRAY['poverty_assessment'] ELSE ({pa_fields}) END
                  ELSE ARRAY[]::text[] END
               || CASE WHEN coalesce(d.changed, false) THEN ARRAY['members'] ELSE ARRAY[]::text[] END
               || CASE WHEN s.household_code IN (SELECT household_code FROM members_left)
                       THEN ARRAY['members_left'] ELSE ARRAY[]::text[] END
               END AS fields) f
        UNION ALL
        SELECT h.household_code, 'missing', ARRAY[]::text[], NULL
        FROM mis.household h
        WHERE (h.district_code_pre2025 = %(district)s::text OR (%(district)s::text IS NULL AND h.source_id = %(source)s::text))
          AND NOT EXISTS (SELECT 1 FROM {members} r WHERE r.household_code = h.household_code)
    """, {"district": district_code, "source": source_id})
    counts = {k: 0 for k in ("new", "changed", "unchanged", "moved", "missing", "conflict")}
    for outcome_name, n in conn.execute(sa.text(f"SELECT outcome, count(*) FROM {outcome} GROUP BY 1")):
        counts[outcome_name] = n
    fields = conn.execute(sa.text(
        f"SELECT f, count(*) FROM {outcome}, unnest(changed_fields) f GROUP BY f ORDER BY 2 DESC")).all()
    return {"households": counts, "changed_fields": {f: n for f, n in fields}}
