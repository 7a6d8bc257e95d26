"""Classifies a district roster against the central registry: one outcome per household and per person.

Households match by code, else by their members' ID numbers; people match by key or ID inside the
matched household, then by ID anywhere, then by typo-tolerant name, birth year and sex inside the
household, then by name and birth date across the district. A match by name (the member key of a
person without an ID number is their name and birth year) holds only when nothing contradicts it: two
full birth dates, where both are known, agree. Everything runs as set-based SQL in PostgreSQL except
the name comparisons, which rapidfuzz makes over the few blocked candidate pairs. Nothing is merged on
a guess: an ambiguous match is a conflict for a person to decide. People of a household held back (a
conflict, or rejected by validation) stay where the MIS has them until a person decides.
"""
from __future__ import annotations

import sqlalchemy as sa

from mis.load import ASSESSMENT_COLUMNS, HOUSEHOLD_COLUMNS, merged, project
from mis.staging import copy_rows, table_name

OUTCOMES = ("new", "changed", "unchanged", "moved", "missing", "conflict")
PERSON_FIELDS = ["full_name", "relation_code", "sex", "birth_date", "birth_year", "ethnicity_code", "id_number"]
FUZZY_MIN = 85.0     # rapidfuzz ratio of folded names: "tranthibinh" / "tranthibinnh" scores 96
FUZZY_LEAD = 10.0    # the best candidate must beat the next one by this much, else the match is ambiguous
CROSS_MIN = 90.0     # across households a name must be closer still, and the full birth date equal
# Two people linked by name (s: staged, t: registry): where both full birth dates are known, they agree.
DATES_AGREE = "(s.birth_date IS NULL OR t.birth_date IS NULL OR s.birth_date = t.birth_date)"

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
    conn.exec_driver_sql("DROP TABLE IF EXISTS _scope, _hm, _hmatch, _pm, _ambiguous, _left, _po, _held, _kept")
    # The households this roster speaks for: its district's, or its own for a source with no district.
    conn.exec_driver_sql("""
        CREATE TEMP TABLE _scope ON COMMIT DROP AS
        SELECT household_id FROM mis.household
        WHERE CASE WHEN %(district)s::text IS NOT NULL THEN district_code_pre2025 = %(district)s::text
                   ELSE source_id = %(source)s::text END""", {"district": district_code, "source": source_id})
    conn.exec_driver_sql("ALTER TABLE _scope ADD PRIMARY KEY (household_id)")
    # The households that are missing if no roster household claims them: all of the scope for a
    # whole roster; for a partial one only those the source no longer has.
    conn.exec_driver_sql("DROP TABLE IF EXISTS _absent")
    if partial is None:
        # A household the roster lists but whose rows were held back (rejected) is not missing: it waits
        # in the fix-up workbook.
        # Nor is one whose roster rows are as they were when a returned fix-up workbook fixed it.
        present = table_name(run_id, "fixed_present")
        listed = conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": present.replace('"', '')}).scalar()
        conn.exec_driver_sql(f"""CREATE TEMP TABLE _absent ON COMMIT DROP AS
            SELECT s.household_id FROM _scope s JOIN mis.household h USING (household_id)
            WHERE NOT EXISTS (SELECT 1 FROM {table_name(run_id, 'members')} m
                              WHERE m.household_code = h.household_code AND NOT m.accepted::boolean)
            {f"AND h.household_code NOT IN (SELECT household_code FROM {present})" if listed else ""}""")
    else:
        exists = conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": partial.replace('"', '')}).scalar()
        conn.exec_driver_sql(f"""CREATE TEMP TABLE _absent ON COMMIT DROP AS
            SELECT s.household_id FROM _scope s JOIN mis.household h USING (household_id)
            WHERE {f"h.household_code IN (SELECT household_code FROM {partial})" if exists else "false"}""")
    _match_households(conn)
    _match_people(conn, run_id)
    _household_outcomes(conn, run_id)
    households = _counts(conn, f"SELECT outcome, count(*) FROM {table_name(run_id, 'outcome')} GROUP BY 1")
    members = _counts(conn, "SELECT outcome, count(*) FROM _po GROUP BY 1")
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


# ---------------------------------------------------------------- households
def _match_households(conn) -> None:
    """_hmatch: each roster household's registry household, or the reason it cannot be trusted.

    By code first. A code the MIS does not know is matched by members: the registry household that
    holds at least half of the roster household's ID numbers, when those are at least half of its
    own (a household re-coded, or moved here from another district). Two roster households on one
    registry household (a split, or a household entered twice), or one roster household on two, are
    conflicts. A household of another district counts as moved only when that district's own roster
    no longer lists it (flagged missing) and they share members; otherwise it is a conflict.
    """
    conn.exec_driver_sql("""
        CREATE TEMP TABLE _hm ON COMMIT DROP AS
        WITH unknown_ids AS (
            SELECT m.household_code, m.id_number FROM _mem m
            WHERE m.id_kind IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM mis.household h WHERE h.household_code = m.household_code)
        ), roster_n AS (
            SELECT household_code, count(*) AS n FROM _mem WHERE id_kind IS NOT NULL GROUP BY 1
        ), hits AS (
            SELECT i.household_code, t.household_id, count(*) AS shared
            FROM unknown_ids i JOIN mis.member t ON t.id_number = i.id_number AND t.listed
            GROUP BY 1, 2
        ), registry_n AS (
            SELECT household_id, count(*) AS n FROM mis.member
            WHERE listed AND id_number IS NOT NULL AND household_id IN (SELECT household_id FROM hits) GROUP BY 1
        )
        SELECT r.household_code, h.household_id, 'code'::text AS how
        FROM _hh r JOIN mis.household h USING (household_code)
        UNION ALL
        SELECT x.household_code, x.household_id, 'members'
        FROM hits x JOIN roster_n r USING (household_code) JOIN registry_n g USING (household_id)
        WHERE 2 * x.shared >= r.n AND 2 * x.shared >= g.n""")
    conn.exec_driver_sql("""
        CREATE TEMP TABLE _hmatch ON COMMIT DROP AS
        WITH per_roster AS (
            SELECT household_code, count(*) AS n, min(household_id) AS household_id, min(how) AS how
            FROM _hm GROUP BY 1
        ), claims AS (
            SELECT household_id, count(*) AS n FROM _hm GROUP BY 1
        ), candidates AS (
            -- Named in the message: the registry households an ambiguous or shared match points at.
            SELECT a.household_code, string_agg(DISTINCT h.household_code, ', ') AS candidates
            FROM _hm a JOIN mis.household h USING (household_id)
            WHERE a.household_code IN (SELECT household_code FROM per_roster WHERE n > 1)
               OR a.household_id IN (SELECT household_id FROM claims WHERE n > 1)
            GROUP BY 1
        ), m AS (
            SELECT p.household_code, CASE WHEN p.n = 1 THEN p.household_id END AS household_id, p.how,
                   CASE WHEN p.n > 1 THEN 'reconcile.ambiguous_household'
                        WHEN c.n > 1 AND p.how = 'members' THEN 'reconcile.shared_members' END AS reason,
                   k.candidates
            FROM per_roster p LEFT JOIN claims c ON c.household_id = p.household_id AND p.n = 1
            LEFT JOIN candidates k USING (household_code)
        )
        SELECT r.household_code, m.household_id, m.how, h.household_code AS registry_code,
               s.household_id IS NOT NULL AS in_scope,
               concat_ws(' / ', h.source_id, h.district_code_pre2025, h.commune_code_pre2025,
                         h.commune_code) AS registry_place,
               m.candidates,
               CASE WHEN m.reason IS NOT NULL THEN m.reason
                    WHEN h.household_id IS NULL OR s.household_id IS NOT NULL THEN NULL
                    -- Another district's household: moved here only if that district no longer lists it.
                    WHEN h.missing_run_id IS NOT NULL AND (m.how = 'members' OR EXISTS (
                         SELECT 1 FROM _mem x JOIN mis.member t
                              ON t.household_id = h.household_id AND t.member_key = x.member_key
                         WHERE x.household_code = r.household_code AND (x.id_kind IS NOT NULL
                               OR x.birth_date IS NULL OR t.birth_date IS NULL OR x.birth_date = t.birth_date)))
                         THEN NULL
                    WHEN m.how = 'code' THEN 'reconcile.code_other_district'
                    ELSE 'reconcile.members_other_district' END AS reason
        FROM _hh r
        LEFT JOIN m USING (household_code)
        LEFT JOIN mis.household h ON h.household_id = m.household_id
        LEFT JOIN _scope s ON s.household_id = h.household_id""")
    conn.exec_driver_sql("CREATE UNIQUE INDEX ON _hmatch (household_code)")
    conn.exec_driver_sql("CREATE INDEX ON _hm (household_id)")


# ---------------------------------------------------------------- people
def _match_people(conn, run_id: str) -> None:
    """_pm (staged person -> registry member, and how), _ambiguous, _left, _po, _kept; re-keys staged people."""
    trusted = "x.household_id IS NOT NULL AND x.reason IS NULL"
    # 1. Inside the matched household, by key; then by ID number under another key. A name key (no ID
    #    number) also finds the key given to a second person of that name and year (name|year|date);
    #    it links only when the full birth dates, where both are known, agree.
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE _pm ON COMMIT DROP AS
        SELECT DISTINCT ON (sid) sid, member_id, household_id, 'key'::text AS how FROM (
            SELECT s.sid, t.member_id, t.household_id, t.listed, 0 AS rank
            FROM _mem s JOIN _hmatch x USING (household_code)
            JOIN mis.member t ON t.household_id = x.household_id AND t.member_key = s.member_key
            WHERE {trusted} AND (s.id_kind IS NOT NULL OR {DATES_AGREE})
            UNION ALL
            SELECT s.sid, t.member_id, t.household_id, t.listed, 1
            FROM _mem s JOIN _hmatch x USING (household_code)
            JOIN mis.member t ON t.household_id = x.household_id
                 AND t.member_key = s.member_key || '|' || s.birth_date::text
            WHERE {trusted} AND s.id_kind IS NULL AND s.birth_date IS NOT NULL AND {DATES_AGREE}
        ) c
        ORDER BY sid, rank, listed DESC, member_id""")
    conn.exec_driver_sql("CREATE UNIQUE INDEX ON _pm (sid)")
    conn.exec_driver_sql("CREATE INDEX ON _pm (member_id)")
    conn.exec_driver_sql(f"""
        INSERT INTO _pm
        SELECT DISTINCT ON (s.sid) s.sid, t.member_id, t.household_id, 'id_in_household'
        FROM _mem s JOIN _hmatch x USING (household_code)
        JOIN mis.member t ON t.household_id = x.household_id AND t.id_number = s.id_number
        WHERE {trusted} AND s.id_kind IS NOT NULL AND NOT EXISTS (SELECT 1 FROM _pm p WHERE p.sid = s.sid)
          AND NOT EXISTS (SELECT 1 FROM _pm p WHERE p.member_id = t.member_id)
        ORDER BY s.sid, t.listed DESC, t.member_id""")
    # 2. By ID number anywhere else in the MIS: this person was in another household.
    conn.exec_driver_sql("""
        INSERT INTO _pm
        SELECT DISTINCT ON (s.sid) s.sid, t.member_id, t.household_id, 'id_elsewhere'
        FROM _mem s JOIN _hmatch x USING (household_code)
        JOIN mis.member t ON t.id_number = s.id_number AND t.household_id IS DISTINCT FROM x.household_id
        WHERE x.reason IS NULL AND s.id_kind IS NOT NULL AND NOT EXISTS (SELECT 1 FROM _pm p WHERE p.sid = s.sid)
        ORDER BY s.sid, t.listed DESC, t.member_id DESC""")
    # 3. Inside the household, by typo-tolerant name: blocked by household, sex and birth year.
    pairs = conn.execute(sa.text(f"""
        SELECT s.sid, t.member_id, s.name_key, t.name_key
        FROM _mem s JOIN _hmatch x USING (household_code)
        JOIN mis.member t ON t.household_id = x.household_id AND t.listed
        WHERE {trusted} AND t.name_key IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM _pm p WHERE p.sid = s.sid)
          AND NOT EXISTS (SELECT 1 FROM _pm p WHERE p.member_id = t.member_id)
          AND (s.sex IS NULL OR t.sex IS NULL OR s.sex = t.sex)
          AND (s.birth_year IS NULL OR t.birth_year IS NULL OR s.birth_year = t.birth_year
               OR s.name_key = t.name_key)
          AND {DATES_AGREE}
          -- Two different ID numbers are two people, unless name and full birth date agree (an ID corrected).
          AND (s.id_kind IS NULL OR t.id_number IS NULL OR (s.name_key = t.name_key AND s.birth_date = t.birth_date))
    """)).all()
    inside, ambiguous = _assign(pairs, FUZZY_MIN)
    conn.exec_driver_sql("CREATE TEMP TABLE _ambiguous (sid bigint, reason text, candidates text) ON COMMIT DROP")
    _insert_matches(conn, inside, "name_in_household")
    copy_rows(conn, "_ambiguous", ["sid", "reason", "candidates"],
              [(sid, "reconcile.ambiguous_person", cands) for sid, cands in ambiguous.items()])
    # The people the households held back so far hold: never left over, so never missing, and never
    # taken by a name match from another household (step 4).
    _keep_held(conn, run_id, final=False)
    # 4. Across the district's households, for people still unmatched: a move without a usable ID.
    #    Exact name and birth year, or a close name and the same full birth date; sex always; full
    #    birth dates never disagree.
    conn.exec_driver_sql("""
        CREATE TEMP TABLE _left ON COMMIT DROP AS
        SELECT t.member_id, t.household_id, t.member_key, t.name_key, t.full_name, t.sex, t.birth_year,
               t.birth_date, t.id_number
        FROM mis.member t
        WHERE t.listed AND (t.household_id IN (SELECT household_id FROM _absent)
                            OR t.household_id IN (SELECT household_id FROM _hmatch WHERE reason IS NULL))
          AND NOT EXISTS (SELECT 1 FROM _pm p WHERE p.member_id = t.member_id)
          AND NOT EXISTS (SELECT 1 FROM _kept k WHERE k.member_id = t.member_id)""")
    pairs = conn.execute(sa.text(f"""
        WITH s AS (SELECT s.*, x.household_id AS target FROM _mem s JOIN _hmatch x USING (household_code)
                   WHERE x.reason IS NULL AND NOT EXISTS (SELECT 1 FROM _pm p WHERE p.sid = s.sid)
                     AND NOT EXISTS (SELECT 1 FROM _ambiguous a WHERE a.sid = s.sid))
        SELECT s.sid, t.member_id, s.name_key, t.name_key
        FROM s JOIN _left t ON t.name_key = s.name_key AND t.birth_year = s.birth_year AND t.sex = s.sex
        WHERE t.household_id IS DISTINCT FROM s.target AND (s.id_kind IS NULL OR t.id_number IS NULL)
          AND {DATES_AGREE}
        UNION
        SELECT s.sid, t.member_id, s.name_key, t.name_key
        FROM s JOIN _left t ON t.birth_date = s.birth_date AND t.sex = s.sex
        WHERE t.household_id IS DISTINCT FROM s.target AND (s.id_kind IS NULL OR t.id_number IS NULL)
    """)).all()
    across, ambiguous = _assign(pairs, CROSS_MIN)
    _insert_matches(conn, across, "name_elsewhere")
    copy_rows(conn, "_ambiguous", ["sid", "reason", "candidates"],
              [(sid, "reconcile.ambiguous_person", cands) for sid, cands in ambiguous.items()])
    conn.exec_driver_sql("DELETE FROM _left l USING _pm p WHERE p.member_id = l.member_id")

    # Staged people matched inside their household take the registry's key: the load updates that row.
    members = table_name(run_id, "members")
    conn.exec_driver_sql(f"""
        UPDATE {members} m SET member_key = t.member_key
        FROM _pm p JOIN _mem s USING (sid) JOIN mis.member t ON t.member_id = p.member_id
        WHERE p.how IN ('key', 'id_in_household', 'name_in_household') AND m.source_file = s.source_file
          AND m.source_sheet = s.source_sheet AND m.source_row::int = s.source_row
          AND m.member_key <> t.member_key""")
    conn.exec_driver_sql("""
        UPDATE _mem s SET member_key = t.member_key FROM _pm p JOIN mis.member t ON t.member_id = p.member_id
        WHERE p.sid = s.sid AND p.how IN ('key', 'id_in_household', 'name_in_household')
          AND s.member_key <> t.member_key""")
    # A person without an ID number, new to the household (or moved into it), whose key another person
    # of that household has already (the same name and birth year, another birth date) is someone
    # else: a key of their own (name|year|date), so that the load adds them instead of writing over
    # that person. (An ID number key never collides: step 1 matches it whatever the dates.)
    conn.exec_driver_sql("""
        CREATE TEMP TABLE _rekey ON COMMIT DROP AS
        SELECT s.sid, s.member_key || '|' || coalesce(s.birth_date::text, 'row' || s.source_row) AS member_key
        FROM _mem s JOIN _hmatch x USING (household_code)
        WHERE x.household_id IS NOT NULL AND x.reason IS NULL AND s.id_kind IS NULL
          AND NOT EXISTS (SELECT 1 FROM _pm p WHERE p.sid = s.sid
                          AND p.how IN ('key', 'id_in_household', 'name_in_household'))
          AND EXISTS (SELECT 1 FROM mis.member t WHERE t.household_id = x.household_id
                      AND t.member_key = s.member_key)""")
    conn.exec_driver_sql(f"""
        UPDATE {members} m SET member_key = r.member_key FROM _rekey r JOIN _mem s USING (sid)
        WHERE m.source_file = s.source_file AND m.source_sheet = s.source_sheet AND m.source_row::int = s.source_row""")
    conn.exec_driver_sql("UPDATE _mem s SET member_key = r.member_key FROM _rekey r WHERE r.sid = s.sid")
    conn.exec_driver_sql("DROP TABLE _rekey")

    # One outcome per staged person. A blank cell is no change: compared as the load would merge it.
    fields = " || ".join(f"CASE WHEN t.{c} IS DISTINCT FROM {merged(c, 's', 't')} THEN ARRAY['{c}'] "
                         "ELSE ARRAY[]::text[] END" for c in PERSON_FIELDS)
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE _po ON COMMIT DROP AS
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
        FROM _mem s
        JOIN _hmatch x USING (household_code)
        LEFT JOIN _pm p USING (sid)
        LEFT JOIN _ambiguous a USING (sid)
        LEFT JOIN mis.member t ON t.member_id = p.member_id
        LEFT JOIN mis.household h ON h.household_id = t.household_id
        LEFT JOIN _scope sc ON sc.household_id = t.household_id
        CROSS JOIN LATERAL (SELECT CASE WHEN t.member_id IS NULL THEN ARRAY[]::text[] ELSE ({fields}) END
                            AS fields) f""")
    # Every household held back is known now: the people they hold are kept, and not missing.
    _keep_held(conn, run_id, final=True)
    conn.exec_driver_sql("DELETE FROM _left l USING _kept k WHERE k.member_id = l.member_id")
    kept = table_name(run_id, "kept_members")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {kept}")
    conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {kept} AS SELECT member_id FROM _kept")


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
        conflicts = "SELECT household_code FROM _po WHERE outcome = 'conflict'"
    else:
        conflicts = """
            SELECT household_code FROM _hmatch WHERE reason IS NOT NULL
            UNION SELECT s.household_code FROM _ambiguous a JOIN _mem s USING (sid)
            UNION SELECT s.household_code FROM _pm p JOIN _mem s USING (sid)
                  JOIN mis.member t ON t.member_id = p.member_id JOIN mis.household h ON h.household_id = t.household_id
                  WHERE p.how = 'id_elsewhere' AND t.listed AND h.missing_run_id IS NULL
                    AND NOT EXISTS (SELECT 1 FROM _scope sc WHERE sc.household_id = t.household_id)"""
    conn.exec_driver_sql("DROP TABLE IF EXISTS _held, _kept")
    # Rejected rows are staged as text as mapped (ISO dates, whole years): cast only what reads as such.
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE _held ON COMMIT DROP AS
        SELECT s.sid, r.household_code, r.name_key,
               CASE WHEN r.id_kind IS NOT NULL THEN r.id_number END AS id_number,
               CASE WHEN r.birth_date ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' THEN r.birth_date::date END AS birth_date,
               CASE WHEN r.birth_year ~ '^[0-9]{{1,4}}$' THEN r.birth_year::int END AS birth_year
        FROM {members} r
        LEFT JOIN _mem s ON s.source_file = r.source_file AND s.source_sheet = r.source_sheet
                        AND s.source_row = r.source_row::int
        WHERE NOT r.accepted::boolean OR r.household_code IN ({conflicts})""")
    conn.exec_driver_sql("CREATE INDEX ON _held (sid)")
    conn.exec_driver_sql("""
        CREATE TEMP TABLE _kept ON COMMIT DROP AS
        WITH found AS (
            SELECT p.member_id FROM _held h JOIN _pm p USING (sid)
            UNION ALL
            SELECT unnest(string_to_array(a.candidates, ',')::bigint[]) FROM _held h JOIN _ambiguous a USING (sid)
            UNION ALL
            SELECT t.member_id FROM _held h JOIN mis.member t ON t.id_number = h.id_number
            WHERE h.id_number IS NOT NULL AND t.listed AND NOT EXISTS (SELECT 1 FROM _pm p WHERE p.sid = h.sid)
            UNION ALL
            SELECT t.member_id FROM _held h JOIN mis.member t ON t.name_key = h.name_key AND t.birth_year = h.birth_year
            WHERE t.listed AND (h.id_number IS NULL OR t.id_number IS NULL)
              AND (h.birth_date IS NULL OR t.birth_date IS NULL OR h.birth_date = t.birth_date)
              AND NOT EXISTS (SELECT 1 FROM _pm p WHERE p.sid = h.sid)
        )
        SELECT DISTINCT f.member_id FROM found f
        WHERE NOT EXISTS (SELECT 1 FROM _pm p WHERE p.member_id = f.member_id
                          AND NOT EXISTS (SELECT 1 FROM _held h WHERE h.sid = p.sid))""")
    conn.exec_driver_sql("ALTER TABLE _kept ADD PRIMARY KEY (member_id)")


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
    conn.exec_driver_sql("DROP TABLE IF EXISTS _new_pm")
    conn.exec_driver_sql("CREATE TEMP TABLE _new_pm (sid bigint, member_id bigint) ON COMMIT DROP")
    copy_rows(conn, "_new_pm", ["sid", "member_id"], matched.items())
    conn.exec_driver_sql(f"""INSERT INTO _pm SELECT n.sid, n.member_id, t.household_id, '{how}'
                             FROM _new_pm n JOIN mis.member t USING (member_id)""")


# ---------------------------------------------------------------- outcomes
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
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {outcome}, {member_outcome}, _disputed")
    # Registry households that a roster household in conflict claims: in dispute, so not missing.
    conn.exec_driver_sql("""
        CREATE TEMP TABLE _disputed ON COMMIT DROP AS
        SELECT DISTINCT c.household_id FROM _hm c JOIN _hmatch x USING (household_code)
        WHERE x.reason IS NOT NULL
           OR x.household_code IN (SELECT household_code FROM _po WHERE outcome = 'conflict')""")
    # People of the registry who are in no household of the roster any more: missing, never deleted.
    conn.exec_driver_sql(f"""
        CREATE UNLOGGED TABLE {member_outcome} AS
        SELECT household_code, member_key, full_name, outcome, changed_fields, registry_member_id,
               registry_household_id, reason, detail, source_file, source_sheet, source_row, source_key
        FROM _po WHERE outcome <> 'unchanged'
        UNION ALL
        SELECT h.household_code, l.member_key, l.full_name, 'missing', ARRAY[]::text[], l.member_id,
               l.household_id, NULL, NULL, h.source_file, h.source_sheet, NULL, t.source_key
        FROM _left l JOIN mis.household h USING (household_id) JOIN mis.member t USING (member_id)
        -- People of a household in dispute are not missing: the conflict names them.
        WHERE l.household_id NOT IN (SELECT household_id FROM _disputed)""")
    conn.exec_driver_sql(f"""
        CREATE UNLOGGED TABLE {outcome} AS
        WITH people AS (
            SELECT household_code, bool_or(outcome = 'conflict') AS conflict,
                   min(reason) FILTER (WHERE outcome = 'conflict') AS reason,
                   min(detail) FILTER (WHERE outcome = 'conflict') AS detail,
                   bool_or(outcome IN ('new', 'changed', 'moved')) AS changed
            FROM _po GROUP BY 1
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
        FROM _hh s
        JOIN _hmatch x USING (household_code)
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
        FROM mis.household h JOIN _absent USING (household_id)
        WHERE NOT EXISTS (SELECT 1 FROM _hm c WHERE c.household_id = h.household_id)""")


def change_examples(conn, run_id: str, limit: int = 15) -> list[dict]:
    """The run's changed, moved and missing households (before its load), each with its changed fields and,
    for household and assessment fields, the value before and after: what a person approving reads."""
    rows = conn.execute(sa.text(f"""
        SELECT household_code, outcome, changed_fields, changed_values, detail
        FROM {table_name(run_id, 'outcome')} WHERE outcome IN ('changed', 'moved', 'missing')
        ORDER BY CASE outcome WHEN 'changed' THEN 0 WHEN 'moved' THEN 1 ELSE 2 END, household_code
        LIMIT :n"""), {"n": limit}).mappings().all()
    return [dict(r) for r in rows]
