"""The reconcile's outcome tables (households, people) and the changed values a person approving reads."""
from __future__ import annotations

import sqlalchemy as sa

from mis.load import merged
from mis.record import ASSESSMENT_COLUMNS, HOUSEHOLD_COLUMNS
from mis.scratch import ABSENT, DISPUTED, HH, HM, HMATCH, LEFT, PO
from mis.staging import table_name


def _household_outcomes(conn, run_id: str) -> None:
    """The run's outcome tables: every roster household and every missing one; people not unchanged."""
    outcome = table_name(run_id, "outcome")
    member_outcome = table_name(run_id, "member_outcome")
    # A blank cell is no change: each field is compared as the load would merge it.
    hh_fields = " || ".join(f"CASE WHEN m.{c} IS DISTINCT FROM {merged(c, 's', 'm')} THEN ARRAY['{c}'] "
                            "ELSE ARRAY[]::text[] END" for c in HOUSEHOLD_COLUMNS)
    pa_fields = " || ".join(f"CASE WHEN p.{c} IS DISTINCT FROM {merged(c, 's', 'p')} THEN ARRAY['{c}'] "
                            "ELSE ARRAY[]::text[] END" for c in ASSESSMENT_COLUMNS)
    # Before and after of each changed household field, for the person who approves a large change.
    hh_values, pa_values = ("jsonb_strip_nulls(jsonb_build_object(" + ", ".join(
        f"'{c}', CASE WHEN {t}.{c} IS DISTINCT FROM {merged(c, 's', t)} "
        f"THEN jsonb_build_array({t}.{c}, {merged(c, 's', t)}) END" for c in columns) + "))"
        for t, columns in (("m", HOUSEHOLD_COLUMNS), ("p", ASSESSMENT_COLUMNS)))
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {outcome}, {member_outcome}, {DISPUTED}")
    # Registry households that a roster household in conflict claims: in dispute, so not missing.
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {DISPUTED} ON COMMIT DROP AS
        SELECT DISTINCT c.household_id FROM {HM} c JOIN {HMATCH} x USING (household_code)
        WHERE x.reason IS NOT NULL
           OR x.household_code IN (SELECT household_code FROM {PO} WHERE outcome = 'conflict')""")
    # People of the registry who are in no household of the roster any more: missing, never deleted.
    conn.exec_driver_sql(f"""
        CREATE UNLOGGED TABLE {member_outcome} AS
        SELECT household_code, member_key, full_name, outcome, changed_fields, registry_member_id,
               registry_household_id, reason, detail, source_file, source_sheet, source_row, source_key
        FROM {PO} WHERE outcome <> 'unchanged'
        UNION ALL
        SELECT h.household_code, l.member_key, l.full_name, 'missing', ARRAY[]::text[], l.member_id,
               l.household_id, NULL, NULL, h.source_file, h.source_sheet, NULL, t.source_key
        FROM {LEFT} l JOIN mis.household h USING (household_id) JOIN mis.member t USING (member_id)
        -- People of a household in dispute are not missing: the conflict names them.
        WHERE l.household_id NOT IN (SELECT household_id FROM {DISPUTED})""")
    conn.exec_driver_sql(f"""
        CREATE UNLOGGED TABLE {outcome} AS
        WITH people AS (
            SELECT household_code, bool_or(outcome = 'conflict') AS conflict,
                   min(reason) FILTER (WHERE outcome = 'conflict') AS reason,
                   min(detail) FILTER (WHERE outcome = 'conflict') AS detail,
                   bool_or(outcome IN ('new', 'changed', 'moved')) AS changed
            FROM {PO} GROUP BY 1
        ), gone AS (
            -- Registry households that lost a person: missing from the roster, or moved to another household.
            SELECT DISTINCT registry_household_id AS household_id FROM {member_outcome}
            WHERE outcome = 'missing' OR (outcome = 'moved')
        )
        SELECT s.household_code,
               CASE WHEN x.reason IS NOT NULL OR pe.conflict THEN 'conflict'
                    WHEN m.household_id IS NULL THEN 'new'
                    WHEN NOT x.in_scope OR m.commune_code IS DISTINCT FROM {merged('commune_code', 's', 'm')}
                         OR m.commune_code_pre2025 IS DISTINCT FROM {merged('commune_code_pre2025', 's', 'm')}
                         THEN 'moved'
                    WHEN cardinality(f.fields) > 0 THEN 'changed'
                    ELSE 'unchanged' END AS outcome,
               f.fields AS changed_fields,
               m.household_id AS registry_household_id, x.registry_code,
               coalesce(x.reason, pe.reason) AS reason,
               coalesce(x.candidates, pe.detail, x.registry_place) AS detail,
               x.registry_place,
               s.source_file, s.source_sheet, s.source_row, s.source_key,
               CASE WHEN m.household_id IS NOT NULL THEN {hh_values} || CASE WHEN p.household_id IS NOT NULL
                    AND s.poverty_category IS NOT NULL THEN {pa_values} ELSE '{{}}'::jsonb END END AS changed_values
        FROM {HH} s
        JOIN {HMATCH} x USING (household_code)
        LEFT JOIN mis.household m ON m.household_id = x.household_id AND x.reason IS NULL
        LEFT JOIN mis.poverty_assessment p ON p.household_id = m.household_id AND p.assessment_year = s.assessment_year
        LEFT JOIN people pe ON pe.household_code = s.household_code
        CROSS JOIN LATERAL (SELECT CASE WHEN m.household_id IS NULL THEN ARRAY[]::text[] ELSE
               CASE WHEN m.household_code <> s.household_code THEN ARRAY['household_code'] ELSE ARRAY[]::text[] END
               || ({hh_fields})
               || CASE WHEN s.assessment_year IS NOT NULL AND s.poverty_category IS NOT NULL THEN
                      CASE WHEN p.household_id IS NULL THEN ARRAY['poverty_assessment'] ELSE ({pa_fields}) END
                  ELSE ARRAY[]::text[] END
               || CASE WHEN coalesce(pe.changed, false) THEN ARRAY['members'] ELSE ARRAY[]::text[] END
               || CASE WHEN m.household_id IN (SELECT household_id FROM gone)
                       THEN ARRAY['members_left'] ELSE ARRAY[]::text[] END
               END AS fields) f
        UNION ALL
        SELECT h.household_code, 'missing', ARRAY[]::text[], h.household_id, h.household_code, NULL, h.head_name,
               concat_ws(' / ', h.source_id, h.district_code_pre2025, h.commune_code_pre2025, h.commune_code),
               h.source_file, h.source_sheet, h.source_row, h.source_key, NULL::jsonb
        FROM mis.household h JOIN {ABSENT} USING (household_id)
        WHERE NOT EXISTS (SELECT 1 FROM {HM} c WHERE c.household_id = h.household_id)""")


def change_examples(conn, run_id: str, limit: int = 15) -> list[dict]:
    """The run's changed, moved and missing households (before its load), each with its changed fields and,
    for household and assessment fields, the value before and after: what a person approving reads."""
    rows = conn.execute(sa.text(f"""
        SELECT household_code, outcome, changed_fields, changed_values, detail
        FROM {table_name(run_id, 'outcome')} WHERE outcome IN ('changed', 'moved', 'missing')
        ORDER BY CASE outcome WHEN 'changed' THEN 0 WHEN 'moved' THEN 1 ELSE 2 END, household_code
        LIMIT :n"""), {"n": limit}).mappings().all()
    return [dict(r) for r in rows]
