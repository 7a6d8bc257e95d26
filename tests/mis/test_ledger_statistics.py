"""After a load that makes them stale the planner's statistics of the ledger's tables are fresh too: on stale ones the fix-up
workbook's query of a district's held rows was planned as nested loops (100 s instead of 0.06 s)."""
from __future__ import annotations

import sqlalchemy as sa
from rosters import write_config, write_roster
from test_pipeline import mis_db  # noqa: F401  (a fixture)

# Xã Nhơn Ái (31300), Huyện Phong Điền (926); invented people. NA-202's head has a birth date in the future:
# the household is held back, so the run writes rejects, ledger entries and held rows.
ROWS = [
    ["NA-201", "Lâm Văn Sáu", "Chủ hộ", "Nam", "05/06/1971", "Kinh", None, "Ấp Nhơn Lộc 1", "Hộ nghèo", 2025, 1_000_000],
    ["NA-202", "Trương Thị Bảy", "Chủ hộ", "Nữ", "11/11/2091", "Kinh", None, "Ấp Nhơn Lộc 2", "Hộ cận nghèo", 2025,
     1_400_000],
    ["NA-202", "Trương Văn Tám", "Con", "Nam", "2010", "Kinh", None, "Ấp Nhơn Lộc 2", "Hộ cận nghèo", 2025, 1_400_000],
]
LEDGER = ("held_row", "reject", "reject_entry", "reconcile_outcome")


def _analyzed(url: str) -> dict[str, bool]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = dict(conn.execute(sa.text(
            "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = 'mis' "
            "AND relname = ANY(:t)"), {"t": list(LEDGER)}).all())
        held = conn.execute(sa.text("SELECT count(*) FROM mis.held_row")).scalar()
    engine.dispose()
    return {**found, "held rows": held}


def _sync(tmp_path, url, monkeypatch, stale_min_rows: int) -> dict:
    from mis import db
    from mis import load as mis_load
    from misgw import pipeline

    monkeypatch.setenv("MISGW_DATABASE_URL", url)
    monkeypatch.setattr(mis_load, "STALE_MIN_ROWS", stale_min_rows)
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926"}])
    write_roster(tmp_path / "d" / "x.xlsx", ROWS)
    [summary] = pipeline.run_sync(str(cfg))
    db.forget_engines()
    return summary


def test_a_load_that_makes_statistics_stale_analyzes_the_ledger_tables(tmp_path, mis_db, monkeypatch):
    summary = _sync(tmp_path, mis_db, monkeypatch, stale_min_rows=0)   # any row written counts here
    assert summary["households_rejected"] == 1, summary
    assert _analyzed(mis_db) == {**dict.fromkeys(LEDGER, True), "held rows": 2}


def test_a_small_load_leaves_the_statistics_to_autovacuum(tmp_path, mis_db, monkeypatch):
    """The check above could fail: a load under the threshold (50 rows and a tenth of the table) analyzes
    nothing itself."""
    _sync(tmp_path, mis_db, monkeypatch, stale_min_rows=50)
    assert _analyzed(mis_db) == {**dict.fromkeys(LEDGER, False), "held rows": 2}


def test_the_loads_analyze_takes_a_small_sample_and_leaves_the_connection_as_it_was(mis_db):
    """The run's own ANALYZE samples 300 rows per unit of mis.db.ANALYZE_STATISTICS_TARGET (6,000 rows, not
    the server's 30,000): a column of distinct keys gets that many histogram buckets. The target is the
    session's only while it runs: a pooled connection handed out next plans with the server's own."""
    from mis import db
    from mis import load as mis_load

    engine = sa.create_engine(mis_db)
    with engine.begin() as conn:
        default = conn.execute(sa.text("SHOW default_statistics_target")).scalar()
        conn.execute(sa.text(
            "INSERT INTO mis.source_snapshot (source_id, record_key, household, row_hash) "
            "SELECT 'pd', 'r' || lpad(i::text, 6, '0'), 'h' || (i / 4), md5(i::text) FROM generate_series(1, 5000) i"))
    assert mis_load.analyze(engine, {"source_snapshot": 5000}) == ["source_snapshot"]
    with engine.connect() as conn:
        bounds = conn.execute(sa.text(
            "SELECT array_length(histogram_bounds::text::text[], 1) FROM pg_stats "
            "WHERE schemaname = 'mis' AND tablename = 'source_snapshot' AND attname = 'record_key'")).scalar()
        after = [conn.execute(sa.text("SHOW default_statistics_target")).scalar()]
    with engine.connect() as conn:
        after.append(conn.execute(sa.text("SHOW default_statistics_target")).scalar())
    engine.dispose()
    assert bounds == db.ANALYZE_STATISTICS_TARGET + 1 and int(default) > db.ANALYZE_STATISTICS_TARGET
    assert after == [default, default]


def test_outcomes_are_recorded_only_for_a_run_that_exists(tmp_path, mis_db, monkeypatch):  # noqa: F811
    """mis.reconcile_outcome has no per-row foreign key (migration 0013): record_outcomes checks the run
    once. Outcomes of a run the MIS does not hold are refused, with nothing written."""
    import pytest

    from mis import ledger, staging

    _sync(tmp_path, mis_db, monkeypatch, stale_min_rows=1)
    engine = sa.create_engine(mis_db)
    with engine.begin() as conn:
        recorded = conn.execute(sa.text("SELECT count(*) FROM mis.reconcile_outcome")).scalar()
        fk = conn.execute(sa.text("SELECT count(*) FROM pg_constraint WHERE conrelid = 'mis.reconcile_outcome'::regclass "
                                  "AND contype = 'f'")).scalar()
    assert recorded == 2 and fk == 0      # NA-201 and its one person, new; NA-202 is held back
    with pytest.raises(LookupError, match="no run ghost-run"):
        with engine.begin() as conn:
            for part in ("outcome", "member_outcome"):
                staging.create_table(conn, "ghost-run", part, {"household_code": "text"})
            ledger.record_outcomes(conn, "ghost-run")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mis.reconcile_outcome WHERE run_id = 'ghost-run'")).scalar() == 0
    engine.dispose()
