"""The sync runs and the sources' bookmarks: one row per run of a source, and where its next run starts."""
from __future__ import annotations

import json
from contextlib import contextmanager

import sqlalchemy as sa

from common.errors import SourceBusy


def open_run(conn, run_id: str, source_id: str, province_code: str, district_code: str | None,
             dry_run: bool, options: dict) -> None:
    conn.execute(sa.text("""
        INSERT INTO mis.sync_run (run_id, source_id, province_code, district_code, dry_run, options, status, stage)
        VALUES (:run, :source, :province, :district, :dry, CAST(:options AS jsonb), 'running', 'start')"""),
        {"run": run_id, "source": source_id, "province": province_code, "district": district_code,
         "dry": dry_run, "options": json.dumps(options)})


def get_run(conn, run_id: str) -> dict:
    row = conn.execute(sa.text("SELECT * FROM mis.sync_run WHERE run_id = :r"), {"r": run_id}).mappings().first()
    if row is None:
        raise LookupError(f"no sync run {run_id}")
    return dict(row)


def record_stage_seconds(conn, run_id: str, stage: str, seconds: float) -> None:
    conn.execute(sa.text("UPDATE mis.sync_run SET stage_seconds = stage_seconds || jsonb_build_object(CAST(:st AS text), CAST(:sec AS numeric)) "
                         "WHERE run_id = :r"), {"st": stage, "sec": round(seconds, 2), "r": run_id})


def update_run(conn, run_id: str, **values) -> None:
    sets = []
    params = {"run": run_id}
    for key, value in values.items():
        if key in ("reconcile", "mapping_report", "options", "fixup_workbooks", "approval", "notices", "row_accounts"):
            sets.append(f"{key} = CAST(:{key} AS jsonb)")
            value = json.dumps(value, ensure_ascii=False, default=str)
        else:
            sets.append(f"{key} = :{key}")
        params[key] = value
    conn.execute(sa.text(f"UPDATE mis.sync_run SET {', '.join(sets)} WHERE run_id = :run"), params)


def get_bookmark(conn, source_id: str) -> dict | None:
    """What the source's last loading run read (its connector's bookmark and the reading fingerprint)."""
    return conn.execute(sa.text("SELECT bookmark FROM mis.source_bookmark WHERE source_id = :s"),
                        {"s": source_id}).scalar()


def save_bookmark(conn, source_id: str, run_id: str, bookmark: dict) -> None:
    """In the load transaction: the next run of the source starts from here."""
    conn.execute(sa.text("""
        INSERT INTO mis.source_bookmark (source_id, bookmark, run_id) VALUES (:s, CAST(:b AS jsonb), :r)
        ON CONFLICT (source_id) DO UPDATE SET bookmark = EXCLUDED.bookmark, run_id = EXCLUDED.run_id,
                                              updated_at = now()"""),
        {"s": source_id, "b": json.dumps(bookmark, default=str), "r": run_id})


def fail_interrupted(conn, source_id: str) -> list[str]:
    """With the source's lease held, its CLI runs still marked running had their process killed: failed, with
    why. Airflow's runs are left to Airflow (a task may be retried on another worker)."""
    return conn.execute(sa.text("""
        UPDATE mis.sync_run SET status = 'failed', finished_at = now(),
               error = 'Interrupted: the process running it ended before the run finished; nothing of it was loaded.'
        WHERE source_id = :s AND status = 'running' AND options->'airflow' IS NULL RETURNING run_id"""),
        {"s": source_id}).scalars().all()


@contextmanager
def lease(engine, source_id: str):
    """Held for the whole of a run of one source in this process: a second run of the same source at the
    same time is refused with who holds it (SourceBusy). A PostgreSQL session lock, so a killed process
    lets go of it by itself."""
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    got = False
    try:
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtext('misgw.run'), hashtext(:s))"),
                           {"s": source_id}).scalar()
        if not got:
            other = conn.execute(sa.text("""
                SELECT run_id, started_at FROM mis.sync_run WHERE source_id = :s
                AND status IN ('running', 'awaiting_approval') ORDER BY started_at DESC LIMIT 1"""),
                {"s": source_id}).first()
            since = f" (run {other[0]}, started {other[1]:%Y-%m-%d %H:%M})" if other else ""
            raise SourceBusy(f"Source '{source_id}' is being synced by another run{since}: this run did nothing. "
                             "Try again when that one ends.")
        yield
    finally:
        if got:  # pooled connections outlive close(): the lock must be let go of explicitly
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext('misgw.run'), hashtext(:s))"), {"s": source_id})
        conn.close()


def last_durations(conn, source_ids: list[str]) -> dict[str, float]:
    """How long each source's last finished run took, in seconds (sources never finished are absent)."""
    return {sid: float(seconds or 0) for sid, seconds in conn.execute(sa.text("""
        SELECT DISTINCT ON (source_id) source_id, extract(epoch FROM finished_at - started_at)
        FROM mis.sync_run WHERE source_id = ANY(:ids) AND finished_at IS NOT NULL
        ORDER BY source_id, started_at DESC"""), {"ids": source_ids}).all()}


def unfinished_since(conn, source_id: str, started) -> str | None:
    """The run of the source begun at or after `started` that has not ended, if any."""
    return conn.execute(sa.text(
        "SELECT run_id FROM mis.sync_run WHERE source_id = :s AND status IN ('running', 'awaiting_approval') "
        "AND started_at >= :t ORDER BY started_at DESC LIMIT 1"), {"s": source_id, "t": started}).scalar()


def source_ids(conn) -> set[str]:
    """Every source that has ever run."""
    return set(conn.execute(sa.text("SELECT DISTINCT source_id FROM mis.sync_run")).scalars())


def last_run(conn, source_id: str) -> dict | None:
    """The source's latest run, whatever its outcome."""
    row = conn.execute(sa.text("SELECT * FROM mis.sync_run WHERE source_id = :s ORDER BY started_at DESC LIMIT 1"),
                       {"s": source_id}).mappings().first()
    return None if row is None else dict(row)


def last_load(conn, source_id: str) -> dict | None:
    """The source's latest run that completed and was not a dry run: what the MIS holds of it."""
    row = conn.execute(sa.text("""
        SELECT * FROM mis.sync_run WHERE source_id = :s AND status IN ('success', 'attention') AND NOT dry_run
        ORDER BY started_at DESC LIMIT 1"""), {"s": source_id}).mappings().first()
    return None if row is None else dict(row)


def sheet_reports(conn, source_id: str) -> dict[tuple[str, str], dict]:
    """{(file, sheet): the mapping report of the sheet} from the latest completed run, not a dry run, that
    mapped it: how the sheet was read when its records were last loaded (misgw.stages.map_roster)."""
    rows = conn.execute(sa.text("""
        SELECT DISTINCT ON (e->>'file', e->>'sheet') e FROM mis.sync_run r, jsonb_array_elements(r.mapping_report) e
        WHERE r.source_id = :s AND r.status IN ('success', 'attention') AND NOT r.dry_run
          AND jsonb_typeof(r.mapping_report) = 'array'
        ORDER BY e->>'file', e->>'sheet', r.started_at DESC"""), {"s": source_id}).scalars()
    return {(e["file"], e["sheet"]): e for e in rows}


def last_new_data(conn, source_id: str):
    """When the source last loaded something new (a run that found a change at the source), or None."""
    return conn.execute(sa.text("""
        SELECT max(started_at) FROM mis.sync_run WHERE source_id = :s AND status IN ('success', 'attention')
        AND NOT dry_run AND coalesce((options->>'unchanged')::boolean, false) = false"""), {"s": source_id}).scalar()


def recent(conn, source_id: str | None, limit: int) -> list[dict]:
    """The latest runs, newest first; of one source, or of all."""
    return [dict(r) for r in conn.execute(sa.text("""
        SELECT * FROM mis.sync_run WHERE (CAST(:s AS text) IS NULL OR source_id = :s)
        ORDER BY started_at DESC LIMIT :n"""), {"s": source_id, "n": limit}).mappings()]


def of_dag_run(conn, dag_id: str, dag_run_id: str) -> dict | None:
    """The sync run an Airflow DAG run ran, if any."""
    row = conn.execute(sa.text("""
        SELECT * FROM mis.sync_run WHERE options->'airflow'->>'dag_id' = :d
        AND options->'airflow'->>'run_id' = :r ORDER BY started_at DESC LIMIT 1"""),
        {"d": dag_id, "r": dag_run_id}).mappings().first()
    return None if row is None else dict(row)


def fixup_basis(conn, source_id: str, run_id: str | None) -> dict | None:
    """The run whose mapping a fix-up workbook follows: that run, or the source's latest real run that mapped
    something (a run that found nothing new at the source maps nothing: the district's own headers are
    those of the run before)."""
    row = conn.execute(sa.text("""
        SELECT run_id, source_id, mapping_report, options FROM mis.sync_run
        WHERE CASE WHEN CAST(:r AS text) IS NOT NULL THEN run_id = CAST(:r AS text)
                   ELSE source_id = :s AND NOT dry_run AND mapping_report IS NOT NULL
                        AND mapping_report <> '[]'::jsonb END
        ORDER BY started_at DESC LIMIT 1"""), {"r": run_id, "s": source_id}).mappings().first()
    return None if row is None else dict(row)
