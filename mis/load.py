"""Merges a run's accepted households from staging into the central tables: set-based, one transaction."""
from __future__ import annotations

import sqlalchemy as sa

from mis import db
from mis.record import ASSESSMENT_COLUMNS, HOUSEHOLD_COLUMNS, INDICATORS, LINEAGE, MEMBER_COLUMNS
from mis.scratch import CLEARED, HH, MEM, PA
from mis.staging import table_name

DERIVED = ["name_key"]


def merged(column: str, new: str, stored: str) -> str:
    """SQL for what a merge keeps in a content column: the roster's value, or the stored one where the
    roster left the cell blank (NULL is "not given", never "erase"). new, stored: the rows' aliases.

    An ID number and its kind go together. A stored full birth date stays while the roster gives no date
    and its birth year (if any) agrees; a different year drops it.
    """
    if column == "id_kind":
        return f"CASE WHEN {new}.id_number IS NOT NULL THEN {new}.id_kind ELSE {stored}.id_kind END"
    if column == "birth_date":
        return (f"CASE WHEN {new}.birth_date IS NOT NULL THEN {new}.birth_date "
                f"WHEN {new}.birth_year IS NULL OR {new}.birth_year = {stored}.birth_year "
                f"THEN {stored}.birth_date END")
    return f"coalesce({new}.{column}, {stored}.{column})"


def project(conn, run_id: str, source_id: str, held_back: bool = False) -> None:
    """Typed temp tables HH, MEM, PA (mis.scratch): the run's accepted households as the MIS would hold them.

    held_back: leave out the households the run's reconcile found in conflict (they wait for a person).
    """
    members = table_name(run_id, "members")
    where = "s.accepted::boolean"
    if held_back:
        where += (f" AND NOT EXISTS (SELECT 1 FROM {table_name(run_id, 'outcome')} o"
                  " WHERE o.household_code = s.household_code AND o.outcome = 'conflict')")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {MEM}, {HH}, {PA}")
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {MEM} ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY source_file, source_sheet, source_row::int) AS sid,
               household_code, member_key, name_key, full_name, relation_code, sex,
               birth_date::date AS birth_date, birth_year::int AS birth_year, ethnicity_code,
               id_number, id_kind, true AS listed,
               %(source)s::text AS source_id, source_file, source_sheet, source_row::int AS source_row,
               source_key, nullif(s.cleared_fields, '') AS cleared_fields
        FROM {members} s WHERE {where}""", {"source": source_id})
    ind = ", ".join(f"{c}::boolean AS {c}" for c in INDICATORS)
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {HH} ON COMMIT DROP AS
        SELECT DISTINCT ON (s.household_code)
               s.household_code, s.full_name AS head_name, s.commune_code, s.commune_code_pre2025,
               s.district_code_pre2025, s.province_code, s.address, s.area, s.hamlet, s.local_code,
               count(*) OVER (PARTITION BY s.household_code)::int AS member_count,
               %(source)s::text AS source_id, s.source_file, s.source_sheet, s.source_row::int AS source_row,
               s.source_key, s.assessment_year::int AS assessment_year, s.poverty_category,
               s.income_per_capita::numeric AS income_per_capita, {ind},
               s.deprivation_count::int AS deprivation_count, s.approval_decision_no,
               s.approval_date::date AS approval_date
        FROM {members} s WHERE {where}
        ORDER BY s.household_code, (s.relation_code = '01') DESC, s.source_row::int""", {"source": source_id})
    conn.exec_driver_sql(f"CREATE INDEX ON {MEM} (household_code)")
    conn.exec_driver_sql(f"CREATE UNIQUE INDEX ON {HH} (household_code)")
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {PA} ON COMMIT DROP AS
        SELECT * FROM {HH} WHERE assessment_year IS NOT NULL AND poverty_category IS NOT NULL""")


def merge(conn, run_id: str, source_id: str, changed_by: str = "misgw") -> dict:
    """Upsert households, members and assessments whose content differs, as the run's reconcile decided.

    Households re-coded or moved here take their new code; people who moved leave their old household
    (unlisted); people no longer on a listed household's roster are unlisted; households missing from
    the roster are flagged. Nothing is deleted. A blank cell keeps the stored value (merged()). People
    of a household held back (a conflict, or rejected) stay where the MIS has them: the reconcile's
    `kept_members` table names them, and they are neither moved nor unlisted. Call inside the run's
    one transaction, after lock().
    """
    lock(conn, source_id)  # re-entrant: the caller usually holds it already
    project(conn, run_id, source_id, held_back=True)
    params = {"run": run_id, "who": changed_by}
    outcome, member_outcome = table_name(run_id, "outcome"), table_name(run_id, "member_outcome")
    kept = table_name(run_id, "kept_members")
    if not conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": kept}).scalar():
        kept = "(SELECT NULL::bigint AS member_id WHERE false)"   # reconciled before held people were kept
    # A person who moved here keeps what the MIS knew of them where this roster leaves a cell blank.
    conn.exec_driver_sql(f"""
        UPDATE {MEM} s SET {", ".join(f"{c} = {merged(c, 's', 't')}" for c in MEMBER_COLUMNS if c != "listed")}
        FROM {member_outcome} o JOIN mis.member t ON t.member_id = o.registry_member_id
        WHERE o.outcome = 'moved' AND o.source_file = s.source_file AND o.source_sheet = s.source_sheet
          AND o.source_row = s.source_row""")
    counts = {"households_recoded": _recode(conn, outcome, params)}
    counts["fields_changed"] = record_changes(conn, run_id, changed_by)
    counts["households_written"] = _upsert(conn, "household", ["household_code"], HOUSEHOLD_COLUMNS, f"""
        SELECT household_code, {_list(HOUSEHOLD_COLUMNS + LINEAGE)}, :run, :run FROM {HH}""", params)
    counts["members_written"] = _upsert(conn, "member", ["household_id", "member_key"], MEMBER_COLUMNS, f"""
        SELECT h.household_id, m.member_key, {_list(MEMBER_COLUMNS + LINEAGE + DERIVED, 'm')}, :run, :run
        FROM {MEM} m JOIN mis.household h USING (household_code)""", params, derived=DERIVED)
    # Keys loaded before name_key existed get it now, without touching their lineage.
    conn.execute(sa.text(f"""
        UPDATE mis.member t SET name_key = m.name_key FROM {MEM} m JOIN mis.household h USING (household_code)
        WHERE t.household_id = h.household_id AND t.member_key = m.member_key AND t.name_key IS NULL"""))
    # People who moved into a household of this roster leave the household they were in.
    moved = f"""FROM {member_outcome} o JOIN mis.member t ON t.member_id = o.registry_member_id
                JOIN mis.household old ON old.household_id = t.household_id
                JOIN {HH} ON {HH}.household_code = o.household_code
                WHERE o.outcome = 'moved' AND t.listed AND old.household_code <> o.household_code
                  AND NOT EXISTS (SELECT 1 FROM {kept} k WHERE k.member_id = t.member_id)"""
    conn.execute(sa.text(f"""
        INSERT INTO mis.change_log (run_id, changed_by, entity, household_code, member_key, field, old_value,
                                    new_value, source_file, source_sheet, source_row)
        SELECT :run, :who, 'member', old.household_code, t.member_key, 'moved_to', old.household_code,
               o.household_code, o.source_file, o.source_sheet, o.source_row {moved}"""), params)
    counts["members_moved"] = conn.execute(sa.text(f"""
        UPDATE mis.member u SET listed = false, updated_run_id = :run
        WHERE u.member_id IN (SELECT t.member_id {moved})"""), params).rowcount
    counts["members_unlisted"] = conn.execute(sa.text(f"""
        UPDATE mis.member t SET listed = false, updated_run_id = :run
        FROM {HH} JOIN mis.household h USING (household_code)
        WHERE t.household_id = h.household_id AND t.listed
          -- A household this run created has only the people it just wrote: none to look for (a first
          -- load looked for every one of its members again, 0.5 s a district at L).
          AND h.created_run_id <> :run
          AND NOT EXISTS (SELECT 1 FROM {MEM} m WHERE m.household_code = {HH}.household_code
                          AND m.member_key = t.member_key)
          AND NOT EXISTS (SELECT 1 FROM {kept} k WHERE k.member_id = t.member_id)"""), params).rowcount
    counts["assessments_written"] = _upsert(
        conn, "poverty_assessment", ["household_id", "assessment_year"], ASSESSMENT_COLUMNS, f"""
        SELECT h.household_id, p.assessment_year, {_list(ASSESSMENT_COLUMNS + LINEAGE, 'p')}, :run, :run
        FROM {PA} p JOIN mis.household h USING (household_code)""", params)
    counts["values_cleared"] = apply_clears(conn, params)
    counts["households_flagged_missing"] = _flag_missing(conn, outcome, params)
    conn.execute(sa.text("SELECT nextval('mis.registry_version')"))
    return counts


# A roster field cleared with «xóa» (mappings.roster.CLEARABLE) -> where the MIS keeps it.
CLEARS = {"ethnicity": ("member", ["ethnicity_code"]), "id_number": ("member", ["id_number", "id_kind"]),
          "address": ("household", ["address"]), "hamlet": ("household", ["hamlet"]), "area": ("household", ["area"]),
          "income_per_capita": ("poverty_assessment", ["income_per_capita"]),
          "approval_decision_no": ("poverty_assessment", ["approval_decision_no"]),
          "approval_date": ("poverty_assessment", ["approval_date"]),
          "deprivation_count": ("poverty_assessment", ["deprivation_count"])}


def apply_clears(conn, params: dict) -> int:
    """Clear the stored values a roster marked «xóa» (a blank cell never clears), each clearing in the
    history (old value -> NULL). After the upserts, on the run's projected rows (MEM, PA). Set-based."""
    if not conn.execute(sa.text(f"SELECT EXISTS (SELECT 1 FROM {MEM} WHERE cleared_fields IS NOT NULL)")).scalar():
        return 0
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {CLEARED} ON COMMIT DROP AS
        SELECT DISTINCT m.household_code, m.member_key, f.field, m.source_file, m.source_sheet, m.source_row
        FROM {MEM} m CROSS JOIN LATERAL unnest(string_to_array(m.cleared_fields, ',')) f(field)
        WHERE m.cleared_fields IS NOT NULL""")
    targets = {
        "member": ("mis.member t", "JOIN mis.household h USING (household_code) "
                   "JOIN mis.member t ON t.household_id = h.household_id AND t.member_key = c.member_key", "t.member_id",
                   "member_id", "c.member_key, NULL::int"),
        "household": ("mis.household t", "JOIN mis.household t USING (household_code)", "t.household_id",
                      "household_id", "NULL, NULL::int"),
        "poverty_assessment": ("mis.poverty_assessment t", f"JOIN {PA} p USING (household_code) "
                               "JOIN mis.household h USING (household_code) JOIN mis.poverty_assessment t "
                               "ON t.household_id = h.household_id AND t.assessment_year = p.assessment_year",
                               "t.household_id, t.assessment_year", "(household_id, assessment_year)",
                               "NULL, t.assessment_year")}
    cleared = 0
    for field, (entity, columns) in CLEARS.items():
        table, join, key, table_key, member = targets[entity]
        found = f"FROM {CLEARED} c {join} WHERE c.field = '{field}' AND t.{columns[0]} IS NOT NULL"
        conn.execute(sa.text(f"""
            INSERT INTO mis.change_log (run_id, changed_by, entity, household_code, member_key, assessment_year,
                                        field, old_value, new_value, source_file, source_sheet, source_row)
            SELECT DISTINCT :run, :who, '{entity}', c.household_code, {member}, '{columns[0]}', t.{columns[0]}::text,
                   NULL, c.source_file, c.source_sheet, c.source_row {found}"""), params)
        cleared += conn.execute(sa.text(f"""
            UPDATE {table} SET {", ".join(f"{c} = NULL" for c in columns)}, updated_run_id = :run
            WHERE {table_key} IN (SELECT {key} {found})"""), params).rowcount
    return cleared


def _recode(conn, outcome: str, params: dict) -> int:
    """A household matched by its members under a new code (re-coded, or moved here) takes that code."""
    recoded = f"""FROM {outcome} o JOIN mis.household h ON h.household_id = o.registry_household_id
                  WHERE o.outcome IN ('changed', 'moved') AND h.household_code <> o.household_code"""
    conn.execute(sa.text(f"""
        INSERT INTO mis.change_log (run_id, changed_by, entity, household_code, field, old_value, new_value,
                                    source_file, source_sheet, source_row)
        SELECT :run, :who, 'household', o.household_code, 'household_code', h.household_code, o.household_code,
               o.source_file, o.source_sheet, o.source_row {recoded}"""), params)
    return conn.execute(sa.text(f"""
        UPDATE mis.household u SET household_code = x.household_code, updated_run_id = :run
        FROM (SELECT h.household_id, o.household_code {recoded}) x WHERE u.household_id = x.household_id"""),
        params).rowcount


def _flag_missing(conn, outcome: str, params: dict) -> int:
    """Flag the households the roster no longer lists (never delete them); unflag those it lists again."""
    for sql in (f"""SELECT :run, :who, 'household', h.household_code, 'missing', 'false', 'true'
                    FROM mis.household h JOIN {outcome} o ON o.registry_household_id = h.household_id
                    WHERE o.outcome = 'missing' AND h.missing_run_id IS NULL""",
                f"""SELECT :run, :who, 'household', h.household_code, 'missing', 'true', 'false'
                   FROM mis.household h JOIN {HH} USING (household_code) WHERE h.missing_run_id IS NOT NULL"""):
        conn.execute(sa.text("INSERT INTO mis.change_log (run_id, changed_by, entity, household_code, field, "
                             "old_value, new_value) " + sql), params)
    conn.execute(sa.text(f"""UPDATE mis.household h SET missing_run_id = NULL FROM {HH}
                            WHERE h.household_code = {HH}.household_code AND h.missing_run_id IS NOT NULL"""))
    return conn.execute(sa.text(f"""
        UPDATE mis.household h SET missing_run_id = :run FROM {outcome} o
        WHERE o.registry_household_id = h.household_id AND o.outcome = 'missing'
          AND h.missing_run_id IS NULL"""), params).rowcount


def record_changes(conn, run_id: str, changed_by: str) -> int:
    """Write the field-by-field history of what this merge is about to change (old -> new), set-based.

    new is what the merge writes (merged()): a blank cell is no change, so it is not logged."""
    def values(cols, t, s):
        return ", ".join(f"('{c}', {t}.{c}::text, ({merged(c, s, t)})::text)" for c in cols)

    statements = [
        f"""SELECT 'household', s.household_code, NULL, NULL::int, f.field, f.old, f.new,
                   s.source_file, s.source_sheet, s.source_row
            FROM {HH} s JOIN mis.household t USING (household_code)
            CROSS JOIN LATERAL (VALUES {values(HOUSEHOLD_COLUMNS, 't', 's')}) f(field, old, new)
            WHERE f.old IS DISTINCT FROM f.new""",
        f"""SELECT 'member', s.household_code, s.member_key, NULL::int, f.field, f.old, f.new,
                   s.source_file, s.source_sheet, s.source_row
            FROM {MEM} s JOIN mis.household h USING (household_code)
            JOIN mis.member t ON t.household_id = h.household_id AND t.member_key = s.member_key
            CROSS JOIN LATERAL (VALUES {values(MEMBER_COLUMNS, 't', 's')}) f(field, old, new)
            WHERE f.old IS DISTINCT FROM f.new""",
        f"""SELECT 'poverty_assessment', s.household_code, NULL, s.assessment_year, f.field, f.old, f.new,
                   s.source_file, s.source_sheet, s.source_row
            FROM {PA} s JOIN mis.household h USING (household_code)
            JOIN mis.poverty_assessment t ON t.household_id = h.household_id AND t.assessment_year = s.assessment_year
            CROSS JOIN LATERAL (VALUES {values(ASSESSMENT_COLUMNS, 't', 's')}) f(field, old, new)
            WHERE f.old IS DISTINCT FROM f.new"""]
    return conn.execute(sa.text(
        "INSERT INTO mis.change_log (run_id, changed_by, entity, household_code, member_key, assessment_year, "
        "field, old_value, new_value, source_file, source_sheet, source_row) "
        "SELECT :run, :who, x.* FROM (" + " UNION ALL ".join(statements) + ") x"),
        {"run": run_id, "who": changed_by}).rowcount


def _upsert(conn, table: str, key: list[str], columns: list[str], select: str, params: dict,
            derived: tuple[str, ...] | list[str] = ()) -> int:
    """Insert new rows; update a row only when its content differs (then lineage and run id move too).

    A blank (NULL) content value keeps the stored one (merged()), and is no reason to write.
    derived: columns computed from the content (name_key), written with it but never a reason to write.
    """
    cols = columns + LINEAGE + list(derived)
    content = [merged(c, "EXCLUDED", "t") for c in columns]
    updates = ", ".join(f"{c} = {e}" for c, e in zip(columns, content))
    return conn.execute(sa.text(f"""
        INSERT INTO mis.{table} AS t ({_list(key)}, {_list(cols)}, created_run_id, updated_run_id)
        {select}
        ON CONFLICT ({_list(key)}) DO UPDATE SET {updates}, {_set(LINEAGE + list(derived))},
            updated_run_id = EXCLUDED.updated_run_id
        WHERE ({", ".join(content)}) IS DISTINCT FROM ({_list(columns, 't')})"""), params).rowcount


# A table's statistics are stale once a run has written more than 50 rows plus a tenth of what the planner
# believes it holds: autovacuum's own rule, applied at once rather than minutes later.
STALE_MIN_ROWS, STALE_SHARE = 50, 0.1


def analyze(engine, written: dict[str, int]) -> list[str]:
    """After a load, outside its transaction: fresh statistics of the tables it made stale (written: rows
    the run wrote, by mis table). Otherwise the next source's reconcile and load, and the fix-up
    workbook's ledger queries, are planned for the tables as they were (a district's held rows planned as
    nested loops took 100 s instead of 0.06 s: docs/benchmarks.md). Returns the tables analyzed."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        believed = dict(conn.execute(sa.text(
            "SELECT relname, greatest(reltuples, 0) FROM pg_class WHERE relnamespace = 'mis'::regnamespace "
            "AND relname = ANY(:t)"), {"t": list(written)}).all())
        stale = sorted(t for t, n in written.items() if n > STALE_MIN_ROWS + STALE_SHARE * believed.get(t, 0))
        if stale:
            # Not SKIP_LOCKED: another source's ANALYZE running now may have begun before this load
            # committed, and a report planned on counts without this district's households ran for minutes.
            db.analyze(conn, [f"mis.{t}" for t in stale])
    return stale


def lock(conn, source_id: str) -> None:
    """Two runs of one source never interleave; other sources go on in parallel."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('misgw.source'), hashtext(:s))"), {"s": source_id})


def _list(cols, alias: str | None = None) -> str:
    return ", ".join(f"{alias}.{c}" if alias else c for c in cols)


def _set(cols) -> str:
    return ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
