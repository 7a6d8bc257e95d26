"""A source's records as last loaded (key, household, content digest): what a full read is compared with.

A source that has record keys but no watermark is read in full each time; comparing the read with
the snapshot keeps only the households with a new, changed or gone record, so unchanged records cost
nothing downstream. Set-based, in PostgreSQL. The snapshot moves only in the load transaction, and
only for households that loaded: a household held back is read again next time.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pandas.core.util.hashing import combine_hash_arrays, hash_array

from mis import db
from mis.scratch import HH
from mis.staging import copy_frame, read_query, table_name


def narrow(conn, run_id: str, source_id: str, compare: bool = True) -> dict:
    """Keep in the run's raw table only the households whose records changed since the snapshot.

    For a source whose records carry their key (a database table, a web service). Writes the run's
    `read` table (every keyed record read) and `gone` table (see _compare). compare=False (a full
    reload, or no snapshot to trust): keeps all.
    """
    raw, read = table_name(run_id, "raw"), table_name(run_id, "read")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {read}")
    conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {read} AS SELECT key, household, hash, file, sheet, row, "
                         f"NULL::text AS row_context FROM {raw} WHERE key IS NOT NULL")
    result = _compare(conn, run_id, source_id, compare)
    if not result["narrowed"]:
        return result
    # Header rows (no key) stay; so do records with no household value, for the rules to name.
    dropped = conn.execute(sa.text(f"""
        DELETE FROM {raw} r WHERE r.key IS NOT NULL AND r.household IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM _changed c WHERE c.household = r.household)""")).rowcount
    return {**result, "rows_unchanged": dropped}


def narrow_rows(conn, run_id: str, source_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A workbook read again: which rows need no mapping, found before any row is mapped.

    A row is *placed* when its context (the digest of its sheet's name, the row before it and itself:
    misgw.stages.extract) is the context of exactly one record of the snapshot: it is the row that record
    was read from, in the same place. A household is *touched* when one of its records was not found in
    its place, or one of its rows is next to a row that was not (an inserted, edited or moved row may
    belong to it). The rows of households not touched are *settled*: their records are as loaded, and the
    run's `settled` table holds them (file, sheet, row, record_key, household, row_hash, row_context) for
    narrow_frame. Everything else is read and mapped (misgw.stages.map_roster checks that the rows read
    make the households they made before, else the source is mapped in full).

    Returns (the rows to map, as staging.read_frame gives the raw table, with placed_household: the
    household a placed row's record belongs to; the settled rows: file, sheet, row, household).
    """
    raw, settled = table_name(run_id, "raw"), table_name(run_id, "settled")
    params = {"s": source_id}
    conn.exec_driver_sql("DROP TABLE IF EXISTS _placed, _touched")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {settled}")
    # Statistics first: without them the join below looked each of 133,000 rows up in the index one by one.
    db.analyze(conn, [raw])
    # Every workbook row and the record it places, if any.
    placed = conn.exec_driver_sql(f"""
        CREATE TEMP TABLE _placed ON COMMIT DROP AS
        SELECT r.file, r.sheet, r.row, r.context, s.record_key, s.household, s.row_hash
        FROM {raw} r LEFT JOIN mis.source_snapshot s ON s.source_id = %(s)s AND s.row_context = r.context
        WHERE r.key IS NULL""", params).rowcount
    if placed != conn.execute(sa.text(f"SELECT count(*) FROM {raw} WHERE key IS NULL")).scalar():
        # A context twice in the snapshot (two records read from rows copied with the rows before them)
        # places nothing: each row once, placing no record (a sort and a window, 0.6 s at 133,000 rows).
        conn.exec_driver_sql("DROP TABLE _placed")
        conn.exec_driver_sql(f"""
            CREATE TEMP TABLE _placed ON COMMIT DROP AS
            SELECT file, sheet, row, context, CASE WHEN n = 1 THEN record_key END AS record_key,
                   CASE WHEN n = 1 THEN household END AS household, CASE WHEN n = 1 THEN row_hash END AS row_hash
            FROM (SELECT DISTINCT ON (r.file, r.sheet, r.row) r.file, r.sheet, r.row, r.context, s.record_key,
                         s.household, s.row_hash, count(s.record_key) OVER (PARTITION BY r.context) AS n
                  FROM {raw} r LEFT JOIN mis.source_snapshot s ON s.source_id = %(s)s AND s.row_context = r.context
                  WHERE r.key IS NULL
                  ORDER BY r.file, r.sheet, r.row) x""", params)
    # A context twice in the read (a row copied with the row before it) places one record twice: the
    # run's read then has a key twice, and the source is mapped in full (misgw.stages.map_validate).
    db.analyze(conn, ["_placed"])
    conn.exec_driver_sql("""
        CREATE TEMP TABLE _touched ON COMMIT DROP AS
        SELECT s.household FROM mis.source_snapshot s
        WHERE s.source_id = %(s)s AND s.household IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM _placed p WHERE p.record_key = s.record_key)
        UNION
        SELECT household FROM (
            SELECT household, record_key IS NOT NULL AS placed,
                   lag(record_key IS NOT NULL, 1, true) OVER w AS before,
                   lead(record_key IS NOT NULL, 1, true) OVER w AS after
            FROM _placed WINDOW w AS (PARTITION BY file, sheet ORDER BY row)) x
        WHERE placed AND NOT (before AND after)""", params)
    conn.exec_driver_sql(f"""
        CREATE UNLOGGED TABLE {settled} AS
        SELECT p.file, p.sheet, p.row, p.record_key, p.household, p.row_hash, p.context AS row_context
        FROM _placed p WHERE p.household IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM _touched t WHERE t.household = p.household)""")
    # The rows to map: a join with the few, not an anti-join with the many settled.
    rows = read_query(conn, f"""
        SELECT r.*, p.household AS placed_household FROM {raw} r
        JOIN _placed p ON p.file = r.file AND p.sheet = r.sheet AND p.row = r.row
        WHERE p.household IS NULL OR EXISTS (SELECT 1 FROM _touched t WHERE t.household = p.household)""")
    left = read_query(conn, f"SELECT file, sheet, row, household FROM {settled}")
    return rows, left


def forget_settled(conn, run_id: str) -> None:
    """The source is mapped in full after all: no row is settled (narrow_rows)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table_name(run_id, 'settled')}")


def narrow_frame(conn, run_id: str, source_id: str, frame: pd.DataFrame, households: pd.Series,
                 compare: bool = True, stores: bool = True) -> tuple[pd.Series, dict]:
    """The rows of a mapped roster (mappings.roster.map_sheet's frame) whose households changed since the
    snapshot, as a mask over frame; and what was found.

    For a source whose records have no key (a workbook): a record is known by its content, so a
    record edited is a record gone and a new one, and either makes its household changed. The
    content is the mapped fields only, typed, with the sheet (which can name the commune) and the
    household: renumbered STT cells, moved columns or a renamed file change nothing.
    households: each row's household (mappings.roster.household_groups). stores: this run's load writes
    the snapshot from the digests (not a dry run); when it does not and there is nothing to compare with,
    no digest is made (0.1 s of a 10,000-member dry run's critical path).
    """
    if not stores and not (compare and has_snapshot(conn, source_id)):
        return pd.Series(True, index=frame.index), {"narrowed": False, "rows_read": len(frame)}
    read = table_name(run_id, "read")
    hashes = record_digests(frame, households)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {read}")
    conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {read} (key text, household text, hash text, file text, sheet text, "
                         "row integer, row_context text)")
    copy_frame(conn, read, pd.DataFrame({
        "key": hashes, "household": households, "hash": hashes, "file": frame["source_file"],
        "sheet": frame["source_sheet"], "row": frame["source_row"],
        "row_context": frame["origin_context"] if "origin_context" in frame else None}))
    settled = table_name(run_id, "settled")
    if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": settled.replace('"', '')}).scalar():
        # The rows narrow_rows left out are read, as they were: their households are not missing.
        conn.exec_driver_sql(f"INSERT INTO {read} SELECT record_key, household, row_hash, file, sheet, row, row_context "
                             f"FROM {settled}")
    result = _compare(conn, run_id, source_id, compare)
    if not result["narrowed"]:
        return pd.Series(True, index=frame.index), result
    changed = set(conn.execute(sa.text("SELECT household FROM _changed")).scalars())
    kept = households.isna() | households.isin(changed)
    return kept, {**result, "rows_unchanged": int((~kept).sum())}


def record_digests(frame: pd.DataFrame, households: pd.Series) -> pd.Series:
    """A digest (16 hex digits) of each mapped record's content: its fields, their types, its sheet and
    its household; not its file, row or column positions, nor its place in the district's roster or the
    fix-up round it came back in (mappings.roster.ORIGIN): a row moved down by an inserted one is unchanged.

    The digest is pandas' hash_pandas_object of the frame of each field as text, each field's type marks
    (_types) and the household, computed a column at a time: a type mark's hash is looked up by its mark
    (a column has two or three), not made from a column of marks as text for every row."""
    lineage = ["source_file", "source_row", "source_key", "read_sheet", "block_break",
               *[c for c in frame.columns if c.startswith(("origin_", "fixup_"))]]   # mappings.roster.ORIGIN
    content = frame.drop(columns=[c for c in lineage if c in frame])
    content = content[sorted(content.columns)]     # a column moved in the workbook is the same content
    columns = [content[c] for c in content.columns]
    hashes = [*(hash_array(c.astype(str)._values) for c in columns), *(_type_hashes(c) for c in columns),
              hash_array(households.astype(str)._values)]
    digest = combine_hash_arrays(iter(hashes), len(hashes), len(frame))
    return pd.Series(_hex(digest), index=frame.index)


def _hex(numbers: np.ndarray) -> np.ndarray:
    """Each 64-bit number as 16 hex digits ("%016x"), in one pass over the bytes, not one format per number."""
    return np.frombuffer(numbers.astype(">u8").tobytes().hex().encode(), dtype="S16").astype("U16")


_type_name = np.frompyfunc(lambda v: type(v).__name__, 1, 1)


def _types(column: pd.Series) -> np.ndarray:
    """What each cell's type was, as far as a value's text does not say it: an ID typed as a number is
    not the same record as its digits typed as text (mappings.values restores zeros only to the first).
    A cell's mark depends on the cell alone, never on what else its column holds."""
    blank = column.isna().to_numpy()
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return np.where(blank, "NA", "str")
    return np.where(blank, "NA", _type_name(column.to_numpy())).astype(str)


def _type_hashes(column: pd.Series) -> np.ndarray:
    """hash_array of the column's type marks (_types) as text, each distinct mark hashed once."""
    marks, codes = np.unique(_types(column), return_inverse=True)
    return hash_array(pd.Series(marks.astype(object)).astype(str)._values)[codes.ravel()]


def has_snapshot(conn, source_id: str) -> bool:
    return bool(conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM mis.source_snapshot WHERE source_id = :s)"),
                             {"s": source_id}).scalar())


def _duplicate_keys(conn, read: str) -> int:
    return conn.execute(sa.text(f"SELECT count(*) FROM (SELECT key FROM {read} GROUP BY key HAVING count(*) > 1) d")).scalar()


def _compare(conn, run_id: str, source_id: str, compare: bool) -> dict:
    """Compare the run's `read` table (key, household, hash of every record read) with the snapshot.

    Leaves the households with a new, changed or gone record in the temporary table _changed, their
    records (and those with no household) in the run's `kept` table, and writes the run's `gone` table
    (household codes the snapshot holds whose records are all gone), which the reconcile reports missing.
    """
    read, gone, kept = table_name(run_id, "read"), table_name(run_id, "gone"), table_name(run_id, "kept")
    params = {"s": source_id}
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {gone}, {kept}")
    duplicates = 0
    if compare and (snapshot := has_snapshot(conn, source_id)):
        # The index the comparison needs says whether the keys are keys: counting duplicates first cost a
        # scan and a sort of every key (0.09 s at 133,000 records); they are counted only when there are some.
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"CREATE UNIQUE INDEX ON {read} (key) NULLS NOT DISTINCT")
        except sa.exc.IntegrityError:
            duplicates = _duplicate_keys(conn, read)
    else:
        duplicates = _duplicate_keys(conn, read)
    if not compare or not snapshot or duplicates:
        # Nothing to compare with, or keys that are not keys: every record goes on, and nobody is missing
        # for lack of a comparison (the reconcile's own full-roster rule applies).
        conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {gone} (household_code text)")
        rows = conn.execute(sa.text(f"SELECT count(*) FROM {read}")).scalar()
        return {"narrowed": False, "rows_read": rows, "duplicate_keys": duplicates}
    # Statistics: without them the comparisons below sorted 133,000 household codes by collation to merge
    # them (0.4 s each) where a hash does it in a fraction.
    db.analyze(conn, [read])
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
    conn.exec_driver_sql(f"""
        CREATE UNLOGGED TABLE {kept} AS SELECT * FROM {read} r WHERE r.household IS NULL
          OR EXISTS (SELECT 1 FROM _changed c WHERE c.household = r.household)""")
    counts = conn.execute(sa.text(f"""
        SELECT (SELECT count(*) FROM {read}), (SELECT count(*) FROM {kept}),
               (SELECT count(*) FROM _changed), (SELECT count(*) FROM {gone}),
               (SELECT count(DISTINCT household) FROM {read})
               - (SELECT count(DISTINCT household) FROM {kept})""")).one()
    return {"narrowed": True, "rows_read": counts[0], "rows_kept": counts[1],
            "households_changed": counts[2], "households_gone": counts[3], "households_unchanged": counts[4],
            "duplicate_keys": 0}


def update(conn, run_id: str, source_id: str, narrowed: bool, keyed: bool, loaded: str = HH) -> int:
    """After the merge, in its transaction: the snapshot holds what this run loaded (loaded: mis.load's HH).

    Records of households this run read and did not load (held back) leave the snapshot, so the next
    run reads them again; records gone from the source leave it; households not read stay as they were.
    """
    read, members = table_name(run_id, "read"), table_name(run_id, "members")
    kept = table_name(run_id, "kept") if narrowed else read     # the records this run judged
    params = {"s": source_id}
    if not conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": kept.replace('"', '')}).scalar():
        return 0
    if narrowed:
        # Gone from the source, read again, or of a household read again. Joins, not OR-ed subqueries:
        # those are planned as a scan of the run's table per snapshot record (minutes at 133,000 records).
        conn.execute(sa.text(f"""
            DELETE FROM mis.source_snapshot s USING (
                SELECT x.record_key FROM mis.source_snapshot x LEFT JOIN {read} r ON r.key = x.record_key
                WHERE x.source_id = :s AND r.key IS NULL
                UNION SELECT key FROM {kept}
                UNION SELECT x.record_key FROM mis.source_snapshot x
                JOIN (SELECT DISTINCT household FROM {kept} WHERE household IS NOT NULL) h
                  ON h.household = x.household
                WHERE x.source_id = :s) d
            WHERE s.source_id = :s AND s.record_key = d.record_key"""), params)
    else:
        conn.execute(sa.text("DELETE FROM mis.source_snapshot WHERE source_id = :s"), params)
    # A keyed record's member by its key: a fix-up workbook's row that replaced it carries the key, so the
    # record as the source still has it is not read again. Records without keys by their lineage.
    member_of = "m.source_key = r.key" if keyed else \
        "m.source_file = r.file AND m.source_sheet = r.sheet AND m.source_row::int = r.row"
    if narrowed and not keyed:
        # A record not judged again may have been read from a row in another place (a row inserted above it,
        # its STT renumbered): where it is now is where the next read finds it (narrow_rows).
        conn.execute(sa.text(f"""
            UPDATE mis.source_snapshot s SET row_context = r.row_context FROM {read} r
            WHERE s.source_id = :s AND s.record_key = r.key AND s.row_context IS DISTINCT FROM r.row_context"""),
                     params)
    return conn.execute(sa.text(f"""
        INSERT INTO mis.source_snapshot (source_id, record_key, household, row_hash, household_code, row_context)
        SELECT DISTINCT ON (r.key) :s, r.key, r.household, r.hash, m.household_code, r.row_context
        FROM {kept} r JOIN {members} m ON {member_of}
        JOIN {loaded} l ON l.household_code = m.household_code
        ORDER BY r.key"""), params).rowcount
