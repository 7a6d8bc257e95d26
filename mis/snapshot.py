"""A source's records as last loaded (key, household, content digest): what a full read is compared with.

A source that has record keys but no watermark is read in full each time; comparing the read with
the snapshot keeps only the households with a new, changed or gone record, so unchanged records cost
nothing downstream. Set-based, in PostgreSQL. The snapshot moves only in the load transaction, and
only for households that loaded: a household held back is read again next time.
"""
from __future__ import annotations

import sqlalchemy as sa

from mis.staging import table_name


def narrow(conn, run_id: str, source_id: str, compare: bool = True) -> dict:
    """Keep in the run's raw table only the households whose records changed since the snapshot.

    Writes the run's `read` table (every keyed record read: key, household, digest) for the snapshot
    update, and its `gone` table (household codes the snapshot holds whose records are all gone), which
    the reconcile reports missing. compare=False (a full reload, or no snapshot to trust): keeps all.
    """
    raw, read, gone = table_name(run_id, "raw"), table_name(run_id, "read"), table_name(run_id, "gone")
    params = {"s": source_id}
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {read}, {gone}")
    conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {read} AS SELECT key, household, hash FROM {raw} "
                         "WHERE key IS NOT NULL")
    duplicates = conn.execute(sa.text(f"SELECT count(*) FROM (SELECT key FROM {read} GROUP BY key "
                                      "HAVING count(*) > 1) d")).scalar()
    has_snapshot = conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM mis.source_snapshot WHERE source_id = :s)"),
                                params).scalar()
    if not compare or not has_snapshot or duplicates:
        # Nothing to compare with, or keys that are not keys: every record goes on, and nobody is missing
        # for lack of a comparison (the reconcile's own full-roster rule applies).
        conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {gone} (household_code text)")
        rows = conn.execute(sa.text(f"SELECT count(*) FROM {read}")).scalar()
        return {"narrowed": False, "rows_read": rows, "duplicate_keys": duplicates}
    conn.exec_driver_sql(f"CREATE INDEX ON {read} (key)")
    conn.exec_driver_sql("DROP TABLE IF EXISTS _changed")
    conn.exec_driver_sql(f"""
        CREATE TEMP TABLE _changed ON COMMIT DROP AS
        SELECT r.household FROM {read} r
        LEFT JOIN mis.source_snapshot s ON s.source_id = %(s)s AND s.record_key = r.key
        WHERE s.record_key IS NULL OR s.row_hash <> r.hash OR s.household IS DISTINCT FROM r.household
        UNION
        SELECT s.household FROM mis.source_snapshot s
        WHERE s.source_id = %(s)s AND NOT EXISTS (SELECT 1 FROM {read} r WHERE r.key = s.record_key)""", params)
    conn.exec_driver_sql(f"""
        CREATE UNLOGGED TABLE {gone} AS
        SELECT DISTINCT s.household_code FROM mis.source_snapshot s
        WHERE s.source_id = %(s)s AND s.household_code IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM {read} r WHERE r.household = s.household)
          -- `=`, not IS NOT DISTINCT FROM, which cannot hash and compares every pair; blank households apart
          AND NOT (s.household IS NULL AND EXISTS (SELECT 1 FROM {read} r WHERE r.household IS NULL))""", params)
    # Header rows (no key) stay; so do records with no household value, for the rules to name.
    dropped = conn.execute(sa.text(f"""
        DELETE FROM {raw} r WHERE r.key IS NOT NULL AND r.household IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM _changed c WHERE c.household = r.household)""")).rowcount
    counts = conn.execute(sa.text(f"""
        SELECT (SELECT count(*) FROM {read}), (SELECT count(*) FROM {raw} WHERE key IS NOT NULL),
               (SELECT count(*) FROM _changed), (SELECT count(*) FROM {gone})""")).one()
    return {"narrowed": True, "rows_read": counts[0], "rows_kept": counts[1], "rows_unchanged": dropped,
            "households_changed": counts[2], "households_gone": counts[3], "duplicate_keys": 0}


def update(conn, run_id: str, source_id: str, narrowed: bool, loaded: str = "_hh") -> int:
    """After the merge, in its transaction: the snapshot holds what this run loaded (loaded: mis.load's _hh).

    Records of households this run read and did not load (held back) leave the snapshot, so the next
    run reads them again; records gone from the source leave it; households not read stay as they were.
    """
    raw, read, members = table_name(run_id, "raw"), table_name(run_id, "read"), table_name(run_id, "members")
    params = {"s": source_id}
    if not conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": read.replace('"', '')}).scalar():
        return 0
    if narrowed:
        # Gone from the source, read again, or of a household read again. Joins, not OR-ed subqueries:
        # those are planned as a scan of the run's table per snapshot record (minutes at 133,000 records).
        conn.execute(sa.text(f"""
            DELETE FROM mis.source_snapshot s USING (
                SELECT x.record_key FROM mis.source_snapshot x LEFT JOIN {read} r ON r.key = x.record_key
                WHERE x.source_id = :s AND r.key IS NULL
                UNION SELECT key FROM {raw} WHERE key IS NOT NULL
                UNION SELECT x.record_key FROM mis.source_snapshot x
                JOIN (SELECT DISTINCT household FROM {raw} WHERE household IS NOT NULL) h ON h.household = x.household
                WHERE x.source_id = :s) d
            WHERE s.source_id = :s AND s.record_key = d.record_key"""), params)
    else:
        conn.execute(sa.text("DELETE FROM mis.source_snapshot WHERE source_id = :s"), params)
    return conn.execute(sa.text(f"""
        INSERT INTO mis.source_snapshot (source_id, record_key, household, row_hash, household_code)
        SELECT DISTINCT ON (r.key) :s, r.key, r.household, r.hash, m.household_code
        FROM {raw} r JOIN {members} m ON m.source_key = r.key
        JOIN {loaded} l ON l.household_code = m.household_code
        WHERE r.key IS NOT NULL
        ORDER BY r.key"""), params).rowcount
