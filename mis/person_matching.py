"""Person matching for the reconcile: staged people to registry people, re-keyed, each with an outcome."""
from __future__ import annotations

import sqlalchemy as sa

from mis.held_back import _keep_held
from mis.load import merged
from mis.scratch import ABSENT, AMBIGUOUS, HMATCH, KEPT, LEFT, MEM, NEW_PM, PM, PO, REKEY, SCOPE
from mis.staging import copy_rows, table_name

PERSON_FIELDS = ["full_name", "relation_code", "sex", "birth_date", "birth_year", "ethnicity_code", "id_number"]
FUZZY_MIN = 85.0     # rapidfuzz ratio of folded names: "tranthibinh" / "tranthibinnh" scores 96
FUZZY_LEAD = 10.0    # the best candidate must beat the next one by this much, else the match is ambiguous
CROSS_MIN = 90.0     # across households a name must be closer still, and the full birth date equal
# Two people linked by name (s: staged, t: registry): where both full birth dates are known, they agree.
DATES_AGREE = "(s.birth_date IS NULL OR t.birth_date IS NULL OR s.birth_date = t.birth_date)"


def _match_people(conn, run_id: str) -> None:
    """_pm (staged person -> registry member, and how), _ambiguous, _left, _po, _kept; re-keys staged people."""
    trusted = "x.household_id IS NOT NULL AND x.reason IS NULL"
    # 1. Inside the matched household, by key; then by ID number under another key. A name key (no ID
    #    number) also finds the key given to a second person of that name and year (name|year|date);
    #    it links only when the full birth dates, where both are known, agree.
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {PM} ON COMMIT DROP AS
        SELECT DISTINCT ON (sid) sid, member_id, household_id, 'key'::text AS how FROM (
            SELECT s.sid, t.member_id, t.household_id, t.listed, 0 AS rank
            FROM {MEM} s JOIN {HMATCH} x USING (household_code)
            JOIN mis.member t ON t.household_id = x.household_id AND t.member_key = s.member_key
            WHERE {trusted} AND (s.id_kind IS NOT NULL OR {DATES_AGREE})
            UNION ALL
            SELECT s.sid, t.member_id, t.household_id, t.listed, 1
            FROM {MEM} s JOIN {HMATCH} x USING (household_code)
            JOIN mis.member t ON t.household_id = x.household_id
                 AND t.member_key = s.member_key || '|' || s.birth_date::text
            WHERE {trusted} AND s.id_kind IS NULL AND s.birth_date IS NOT NULL AND {DATES_AGREE}
        ) c
        ORDER BY sid, rank, listed DESC, member_id""")
    conn.exec_driver_sql(f"CREATE UNIQUE INDEX ON {PM} (sid)")
    conn.exec_driver_sql(f"CREATE INDEX ON {PM} (member_id)")
    conn.exec_driver_sql(f"""
        INSERT INTO {PM}
        SELECT DISTINCT ON (s.sid) s.sid, t.member_id, t.household_id, 'id_in_household'
        FROM {MEM} s JOIN {HMATCH} x USING (household_code)
        JOIN mis.member t ON t.household_id = x.household_id AND t.id_number = s.id_number
        WHERE {trusted} AND s.id_kind IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.sid = s.sid)
          AND NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.member_id = t.member_id)
        ORDER BY s.sid, t.listed DESC, t.member_id""")
    # 2. By ID number anywhere else in the MIS: this person was in another household.
    conn.exec_driver_sql(f"""
        INSERT INTO {PM}
        SELECT DISTINCT ON (s.sid) s.sid, t.member_id, t.household_id, 'id_elsewhere'
        FROM {MEM} s JOIN {HMATCH} x USING (household_code)
        JOIN mis.member t ON t.id_number = s.id_number AND t.household_id IS DISTINCT FROM x.household_id
        WHERE x.reason IS NULL AND s.id_kind IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.sid = s.sid)
        ORDER BY s.sid, t.listed DESC, t.member_id DESC""")
    # 3. Inside the household, by typo-tolerant name: blocked by household, sex and birth year.
    pairs = conn.execute(sa.text(f"""
        SELECT s.sid, t.member_id, s.name_key, t.name_key
        FROM {MEM} s JOIN {HMATCH} x USING (household_code)
        JOIN mis.member t ON t.household_id = x.household_id AND t.listed
        WHERE {trusted} AND t.name_key IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.sid = s.sid)
          AND NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.member_id = t.member_id)
          AND (s.sex IS NULL OR t.sex IS NULL OR s.sex = t.sex)
          AND (s.birth_year IS NULL OR t.birth_year IS NULL OR s.birth_year = t.birth_year
               OR s.name_key = t.name_key)
          AND {DATES_AGREE}
          -- Two different ID numbers are two people, unless name and full birth date agree (an ID corrected).
          AND (s.id_kind IS NULL OR t.id_number IS NULL OR (s.name_key = t.name_key AND s.birth_date = t.birth_date))
    """)).all()
    inside, ambiguous = _assign(pairs, FUZZY_MIN)
    conn.exec_driver_sql(f"CREATE TEMP TABLE {AMBIGUOUS} (sid bigint, reason text, candidates text) ON COMMIT DROP")
    _insert_matches(conn, inside, "name_in_household")
    copy_rows(conn, AMBIGUOUS, ["sid", "reason", "candidates"],
              [(sid, "reconcile.ambiguous_person", cands) for sid, cands in ambiguous.items()])
    # The people the households held back so far hold: never left over, so never missing, and never
    # taken by a name match from another household (step 4).
    _keep_held(conn, run_id, final=False)
    # 4. Across the district's households, for people still unmatched: a move without a usable ID.
    #    Exact name and birth year, or a close name and the same full birth date; sex always; full
    #    birth dates never disagree.
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {LEFT} ON COMMIT DROP AS
        SELECT t.member_id, t.household_id, t.member_key, t.name_key, t.full_name, t.sex, t.birth_year,
               t.birth_date, t.id_number
        FROM mis.member t
        -- A join on the union, not `IN (...) OR IN (...)`: the OR cannot use the household index, so it
        -- scanned every member of the registry (0.2 s at 1.2M members) even when both sets were empty.
        JOIN (SELECT household_id FROM {ABSENT}
              UNION SELECT household_id FROM {HMATCH} WHERE reason IS NULL) h USING (household_id)
        WHERE t.listed
          AND NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.member_id = t.member_id)
          AND NOT EXISTS (SELECT 1 FROM {KEPT} k WHERE k.member_id = t.member_id)""")
    pairs = conn.execute(sa.text(f"""
        WITH s AS (SELECT s.*, x.household_id AS target FROM {MEM} s JOIN {HMATCH} x USING (household_code)
                   WHERE x.reason IS NULL AND NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.sid = s.sid)
                     AND NOT EXISTS (SELECT 1 FROM {AMBIGUOUS} a WHERE a.sid = s.sid))
        SELECT s.sid, t.member_id, s.name_key, t.name_key
        FROM s JOIN {LEFT} t ON t.name_key = s.name_key AND t.birth_year = s.birth_year AND t.sex = s.sex
        WHERE t.household_id IS DISTINCT FROM s.target AND (s.id_kind IS NULL OR t.id_number IS NULL)
          AND {DATES_AGREE}
        UNION
        SELECT s.sid, t.member_id, s.name_key, t.name_key
        FROM s JOIN {LEFT} t ON t.birth_date = s.birth_date AND t.sex = s.sex
        WHERE t.household_id IS DISTINCT FROM s.target AND (s.id_kind IS NULL OR t.id_number IS NULL)
    """)).all()
    across, ambiguous = _assign(pairs, CROSS_MIN)
    _insert_matches(conn, across, "name_elsewhere")
    copy_rows(conn, AMBIGUOUS, ["sid", "reason", "candidates"],
              [(sid, "reconcile.ambiguous_person", cands) for sid, cands in ambiguous.items()])
    conn.exec_driver_sql(f"DELETE FROM {LEFT} l USING {PM} p WHERE p.member_id = l.member_id")

    # Staged people matched inside their household take the registry's key: the load updates that row.
    members = table_name(run_id, "members")
    conn.exec_driver_sql(f"""
        UPDATE {members} m SET member_key = t.member_key
        FROM {PM} p JOIN {MEM} s USING (sid) JOIN mis.member t ON t.member_id = p.member_id
        WHERE p.how IN ('key', 'id_in_household', 'name_in_household') AND m.source_file = s.source_file
          AND m.source_sheet = s.source_sheet AND m.source_row::int = s.source_row
          AND m.member_key <> t.member_key""")
    conn.exec_driver_sql(f"""
        UPDATE {MEM} s SET member_key = t.member_key FROM {PM} p JOIN mis.member t ON t.member_id = p.member_id
        WHERE p.sid = s.sid AND p.how IN ('key', 'id_in_household', 'name_in_household')
          AND s.member_key <> t.member_key""")
    # A person without an ID number, new to the household (or moved into it), whose key another person
    # of that household has already (the same name and birth year, another birth date) is someone
    # else: a key of their own (name|year|date), so that the load adds them instead of writing over
    # that person. (An ID number key never collides: step 1 matches it whatever the dates.)
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {REKEY} ON COMMIT DROP AS
        SELECT s.sid, s.member_key || '|' || coalesce(s.birth_date::text, 'row' || s.source_row) AS member_key
        FROM {MEM} s JOIN {HMATCH} x USING (household_code)
        WHERE x.household_id IS NOT NULL AND x.reason IS NULL AND s.id_kind IS NULL
          AND NOT EXISTS (SELECT 1 FROM {PM} p WHERE p.sid = s.sid
                          AND p.how IN ('key', 'id_in_household', 'name_in_household'))
          AND EXISTS (SELECT 1 FROM mis.member t WHERE t.household_id = x.household_id
                      AND t.member_key = s.member_key)""")
    conn.exec_driver_sql(f"""
        UPDATE {members} m SET member_key = r.member_key FROM {REKEY} r JOIN {MEM} s USING (sid)
        WHERE m.source_file = s.source_file AND m.source_sheet = s.source_sheet AND m.source_row::int = s.source_row""")
    conn.exec_driver_sql(f"UPDATE {MEM} s SET member_key = r.member_key FROM {REKEY} r WHERE r.sid = s.sid")
    conn.exec_driver_sql(f"DROP TABLE {REKEY}")

    # One outcome per staged person. A blank cell is no change: compared as the load would merge it.
    fields = " || ".join(f"CASE WHEN t.{c} IS DISTINCT FROM {merged(c, 's', 't')} THEN ARRAY['{c}'] "
                         "ELSE ARRAY[]::text[] END" for c in PERSON_FIELDS)
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {PO} ON COMMIT DROP AS
        SELECT s.sid, s.household_code, s.member_key, s.full_name, s.source_file, s.source_sheet, s.source_row,
               s.source_key,
               p.member_id AS registry_member_id, t.household_id AS registry_household_id,
               CASE WHEN x.reason IS NOT NULL OR a.sid IS NOT NULL THEN 'conflict'
                    WHEN p.how IN ('id_elsewhere', 'name_elsewhere') THEN
                         CASE WHEN p.how = 'id_elsewhere' AND t.listed AND sc.household_id IS NULL
                                   AND h.missing_run_id IS NULL THEN 'conflict' ELSE 'moved' END
                    WHEN p.member_id IS NULL THEN 'new'
                    WHEN cardinality(f.fields) > 0 OR NOT t.listed THEN 'changed'
                    ELSE 'unchanged' END AS outcome,
               CASE WHEN x.reason IS NOT NULL THEN x.reason
                    WHEN a.sid IS NOT NULL THEN a.reason
                    WHEN p.how = 'id_elsewhere' AND t.listed AND sc.household_id IS NULL
                         AND h.missing_run_id IS NULL THEN 'reconcile.id_other_district'
                    ELSE p.how END AS reason,
               CASE WHEN a.sid IS NOT NULL THEN
                        (SELECT string_agg(h2.household_code || ': ' || t2.full_name, '; ' ORDER BY h2.household_code)
                         FROM mis.member t2 JOIN mis.household h2 USING (household_id)
                         WHERE t2.member_id = ANY (string_to_array(a.candidates, ',')::bigint[]))
                    WHEN p.how IN ('id_elsewhere', 'name_elsewhere') THEN
                        concat_ws(' / ', h.household_code, h.source_id, h.district_code_pre2025) END AS detail,
               CASE WHEN p.how IN ('id_elsewhere', 'name_elsewhere') THEN ARRAY['household_code'] || f.fields
                    WHEN NOT coalesce(t.listed, true) THEN ARRAY['listed'] || f.fields
                    ELSE f.fields END AS changed_fields
        FROM {MEM} s
        JOIN {HMATCH} x USING (household_code)
        LEFT JOIN {PM} p USING (sid)
        LEFT JOIN {AMBIGUOUS} a USING (sid)
        LEFT JOIN mis.member t ON t.member_id = p.member_id
        LEFT JOIN mis.household h ON h.household_id = t.household_id
        LEFT JOIN {SCOPE} sc ON sc.household_id = t.household_id
        CROSS JOIN LATERAL (SELECT CASE WHEN t.member_id IS NULL THEN ARRAY[]::text[] ELSE ({fields}) END
                            AS fields) f""")
    # Every household held back is known now: the people they hold are kept, and not missing.
    _keep_held(conn, run_id, final=True)
    conn.exec_driver_sql(f"DELETE FROM {LEFT} l USING {KEPT} k WHERE k.member_id = l.member_id")
    kept = table_name(run_id, "kept_members")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {kept}")
    conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {kept} AS SELECT member_id FROM {KEPT}")


def _assign(pairs, minimum: float) -> tuple[dict[int, int], dict[int, str]]:
    """Unique best matches from candidate pairs (sid, member_id, staged name key, registry name key).

    A staged person whose two best candidates are within FUZZY_LEAD of each other, or a registry
    person who is the best of two staged people that close, is ambiguous: a conflict, never a guess.
    """
    from rapidfuzz import fuzz

    candidates: dict[int, list[tuple[float, int]]] = {}
    for sid, member_id, staged, registry in pairs:
        score = 100.0 if staged == registry else fuzz.ratio(staged or "", registry or "")
        if score >= minimum:
            candidates.setdefault(sid, []).append((score, member_id))
    ambiguous: dict[int, str] = {}
    claims: dict[int, list[tuple[float, int]]] = {}
    for sid, found in candidates.items():
        found.sort(reverse=True)
        if len(found) > 1 and found[0][0] - found[1][0] < FUZZY_LEAD:
            ambiguous[sid] = ",".join(str(m) for _, m in found)
        else:
            claims.setdefault(found[0][1], []).append((found[0][0], sid))
    matched: dict[int, int] = {}
    for member_id, by in claims.items():
        by.sort(reverse=True)
        if len(by) > 1 and by[0][0] - by[1][0] < FUZZY_LEAD:
            ambiguous.update({sid: str(member_id) for _, sid in by})
        else:
            matched[by[0][1]] = member_id
    return matched, ambiguous


def _insert_matches(conn, matched: dict[int, int], how: str) -> None:
    if not matched:
        return
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {NEW_PM}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {NEW_PM} (sid bigint, member_id bigint) ON COMMIT DROP")
    copy_rows(conn, NEW_PM, ["sid", "member_id"], matched.items())
    conn.exec_driver_sql(f"""INSERT INTO {PM} SELECT n.sid, n.member_id, t.household_id, '{how}'
                             FROM {NEW_PM} n JOIN mis.member t USING (member_id)""")
