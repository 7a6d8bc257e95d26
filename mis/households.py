"""Household keys in the MIS: each source's code scope, the one-time re-key of codes loaded before keys
were qualified, the households left for a person to look at, and finding a household by its local code."""
from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa

from mis.staging import copy_frame


def get_scope(conn, source_id: str) -> str | None:
    return conn.execute(sa.text("SELECT scope FROM mis.source_household_scope WHERE source_id = :s"),
                        {"s": source_id}).scalar()


def set_scope(conn, source_id: str, scope: str, decided_by: str, evidence: dict) -> None:
    conn.execute(sa.text("""
        INSERT INTO mis.source_household_scope (source_id, scope, decided_by, evidence)
        VALUES (:s, :scope, :by, CAST(:e AS jsonb))
        ON CONFLICT (source_id) DO UPDATE SET scope = EXCLUDED.scope, decided_by = EXCLUDED.decided_by,
                                              evidence = EXCLUDED.evidence, decided_at = now()"""),
                 {"s": source_id, "scope": scope, "by": decided_by, "e": json.dumps(evidence, default=str)})


_QUALIFIER = {
    "commune": "coalesce(h.commune_code_pre2025, h.commune_code)",
    "district": "coalesce(h.district_code_pre2025, CAST(:province AS text))",
    "province": "CAST(:province AS text)",
}
# A code whose digits begin with its commune's code ("31300-0015") is its own key.
_CARRIES = """(regexp_replace({c}, '\\D', '', 'g') LIKE h.commune_code_pre2025 || '_%'
               OR regexp_replace({c}, '\\D', '', 'g') LIKE h.commune_code || '_%')"""


def rekey(conn, source_id: str, scope: str, province_code: str, run_id: str, changed_by: str,
          shared_codes: pd.DataFrame | None = None) -> dict:
    """Key the source's households under `scope`, in conn's transaction: those loaded before keys were
    qualified (household_code = local_code, not carrying its commune), and, when a person changes the
    scope, those keyed under another. History, the rejects ledger and the
    snapshot follow the new key; each re-key is in the change history.

    shared_codes: (local_code, communes) of the roster's codes that name households in several communes:
    a household the old rule keyed by such a code may hold several households merged. It is re-keyed to
    its own commune and listed for a person (mis.household_review), never split by guess.
    """
    params = {"s": source_id, "province": province_code, "run": run_id, "who": changed_by}
    conn.exec_driver_sql("DROP TABLE IF EXISTS _rekey")
    conn.execute(sa.text(f"""
        CREATE TEMP TABLE _rekey ON COMMIT DROP AS
        SELECT h.household_id, h.household_code AS old_code, h.local_code,
               {_QUALIFIER[scope]} || '/' || h.local_code AS new_code
        FROM mis.household h
        WHERE h.source_id = :s AND h.local_code IS NOT NULL
          AND (h.household_code = h.local_code OR h.household_code LIKE '%/' || h.local_code)
          AND NOT {_CARRIES.format(c='h.local_code')} AND {_QUALIFIER[scope]} IS NOT NULL"""), params)
    conn.exec_driver_sql("DELETE FROM _rekey WHERE new_code = old_code")
    # A key another household holds already, or that two households would take, is not taken: those
    # households are for a person to look at.
    taken = conn.execute(sa.text("""
        DELETE FROM _rekey r
        WHERE EXISTS (SELECT 1 FROM mis.household o WHERE o.household_code = r.new_code
                      AND o.household_id NOT IN (SELECT household_id FROM _rekey))
           OR r.new_code IN (SELECT new_code FROM _rekey GROUP BY 1 HAVING count(*) > 1)
        RETURNING r.household_id, r.old_code, r.new_code""")).all()
    n = conn.execute(sa.text("SELECT count(*) FROM _rekey")).scalar()
    if n:
        conn.execute(sa.text("""UPDATE mis.change_log c SET household_code = r.new_code FROM _rekey r
                                WHERE c.household_code = r.old_code"""))
        conn.execute(sa.text("""
            INSERT INTO mis.change_log (run_id, changed_by, entity, household_code, field, old_value, new_value)
            SELECT :run, :who, 'household', new_code, 'household_code', old_code, new_code FROM _rekey"""), params)
        conn.execute(sa.text("""
            UPDATE mis.reject_entry e SET household_code = r.new_code,
                   fingerprint = r.new_code || substr(e.fingerprint, length(r.old_code) + 1)
            FROM _rekey r WHERE e.source_id = :s AND e.household_code = r.old_code
              AND starts_with(e.fingerprint, r.old_code || '|')"""), params)
        conn.execute(sa.text("""UPDATE mis.reject x SET household_code = r.new_code FROM _rekey r
                                WHERE x.source_id = :s AND x.household_code = r.old_code"""), params)
        conn.execute(sa.text("""UPDATE mis.source_snapshot x SET household_code = r.new_code FROM _rekey r
                                WHERE x.source_id = :s AND x.household_code = r.old_code"""), params)
        # Two steps, so that keys passed from one household to another never meet on the way.
        conn.execute(sa.text("""UPDATE mis.household h SET household_code = '#rekey#' || h.household_id
                                FROM _rekey r WHERE h.household_id = r.household_id"""))
        conn.execute(sa.text("""UPDATE mis.household h SET household_code = r.new_code, updated_run_id = :run
                                FROM _rekey r WHERE h.household_id = r.household_id"""), params)
    flagged = 0
    if shared_codes is not None and len(shared_codes):
        conn.exec_driver_sql("DROP TABLE IF EXISTS _shared_codes")
        conn.exec_driver_sql("CREATE TEMP TABLE _shared_codes (local_code text, communes text) ON COMMIT DROP")
        copy_frame(conn, "_shared_codes", shared_codes[["local_code", "communes"]].astype("string"))
        flagged += conn.execute(sa.text("""
            INSERT INTO mis.household_review (household_id, source_id, kind, detail, run_id)
            SELECT r.household_id, :s, 'merged_by_local_code',
                   'Mã hộ «' || r.local_code || '» có ở nhiều xã trong danh sách (' || c.communes || '); hộ '
                   || r.new_code || ' trong cơ sở dữ liệu có thể đã gộp các hộ này theo cách nhận mã cũ: cán bộ kiểm '
                   || 'tra thành viên, không tự tách. / Code ' || r.local_code || ' names households in several '
                   || 'communes (' || c.communes || '); MIS household ' || r.new_code || ' may hold them merged '
                   || 'by the old rule: a person must check its members.', :run
            FROM _rekey r JOIN _shared_codes c USING (local_code)
            ON CONFLICT (household_id, kind) DO NOTHING"""), params).rowcount
    # A household whose commune changed from one load to another under one local code: the old rule may
    # have merged two communes' households.
    flagged += conn.execute(sa.text("""
        INSERT INTO mis.household_review (household_id, source_id, kind, detail, run_id)
        SELECT DISTINCT r.household_id, :s, 'commune_changed_under_local_code',
               'Hộ ' || r.new_code || ' đã đổi xã giữa các lần nạp với cùng mã hộ «' || r.local_code || '»: có thể là '
               || 'hai hộ của hai xã bị gộp theo cách nhận mã cũ. / Household ' || r.new_code || ' changed commune '
               || 'between loads under one local code ' || r.local_code || ': possibly two communes'' households merged.',
               :run
        FROM _rekey r JOIN mis.change_log c ON c.household_code = r.new_code
        WHERE c.field IN ('commune_code_pre2025', 'commune_code') AND c.old_value IS NOT NULL
        ON CONFLICT (household_id, kind) DO NOTHING"""), params).rowcount
    for household_id, old, new in taken:
        flagged += conn.execute(sa.text("""
            INSERT INTO mis.household_review (household_id, source_id, kind, detail, run_id)
            VALUES (:h, :s, 'key_taken', :d, :run) ON CONFLICT (household_id, kind) DO NOTHING"""),
            {**params, "h": household_id, "d": f"Mã {new} đã thuộc một hộ khác nên hộ «{old}» giữ mã cũ. / "
                                                f"Key {new} belongs to another household; {old} keeps its code."}).rowcount
    return {"households_rekeyed": int(n), "households_to_review": int(flagged)}


def reviews(conn, source_id: str | None = None) -> list[dict]:
    """Households left for a person to look at (merged by the old rule, a key taken)."""
    return [dict(r) for r in conn.execute(sa.text("""
        SELECT v.review_id, v.source_id, v.kind, h.household_code, h.local_code, h.head_name,
               coalesce(h.commune_code_pre2025, h.commune_code) AS commune, v.detail, v.run_id, v.created_at
        FROM mis.household_review v JOIN mis.household h USING (household_id)
        WHERE CAST(:s AS text) IS NULL OR v.source_id = :s ORDER BY v.source_id, h.household_code, v.kind"""),
        {"s": source_id}).mappings()]


def find(conn, code: str, commune: str | None = None) -> list[dict]:
    """Households by their key, or by their code as the district writes it (with its commune)."""
    return [dict(r) for r in conn.execute(sa.text("""
        SELECT household_code, local_code, head_name, commune_code_pre2025, commune_code, source_id
        FROM mis.household
        WHERE (household_code = :c OR local_code = :c)
          AND (CAST(:commune AS text) IS NULL OR commune_code_pre2025 = :commune OR commune_code = :commune)
        ORDER BY household_code"""), {"c": code, "commune": commune}).mappings()]


def registry_ids(conn, id_numbers: pd.Series) -> pd.DataFrame:
    """(id_number, household_code, ids_in_household) of the listed members of the MIS holding any of these ID
    numbers; ids_in_household: how many listed people of that household have an ID."""
    ids = sorted(set(id_numbers))
    if not ids:
        return pd.DataFrame(columns=["id_number", "household_code", "ids_in_household"])
    rows = conn.execute(sa.text("""
        SELECT DISTINCT ON (m.id_number) m.id_number, h.household_code,
               (SELECT count(*) FROM mis.member x WHERE x.household_id = h.household_id AND x.listed
                AND x.id_number IS NOT NULL) AS ids_in_household
        FROM mis.member m JOIN mis.household h USING (household_id)
        WHERE m.listed AND m.id_number = ANY(:ids) ORDER BY m.id_number, h.household_code"""), {"ids": ids}).all()
    return pd.DataFrame(rows, columns=["id_number", "household_code", "ids_in_household"])


def people_in_two_districts(conn, province_code: str) -> list[dict]:
    """People listed in households of two districts at once (by ID number), households flagged missing aside:
    (id_number, districts, households, full_name), the ID in full."""
    return [dict(r) for r in conn.execute(sa.text("""
        SELECT m.id_number,
               array_agg(DISTINCT h.district_code_pre2025 ORDER BY h.district_code_pre2025) AS districts,
               array_agg(h.household_code || ' (' || h.source_id || ')' ORDER BY h.household_code) AS households,
               min(m.full_name) AS full_name
        FROM mis.member m JOIN mis.household h USING (household_id)
        WHERE m.listed AND m.id_number IS NOT NULL AND h.missing_run_id IS NULL AND h.province_code = :p
        GROUP BY m.id_number HAVING count(DISTINCT h.district_code_pre2025) > 1
        ORDER BY 1"""), {"p": province_code}).mappings()]


def history(conn, household_code: str) -> list[dict]:
    """Every change the gateway made to a household, oldest first: which run, who, what field, before and after."""
    return [dict(r) for r in conn.execute(sa.text("""
        SELECT r.started_at, c.run_id, c.changed_by, c.entity, c.member_key, m.full_name, c.assessment_year,
               c.field, c.old_value, c.new_value, c.source_file, c.source_sheet, c.source_row
        FROM mis.change_log c JOIN mis.sync_run r USING (run_id)
        LEFT JOIN mis.household h ON h.household_code = c.household_code
        LEFT JOIN mis.member m ON m.household_id = h.household_id AND m.member_key = c.member_key
        WHERE c.household_code = :h ORDER BY r.started_at, c.change_id"""), {"h": household_code}).mappings()]

