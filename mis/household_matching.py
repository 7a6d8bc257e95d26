"""Household matching for the reconcile: each roster household's registry household, by code or by members."""
from __future__ import annotations

from mis.scratch import HH, HM, HMATCH, MEM, SCOPE


def _match_households(conn) -> None:
    """_hmatch: each roster household's registry household, or the reason it cannot be trusted.

    By code first. A code the MIS does not know is matched by members: the registry household that
    holds at least half of the roster household's ID numbers, when those are at least half of its
    own (a household re-coded, or moved here from another district). Two roster households on one
    registry household (a split, or a household entered twice), or one roster household on two, are
    conflicts. A household of another district counts as moved only when that district's own roster
    no longer lists it (flagged missing) and they share members; otherwise it is a conflict.
    """
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {HM} ON COMMIT DROP AS
        WITH unknown_ids AS (
            SELECT m.household_code, m.id_number FROM {MEM} m
            WHERE m.id_kind IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM mis.household h WHERE h.household_code = m.household_code)
        ), roster_n AS (
            SELECT household_code, count(*) AS n FROM {MEM} WHERE id_kind IS NOT NULL GROUP BY 1
        ), hits AS (
            SELECT i.household_code, t.household_id, count(*) AS shared
            FROM unknown_ids i JOIN mis.member t ON t.id_number = i.id_number AND t.listed
            GROUP BY 1, 2
        ), registry_n AS (
            SELECT household_id, count(*) AS n FROM mis.member
            WHERE listed AND id_number IS NOT NULL AND household_id IN (SELECT household_id FROM hits) GROUP BY 1
        )
        SELECT r.household_code, h.household_id, 'code'::text AS how
        FROM {HH} r JOIN mis.household h USING (household_code)
        UNION ALL
        SELECT x.household_code, x.household_id, 'members'
        FROM hits x JOIN roster_n r USING (household_code) JOIN registry_n g USING (household_id)
        WHERE 2 * x.shared >= r.n AND 2 * x.shared >= g.n""")
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE {HMATCH} ON COMMIT DROP AS
        WITH per_roster AS (
            SELECT household_code, count(*) AS n, min(household_id) AS household_id, min(how) AS how
            FROM {HM} GROUP BY 1
        ), claims AS (
            SELECT household_id, count(*) AS n FROM {HM} GROUP BY 1
        ), candidates AS (
            -- Named in the message: the registry households an ambiguous or shared match points at.
            SELECT a.household_code, string_agg(DISTINCT h.household_code, ', ') AS candidates
            FROM {HM} a JOIN mis.household h USING (household_id)
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
                         SELECT 1 FROM {MEM} x JOIN mis.member t
                              ON t.household_id = h.household_id AND t.member_key = x.member_key
                         WHERE x.household_code = r.household_code AND (x.id_kind IS NOT NULL
                               OR x.birth_date IS NULL OR t.birth_date IS NULL OR x.birth_date = t.birth_date)))
                         THEN NULL
                    WHEN m.how = 'code' THEN 'reconcile.code_other_district'
                    ELSE 'reconcile.members_other_district' END AS reason
        FROM {HH} r
        LEFT JOIN m USING (household_code)
        LEFT JOIN mis.household h ON h.household_id = m.household_id
        LEFT JOIN {SCOPE} s ON s.household_id = h.household_id""")
    conn.exec_driver_sql(f"CREATE UNIQUE INDEX ON {HMATCH} (household_code)")
    conn.exec_driver_sql(f"CREATE INDEX ON {HM} (household_id)")
