"""Classifies a district roster against the central registry: new, changed, unchanged, missing."""
from __future__ import annotations

import sqlalchemy as sa

from mis.load import ASSESSMENT_COLUMNS, HOUSEHOLD_COLUMNS, MEMBER_COLUMNS, _distinct, project
from mis.staging import copy_rows, table_name


def classify(conn, run_id: str, source_id: str, district_code: str | None) -> dict:
    """Counts per outcome, with the changed fields; writes the per-household outcome table for the run.

    Runs before the load, against the registry as it stands, so a dry run reports exactly what a real
    run would change. "missing" households are flagged only: nothing is ever deleted.
    """
    members_result = match_members(conn, run_id, source_id)
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
               CASE WHEN s.household_code IN (SELECT household_code FROM _member_conflicts) THEN 'conflict'
                    WHEN m.household_id IS NULL THEN 'new'
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
    return {"households": counts, "members": members_result, "changed_fields": {f: n for f, n in fields}}


FUZZY_MIN = 85.0


def match_members(conn, run_id: str, source_id: str) -> dict:
    """One outcome per person: by ID first, then by name and birth year inside the household.

    A person without a usable ID whose name has a typo ("Trần Thi Bìnnh") is matched to the registry's
    member with the closest name of the same household and birth year (rapidfuzz, blocked by household
    and year, so the cost stays near-linear); the staged member then takes the registry's key, and the
    load updates that person instead of adding a new one. Two close candidates are a conflict.
    An ID found in another household is a move within the district, and a conflict across districts.
    """
    from rapidfuzz import fuzz

    members = table_name(run_id, "members")
    # Pairs to compare: staged people without an exact key in their household, registry people of
    # that household not matched exactly, same birth year. Usually a handful per household.
    pairs = conn.execute(sa.text(f"""
        WITH s AS (SELECT source_file, source_sheet, source_row, household_code, member_key, birth_year
                   FROM {members} WHERE accepted::boolean AND id_kind IS NULL),
             t AS (SELECT h.household_code, m.member_key, m.birth_year
                   FROM mis.member m JOIN mis.household h USING (household_id)
                   WHERE m.listed AND m.id_kind IS NULL
                     AND h.household_code IN (SELECT household_code FROM s))
        SELECT s.source_file, s.source_sheet, s.source_row, s.member_key, t.member_key
        FROM s JOIN t ON t.household_code = s.household_code AND t.birth_year IS NOT DISTINCT FROM s.birth_year::int
        WHERE s.member_key <> t.member_key
          AND NOT EXISTS (SELECT 1 FROM t t2 WHERE t2.household_code = s.household_code AND t2.member_key = s.member_key)
          AND NOT EXISTS (SELECT 1 FROM s s2 WHERE s2.household_code = t.household_code AND s2.member_key = t.member_key)
    """)).all()
    best: dict[tuple, list[tuple[float, str]]] = {}
    for f, sh, r, skey, tkey in pairs:
        score = fuzz.ratio(skey.split("|")[0], tkey.split("|")[0])
        if score >= FUZZY_MIN:
            best.setdefault((f, sh, r), []).append((score, tkey))
    rekeyed, ambiguous = [], []
    for row, found in best.items():
        (top, key), *rest = sorted(found, reverse=True)
        if rest and rest[0][0] >= FUZZY_MIN:
            ambiguous.append(row)
        else:
            rekeyed.append((*row, key))
    conn.exec_driver_sql("DROP TABLE IF EXISTS _member_outcome, _member_conflicts, _ambiguous, _rekey")
    conn.exec_driver_sql("CREATE TEMP TABLE _rekey (source_file text, source_sheet text, source_row text, "
                         "member_key text) ON COMMIT DROP")
    conn.exec_driver_sql("CREATE TEMP TABLE _ambiguous (source_file text, source_sheet text, source_row text) "
                         "ON COMMIT DROP")
    # One set-based update, not one statement per person.
    copy_rows(conn, "_rekey", ["source_file", "source_sheet", "source_row", "member_key"], rekeyed)
    copy_rows(conn, "_ambiguous", ["source_file", "source_sheet", "source_row"], ambiguous)
    if rekeyed:
        conn.exec_driver_sql(f"""UPDATE {members} m SET member_key = k.member_key FROM _rekey k
            WHERE m.source_file = k.source_file AND m.source_sheet = k.source_sheet
              AND m.source_row = k.source_row""")
    # Hash joins over whole sets, not a lookup per person: near-linear on a province's roster.
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE _member_outcome ON COMMIT DROP AS
        WITH staged AS (SELECT * FROM {members} WHERE accepted::boolean),
             registry AS (SELECT h.household_code, h.district_code_pre2025, h.source_id, m.*
                          FROM mis.member m JOIN mis.household h USING (household_id)
                          WHERE h.household_code IN (SELECT household_code FROM staged)),
             by_id AS (SELECT DISTINCT ON (m.id_number) m.id_number, h.household_code, h.district_code_pre2025,
                              h.source_id
                       FROM mis.member m JOIN mis.household h USING (household_id)
                       WHERE m.listed AND m.id_number IN (SELECT id_number FROM staged WHERE id_kind IS NOT NULL)
                       ORDER BY m.id_number, h.household_code)
        SELECT s.household_code, s.member_key,
               CASE WHEN a.source_row IS NOT NULL THEN 'conflict'
                    WHEN same.member_id IS NOT NULL THEN
                         CASE WHEN (same.full_name, same.relation_code, same.sex, same.birth_date, same.birth_year,
                                    same.ethnicity_code, same.id_number)
                                   IS DISTINCT FROM
                                   (s.full_name, s.relation_code, s.sex, s.birth_date::date, s.birth_year::int,
                                    s.ethnicity_code, s.id_number)
                              THEN 'changed' ELSE 'unchanged' END
                    WHEN other.household_code IS NOT NULL AND other.district_code_pre2025 IS DISTINCT FROM
                         s.district_code_pre2025 AND other.source_id <> %(source)s THEN 'conflict'
                    WHEN other.household_code IS NOT NULL THEN 'moved'
                    ELSE 'new' END AS outcome
        FROM staged s
        LEFT JOIN _ambiguous a USING (source_file, source_sheet, source_row)
        LEFT JOIN registry same ON same.household_code = s.household_code AND same.member_key = s.member_key
        LEFT JOIN by_id other ON s.id_kind IS NOT NULL AND other.id_number = s.id_number
                             AND other.household_code <> s.household_code
        UNION ALL
        SELECT r.household_code, r.member_key, 'missing'
        FROM registry r
        LEFT JOIN staged s ON s.household_code = r.household_code AND s.member_key = r.member_key
        LEFT JOIN (SELECT DISTINCT id_number FROM staged WHERE id_number IS NOT NULL) moved
               ON moved.id_number = r.id_number                      -- moved, counted once
        WHERE r.listed AND s.member_key IS NULL AND moved.id_number IS NULL
    """, {"source": source_id})
    conn.exec_driver_sql("CREATE TEMP TABLE _member_conflicts ON COMMIT DROP AS "
                         "SELECT DISTINCT household_code FROM _member_outcome WHERE outcome = 'conflict'")
    counts = {k: 0 for k in ("new", "changed", "unchanged", "moved", "missing", "conflict")}
    for name, n in conn.execute(sa.text("SELECT outcome, count(*) FROM _member_outcome GROUP BY 1")):
        counts[name] = n
    return counts
