"""Households held back by the reconcile: the registry people they hold stay where the MIS has them."""
from __future__ import annotations

from mis.scratch import AMBIGUOUS, HELD, HMATCH, KEPT, MEM, PM, PO, SCOPE
from mis.staging import table_name


def _keep_held(conn, run_id: str, final: bool) -> None:
    """_held: the roster's people in households held back; _kept: the registry people they are.

    Held back: a household rejected by validation (its staged rows not accepted; a row without a
    household code too), or one the reconcile holds as a conflict (final: every one, from _po; before
    that, those known so far: the household's match cannot be trusted, a person is ambiguous, or an
    ID number belongs to another district's listed person). Until a person decides, the people they
    hold stay where the MIS has them. A held person is the registry person the reconcile matched them
    to, every candidate of an ambiguous match, and else, set-based: the listed person with the same ID
    number, or (where one of the two has no ID number) the same folded name and birth year, their full
    birth dates agreeing where both are known. A registry person whom a person of a household that
    loads claims (by key, ID or name) is that person's, not kept.
    """
    members = table_name(run_id, "members")
    if final:
        conflicts = f"SELECT household_code FROM {PO} WHERE outcome = 'conflict'"
    else:
        conflicts = f"""
            SELECT household_code FROM {HMATCH} WHERE reason IS NOT NULL
            UNION SELECT s.household_code FROM {AMBIGUOUS} a JOIN {MEM} s USING (sid)
            UNION SELECT s.household_code FROM {PM} p JOIN {MEM} s USING (sid)
                  JOIN mis.member t ON t.member_id = p.member_id JOIN mis.household h ON h.household_id = t.household_id
                  WHERE p.how = 'id_elsewhere' AND t.listed AND h.missing_run_id IS NULL
                    AND NOT EXISTS (SELECT 1 FROM {SCOPE} sc WHERE sc.household_id = t.household_id)"""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {HELD}, {KEPT}")
    # Rejected rows are staged as text as mapped (ISO dates, whole years): cast only what reads as such.
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {HELD} ON COMMIT DROP AS
        SELECT s.sid, r.household_code, r.name_key,
               CASE WHEN r.id_kind IS NOT NULL THEN r.id_number END AS id_number,
               CASE WHEN r.birth_date ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' THEN r.birth_date::date END AS birth_date,
               CASE WHEN r.birth_year ~ '^[0-9]{{1,4}}$' THEN r.birth_year::int END AS birth_year
        FROM {members} r
        LEFT JOIN {MEM} s ON s.source_file = r.source_file AND s.source_sheet = r.source_sheet
                        AND s.source_row = r.source_row::int
        WHERE NOT r.accepted::boolean OR r.household_code IN ({conflicts})""")
    conn.exec_driver_sql(f"CREATE INDEX ON {HELD} (sid)")
    # Statistics, or the planner guesses a temporary table's size and scans every registry member for a few
    # dozen held people (0.8 s at 1.2M members).
    conn.exec_driver_sql(f"ANALYZE {HELD}")
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {KEPT} ON COMMIT DROP AS
        WITH found AS (
            SELECT p.member_id FROM {HELD} h JOIN {PM} p USING (sid)
            UNION ALL
            SELECT unnest(string_to_array(a.candidates, ',')::bigint[]) FROM {HELD} h JOIN {AMBIGUOUS} a USING (sid)
            UNION ALL
            SELECT t.member_id FROM {HELD} h JOIN mis.member t ON t.id_number = h.id_number
            WHERE h.id_number IS NOT NULL AND t.listed AND NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.sid = h.sid)
            UNION ALL
            SELECT t.member_id FROM {HELD} h JOIN mis.member t ON t.name_key = h.name_key AND t.birth_year = h.birth_year
            WHERE t.listed AND (h.id_number IS NULL OR t.id_number IS NULL)
              AND (h.birth_date IS NULL OR t.birth_date IS NULL OR h.birth_date = t.birth_date)
              AND NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.sid = h.sid)
        )
        SELECT DISTINCT f.member_id FROM found f
        WHERE NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.member_id = f.member_id
                          AND NOT EXISTS (SELECT 1 FROM {HELD} h WHERE h.sid = p.sid))""")
    conn.exec_driver_sql(f"ALTER TABLE {KEPT} ADD PRIMARY KEY (member_id)")
