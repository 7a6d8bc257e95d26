"""Classifies a district roster against the central registry: one outcome per household and per person.

Households match by code, else by their members' ID numbers; people match by key or ID inside the
matched household, then by ID anywhere, then by typo-tolerant name, birth year and sex inside the
household, then by name and birth date across the district. A match by name (the member key of a
person without an ID number is their name and birth year) holds only when nothing contradicts it: two
full birth dates, where both are known, agree. Everything runs as set-based SQL in PostgreSQL except
the name comparisons, which rapidfuzz makes over the few blocked candidate pairs. Nothing is merged on
a guess: an ambiguous match is a conflict for a person to decide. People of a household held back (a
conflict, or rejected by validation) stay where the MIS has them until a person decides.

This module runs the steps in order; mis.household_matching, mis.person_matching, mis.held_back and
mis.outcomes hold them, and mis.scratch names the temp tables they pass along.
"""
from __future__ import annotations

import sqlalchemy as sa

# The `name as name` imports re-export: callers import change_examples and the constants from mis.reconcile.
from mis.household_matching import _match_households
from mis.load import project
from mis.outcomes import _household_outcomes
from mis.outcomes import change_examples as change_examples
from mis.person_matching import CROSS_MIN as CROSS_MIN
from mis.person_matching import DATES_AGREE as DATES_AGREE
from mis.person_matching import FUZZY_LEAD as FUZZY_LEAD
from mis.person_matching import FUZZY_MIN as FUZZY_MIN
from mis.person_matching import PERSON_FIELDS as PERSON_FIELDS
from mis.person_matching import _match_people
from mis.scratch import ABSENT, AMBIGUOUS, HELD, HM, HMATCH, KEPT, LEFT, PM, PO, SCOPE
from mis.staging import table_name

OUTCOMES = ("new", "changed", "unchanged", "moved", "missing", "conflict")

# Why a household or person is a conflict (the rule ids of expectations/rules.yaml).
CONFLICT_REASONS = ("reconcile.code_other_district", "reconcile.members_other_district",
                    "reconcile.shared_members", "reconcile.ambiguous_household",
                    "reconcile.id_other_district", "reconcile.ambiguous_person")


def classify(conn, run_id: str, source_id: str, district_code: str | None, partial: str | None = None) -> dict:
    """Counts per outcome for households and people; writes the run's outcome tables.

    partial: the roster is only part of the source (rows after a watermark, or only the households
    that changed): then a household not on it is missing only when it is in this table of household
    codes (the snapshot's gone ones), or in none when the table does not exist.

    Runs before the load, against the registry as it stands, so a dry run reports exactly what a real
    run would change. Writes staging tables `outcome` (every roster household, and every missing one),
    `member_outcome` (every person whose outcome is not "unchanged") and `kept_members` (the registry
    people that a held-back household of the roster holds: the load neither moves nor unlists them), and
    re-keys staged people matched by name or ID to the registry's key, so that the load updates them
    instead of adding them; a new person whose key another person of the household already has gets a
    key of their own.
    """
    project(conn, run_id, source_id)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SCOPE}, {HM}, {HMATCH}, {PM}, {AMBIGUOUS}, {LEFT}, {PO}, {HELD}, {KEPT}")
    # The households this roster speaks for: its district's, or its own for a source with no district.
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {SCOPE} ON COMMIT DROP AS
        SELECT household_id FROM mis.household
        WHERE CASE WHEN %(district)s::text IS NOT NULL THEN district_code_pre2025 = %(district)s::text
                   ELSE source_id = %(source)s::text END""", {"district": district_code, "source": source_id})
    conn.exec_driver_sql(f"ALTER TABLE {SCOPE} ADD PRIMARY KEY (household_id)")
    # The households that are missing if no roster household claims them: all of the scope for a
    # whole roster; for a partial one only those the source no longer has.
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {ABSENT}")
    if partial is None:
        # A household the roster lists but whose rows were held back (rejected) is not missing: it waits
        # in the fix-up workbook.
        # Nor is one whose roster rows are as they were when a returned fix-up workbook fixed it.
        present = table_name(run_id, "fixed_present")
        listed = conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": present.replace('"', '')}).scalar()
        conn.exec_driver_sql(f"""CREATE TEMP TABLE {ABSENT} ON COMMIT DROP AS
            SELECT s.household_id FROM {SCOPE} s JOIN mis.household h USING (household_id)
            WHERE NOT EXISTS (SELECT 1 FROM {table_name(run_id, 'members')} m
                              WHERE m.household_code = h.household_code AND NOT m.accepted::boolean)
            {f"AND h.household_code NOT IN (SELECT household_code FROM {present})" if listed else ""}""")
    else:
        exists = conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": partial.replace('"', '')}).scalar()
        conn.exec_driver_sql(f"""CREATE TEMP TABLE {ABSENT} ON COMMIT DROP AS
            SELECT s.household_id FROM {SCOPE} s JOIN mis.household h USING (household_id)
            WHERE {f"h.household_code IN (SELECT household_code FROM {partial})" if exists else "false"}""")
    _match_households(conn)
    _match_people(conn, run_id)
    _household_outcomes(conn, run_id)
    households = _counts(conn, f"SELECT outcome, count(*) FROM {table_name(run_id, 'outcome')} GROUP BY 1")
    members = _counts(conn, f"SELECT outcome, count(*) FROM {PO} GROUP BY 1")
    members["missing"] = conn.execute(sa.text(
        f"SELECT count(*) FROM {table_name(run_id, 'member_outcome')} WHERE outcome = 'missing'")).scalar()
    fields = conn.execute(sa.text(f"SELECT f, count(*) FROM {table_name(run_id, 'outcome')}, unnest(changed_fields) f "
                                  "GROUP BY f ORDER BY 2 DESC, 1")).all()
    return {"households": households, "members": members, "changed_fields": {f: n for f, n in fields},
            "registry_version": registry_version(conn)}


def scope_size(conn, source_id: str, district_code: str | None) -> int:
    """Households the MIS holds for this roster's district (or its source, without a district)."""
    return int(conn.execute(sa.text("""
        SELECT count(*) FROM mis.household
        WHERE CASE WHEN CAST(:d AS text) IS NOT NULL THEN district_code_pre2025 = :d ELSE source_id = :s END"""),
        {"d": district_code, "s": source_id}).scalar())


def registry_version(conn) -> int:
    """Moves on with every load (mis.registry_version): a reconcile older than it may be stale."""
    return int(conn.execute(sa.text(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM mis.registry_version")).scalar())


def _counts(conn, sql: str) -> dict:
    counts = dict.fromkeys(OUTCOMES, 0)
    counts.update({k: int(n) for k, n in conn.execute(sa.text(sql))})
    return counts

