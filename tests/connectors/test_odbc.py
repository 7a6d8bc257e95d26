"""Legacy databases over ODBC, through the real drivers: MariaDB, MDBTools (Access), psqlODBC, SQLite3; FreeTDS by configuration."""
from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import legacy_db
import pytest
import sqlalchemy as sa
from conftest import SHARED, create_database, drop_database
from rosters import write_config, write_roster
from test_pipeline import dump_checksum, mis_db  # noqa: F401  (mis_db is a fixture)

ACCESS = SHARED / "access"
MARIADB = {"host": "127.0.0.1", "port": 3306, "login": "root", "extra": {"driver": "MariaDB Unicode"}}


def sync(cfg: Path, url: str, *args: str, env: dict | None = None) -> tuple[int, list[dict], str]:
    run = subprocess.run([sys.executable, "-m", "misgw.cli", "sync", "--config", str(cfg), "--json", *args],
                         capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, MISGW_DATABASE_URL=url, **(env or {})))
    return run.returncode, (json.loads(run.stdout) if run.stdout.strip() else []), run.stderr


def mariadb_connection(database: str | None = None) -> str:
    return ("DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=3306;UID=root;PWD=;"
            + (f"DATABASE={database};" if database else ""))


@pytest.fixture
def mariadb_db():
    """A fresh MariaDB database on the local server (Debian's mariadb service), dropped afterwards."""
    import pyodbc

    name = f"misgw_legacy_{uuid.uuid4().hex[:8]}"
    admin = pyodbc.connect(mariadb_connection(), autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    yield name
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
    admin.close()


def _odbc_source(conn_id: str, **options) -> dict:
    return {"id": "pd-db", "kind": "odbc", "conn_id": conn_id, "table": legacy_db.TABLE, "key": "ID",
            "household_column": "MaHo", "district_code": "926", **options}


def _rejects(url: str) -> list:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT rule, value, count(*) FROM mis.reject GROUP BY 1, 2 ORDER BY 3 DESC "
                                    "LIMIT 8")).all()
    engine.dispose()
    return rows


def _members(url: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT m.full_name, m.source_key, m.source_file, m.source_sheet, h.household_code "
                                    "FROM mis.member m JOIN mis.household h USING (household_id)")).all()
    engine.dispose()
    return {r[1]: r for r in rows}


@pytest.mark.slow
def test_mariadb_watermark_reads_only_what_changed(tmp_path, mis_db, mariadb_db):  # noqa: F811
    import pyodbc

    rows, truth = legacy_db.roster(households=800)
    legacy_db.create(mariadb_connection(mariadb_db), rows, dialect="mysql")
    env = legacy_db.airflow_conn_env("district_db", {**MARIADB, "schema": mariadb_db})
    cfg = write_config(tmp_path / "misgw.yaml", [_odbc_source("district_db", incremental_column="NgayCapNhat")])

    code, [first], err = sync(cfg, mis_db, env=env)
    assert code == 0, err
    assert first["status"] == "success" and first["rows_read"] == truth["members"] > 3000, first
    assert first["households_accepted"] == 800 and first["rows_rejected"] == 0, (first, _rejects(mis_db))
    members = _members(mis_db)
    assert len(members) == truth["members"]
    # Lineage: the database and table, and the record's primary key instead of a row number.
    name, key, file, sheet, household = members["1"]
    assert (file, sheet, household) == (f"{mariadb_db}@127.0.0.1", legacy_db.TABLE, "31300-0000")
    # Names stored in the legacy TCVN3 font came out as Unicode.
    assert name == truth["tcvn3_names"][rows[0][2]] and name != rows[0][2]
    assert re.search(r"[ÔÕ¨©]", "".join(r[0] for r in members.values())) is None

    # Nothing changed: the watermark reads no row, and nothing is loaded.
    before = dump_checksum(mis_db)
    code, [second], err = sync(cfg, mis_db, env=env)
    assert code == 0 and second["rows_read"] == 0 and second["status"] == "success", second
    assert second["reconcile"]["missing"] == 0 and dump_checksum(mis_db) == before

    # One household changes in the legacy program: only its rows are read, and nobody else is missing.
    conn = pyodbc.connect(mariadb_connection(mariadb_db), autocommit=True)
    conn.cursor().execute(f"UPDATE {legacy_db.TABLE} SET ThuNhap = 1100000, NgayCapNhat = '2025-09-01 09:00:00' "
                          "WHERE ID = 1")
    conn.close()
    size = sum(1 for r in rows if r[1] == "31300-0000")
    code, [third], err = sync(cfg, mis_db, env=env)
    assert code == 0 and third["rows_read"] == size, third
    assert third["reconcile"] == {"new": 0, "changed": 1, "unchanged": 0, "moved": 0, "missing": 0, "conflict": 0}
    # The next run starts after the new watermark.
    code, [fourth], err = sync(cfg, mis_db, env=env)
    assert fourth["rows_read"] == 0


@pytest.mark.slow
def test_mariadb_without_watermark_proves_by_hash_that_nothing_changed(tmp_path, mis_db, mariadb_db):  # noqa: F811
    import pyodbc

    rows, truth = legacy_db.roster(households=300, tcvn3_every=0)
    legacy_db.create(mariadb_connection(mariadb_db), rows, dialect="mysql", windows_1258=True)
    env = legacy_db.airflow_conn_env("district_db", {**MARIADB, "schema": mariadb_db})
    cfg = write_config(tmp_path / "misgw.yaml", [_odbc_source("district_db", encoding="windows-1258")])
    code, [first], err = sync(cfg, mis_db, env=env)
    assert code == 0 and first["households_accepted"] == 300 and first["rows_rejected"] == 0, (first, err)
    # Windows-1258 bytes in a latin1 column came out as Unicode names.
    assert {r[0] for r in _members(mis_db).values()} == {r[2] for r in rows}

    before = dump_checksum(mis_db)
    code, [second], err = sync(cfg, mis_db, env=env)
    assert second["status"] == "success" and second["partial"], second
    assert second["rows_read"] == 0 and second["households_accepted"] == 0, second   # read, compared, nothing new
    assert dump_checksum(mis_db) == before

    # A household's row changes and another household is deleted from the legacy database.
    conn = pyodbc.connect(mariadb_connection(mariadb_db), autocommit=True)
    # The SQL stays ASCII, the Vietnamese values its UTF-8 bytes: MariaDB's driver miscounts Vietnamese text
    # in the SQL (now and then it read past its end: "syntax error near '\uff00'", 1 run in 3 here) and in
    # parameters (their last letter lost).
    def text(value: str) -> str:
        return f"CONVERT(X'{value.encode().hex()}' USING utf8mb4)"
    conn.cursor().execute(f"UPDATE {legacy_db.TABLE} SET PhanLoai = {text('Hộ cận nghèo')}, ThuNhap = 1400000 "
                          f"WHERE MaHo = '31300-0005' AND PhanLoai = {text('Hộ nghèo')}")
    conn.cursor().execute(f"UPDATE {legacy_db.TABLE} SET ThuNhap = ThuNhap + 1000 WHERE MaHo = '31300-0006'")
    conn.cursor().execute(f"DELETE FROM {legacy_db.TABLE} WHERE MaHo = '31300-0007'")
    conn.close()
    code, [third], err = sync(cfg, mis_db, env=env)
    changed = sum(1 for r in rows if r[1] in ("31300-0005", "31300-0006"))
    assert third["rows_read"] == changed, third
    # The other 297 households are as they loaded: unchanged, proved by hash, not judged again.
    assert third["reconcile"] == {"new": 0, "changed": 2, "unchanged": 297, "moved": 0, "missing": 1,
                                  "conflict": 0}, third
    code, [full], err = sync(cfg, mis_db, "--full", env=env)
    assert full["rows_read"] == len(rows) - sum(1 for r in rows if r[1] == "31300-0007")
    assert full["reconcile"]["unchanged"] == 299 and full["reconcile"]["changed"] == 0, full


def _access_env(file: str, conn_id: str = "district_access") -> dict:
    return legacy_db.airflow_conn_env(conn_id, {"extra": {"driver": "MDBTools", "DBQ": str(ACCESS / file)}})


def test_access_through_mdbtools_reads_the_real_files_with_their_dates():
    """DateTestDatabase.mdb: dates (some impossible), memo text with line breaks; read around MDBTools' SQL."""
    from connectors.odbc import OdbcSource

    env = _access_env("DateTestDatabase.mdb")
    os.environ.update(env)
    try:
        options = OdbcSource.check_options({"conn_id": "district_access", "table": "DateTest", "key": "IDCol"}, "t")
        source = OdbcSource("access", options, Path("."))
        [sheet] = list(source.read(source.plan(None)))
        rows = list(sheet.rows)
    finally:
        for k in env:
            os.environ.pop(k)
    assert (sheet.file, sheet.sheet) == ("DateTestDatabase.mdb", "DateTest")
    header, *data = rows
    assert header == (1, ["IDCol", "DateTimeCol", "DateCol", "TimeCol", "LongTextCol", "ShortTextCol"])
    by_id = {cells[0]: cells for _, cells in data}
    assert by_id[1][1:3] == ["2021-12-02", "2021-12-02"] and by_id[1][4] == "Hello"
    assert by_id[2][2] == "1900-01-00"                      # Access's impossible date, kept as written
    assert "\r\n" in by_id[6][4]                            # a line break inside a memo field
    assert [n for n, _ in data] == list(range(2, 2 + len(data))) and len(data) >= 6


def test_access_accdb_table_reads_and_its_system_table_crash_fails_only_that_source(tmp_path, mis_db):  # noqa: F811
    """MDBTools segfaults on ASampleDatabase.accdb's MSysObjects: the source fails with the driver and file
    named, the process boundary holds, and the other source of the same run completes."""
    write_roster(tmp_path / "d" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "crashing", "kind": "odbc", "conn_id": "district_access", "table": "MSysObjects",
         "district_code": "926"},
        {"id": "assets", "kind": "odbc", "conn_id": "district_access", "table": "Asset Items", "key": "Asset No",
         "district_code": "926"},
        {"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
    code, runs, err = sync(cfg, mis_db, env=_access_env("ASampleDatabase.accdb"))
    by_id = {r["source_id"]: r for r in runs}
    assert code == 1 and "Traceback" not in err
    crash = by_id["crashing"]
    assert crash["status"] == "failed"
    assert "MDBTools" in crash["error"] and "ASampleDatabase.accdb" in crash["error"], crash["error"]
    assert "SIGSEGV" in crash["error"] and "\n" not in crash["error"]
    # The .accdb's real table is read (it is no roster, so the mapping says so, in one sentence).
    assets = by_id["assets"]["error"]
    assert by_id["assets"]["status"] == "failed" and "ASampleDatabase.accdb / Asset Items" in assets, assets
    assert "no header row naming at least 3 roster fields" in assets and "mapping suggest --source assets" in assets
    assert by_id["pd"]["status"] == "success" and by_id["pd"]["households_accepted"] == 2


def test_postgresql_through_psqlodbc(tmp_path, mis_db):  # noqa: F811
    rows, truth = legacy_db.roster(households=200)
    url = create_database("misgw_legacy")
    try:
        name = sa.make_url(url).database
        legacy_db.create(f"DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT=5432;UID=postgres;DATABASE={name};",
                         rows)
        env = legacy_db.airflow_conn_env("district_pg", {"host": "127.0.0.1", "port": 5432, "login": "postgres",
                                                         "schema": name, "extra": {"driver": "PostgreSQL Unicode"}})
        cfg = write_config(tmp_path / "misgw.yaml", [_odbc_source("district_pg", table=legacy_db.TABLE.lower(),
                                                                  key="id", household_column="maho")])
        code, [run], err = sync(cfg, mis_db, env=env)
    finally:
        drop_database(url)
    assert code == 0 and run["households_accepted"] == 200 and run["rows_rejected"] == 0, (run["error"], run, err)
    assert run["members_accepted"] == truth["members"]


def test_sqlite_through_the_sqlite3_driver(tmp_path, mis_db):  # noqa: F811
    rows, truth = legacy_db.roster(households=150)
    db_file = tmp_path / "huyen.sqlite"
    sqlite3.connect(db_file).close()
    legacy_db.create(f"DRIVER={{SQLite3}};Database={db_file};", rows)
    cfg = write_config(tmp_path / "misgw.yaml", [_odbc_source("district_sqlite")])
    env = legacy_db.airflow_conn_env("district_sqlite", {"extra": {"driver": "SQLite3", "Database": str(db_file)}})
    code, [run], err = sync(cfg, mis_db, env=env)
    assert code == 0 and run["households_accepted"] == 150 and run["members_accepted"] == truth["members"], (run, err)
    # "SQLite" (the SQLite 2 driver) does not load: a clear sentence, not a crash.
    bad = legacy_db.airflow_conn_env("district_sqlite", {"extra": {"driver": "SQLite", "Database": str(db_file)}})
    code, [run], err = sync(cfg, mis_db, "--full", env=bad)
    assert run["status"] == "failed" and "SQLite" in run["error"], run


def test_a_database_that_does_not_answer_is_retried_then_fails_clearly(tmp_path, mis_db):  # noqa: F811
    cfg = write_config(tmp_path / "misgw.yaml", [_odbc_source("down", retries=1, login_timeout=2)])
    env = legacy_db.airflow_conn_env("down", {"host": "127.0.0.1", "port": 1, "login": "root",
                                              "password": "s3cret-pw", "schema": "x",
                                              "extra": {"driver": "MariaDB Unicode"}})
    code, [run], err = sync(cfg, mis_db, env=env)
    assert run["status"] == "failed" and "after 2 attempt(s)" in run["error"], run
    assert "MariaDB" in run["error"] and "x@127.0.0.1" in run["error"]
    assert "trying again in 1 s" in err
    assert "s3cret-pw" not in json.dumps(run) + err


def test_a_refused_login_is_not_retried_and_says_refused(tmp_path, mis_db, mariadb_db):  # noqa: F811
    """A wrong password is answered at once by the server: trying again can only lock the account."""
    cfg = write_config(tmp_path / "misgw.yaml", [_odbc_source("wrongpw", retries=3, login_timeout=5)])
    env = legacy_db.airflow_conn_env("wrongpw", {**MARIADB, "login": "misgw_nobody", "password": "wr0ng-pw",
                                                 "schema": mariadb_db})
    code, [run], err = sync(cfg, mis_db, env=env)
    assert run["status"] == "failed" and "refused the login" in run["error"], run
    assert "Cannot reach" not in run["error"] and "trying again" not in err, (run["error"], err)
    assert "wr0ng-pw" not in json.dumps(run) + err


def test_a_missing_airflow_connection_is_one_sentence(tmp_path, mis_db):  # noqa: F811
    cfg = write_config(tmp_path / "misgw.yaml", [_odbc_source("nowhere")])
    code, [run], err = sync(cfg, mis_db)
    assert run["status"] == "failed" and "Airflow connection 'nowhere' is not defined" in run["error"]
    assert "AIRFLOW_CONN_NOWHERE" in run["error"] and "Traceback" not in err


def test_sql_server_through_freetds_by_configuration():
    """No SQL Server runs on these machines: the driver is registered and the connection string is right."""
    from connectors.credentials import Credentials
    from connectors.odbc import connection_string

    drivers = subprocess.run(["odbcinst", "-q", "-d"], capture_output=True, text=True).stdout
    assert "[FreeTDS]" in drivers and "[MDBTools]" in drivers and "[SQLite3]" in drivers
    assert "[MariaDB Unicode]" in drivers and "[PostgreSQL Unicode]" in drivers
    creds = Credentials("district_mssql", "odbc", "10.0.0.5", 1433, "posasoft", "p;w}d", "BTXH",
                        {"driver": "FreeTDS", "TDS_Version": "7.4"})
    assert connection_string(creds) == ("DRIVER={FreeTDS};SERVER=10.0.0.5;PORT=1433;DATABASE=BTXH;UID=posasoft;"
                                        "PWD={p;w}}d};TDS_VERSION=7.4;")
    assert "p;w}d" not in creds.describe() and "p;w}d" not in repr(creds)


def test_config_checks_odbc_options(tmp_path):
    from misgw.config import ConfigError, load_config

    cases = [({"table": "a", "query": "SELECT 1"}, "exactly one of 'table' or 'query'"),
             ({"table": "a", "incremental_column": "NgayCapNhat"}, "'incremental_column' needs 'household_column'"),
             ({"table": "a", "encoding": "tcvn3"}, "'encoding' must be one of auto, windows-1258"),
             ({"table": "a", "password": "x"}, "unknown key(s) password"),
             ({"table": "a", "chunk_rows": "many"}, "'chunk_rows' must be a whole number")]
    for extra, message in cases:
        cfg = write_config(tmp_path / "misgw.yaml", [{"id": "x", "kind": "odbc", "conn_id": "c", **extra}])
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(cfg)


def test_a_read_that_goes_silent_is_stopped_retried_then_failed(tmp_path, mis_db, mariadb_db):  # noqa: F811
    """A query that sends nothing for longer than query_timeout: stopped, tried again, then one clear sentence."""
    env = legacy_db.airflow_conn_env("slow_db", {**MARIADB, "schema": mariadb_db})
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "slow", "kind": "odbc", "conn_id": "slow_db", "query": "SELECT SLEEP(20) AS MaHo",
         "query_timeout": 1, "login_timeout": 2, "retries": 1, "district_code": "926"}])
    import time

    started = time.monotonic()
    code, [run], err = sync(cfg, mis_db, env=env)
    assert run["status"] == "failed" and time.monotonic() - started < 60, run
    assert "after 2 attempt(s)" in run["error"] and mariadb_db in run["error"], run["error"]
    assert "trying again" in err


def test_mariadb_vietnamese_table_and_column_names_under_a_locale_that_is_not_utf8(mariadb_db, monkeypatch):
    """A legacy program named its table and columns in Vietnamese; the gateway's SQL names them (SELECT, the
    watermark's WHERE). Under a C locale (as on a bare server or CI) the names still reach MariaDB intact."""
    from connectors.odbc import OdbcSource

    # Set up with MariaDB's own client, not pyodbc in this process: what earlier tests loaded here (Airflow,
    # other drivers) can change this process's locale, and with it how MariaDB's driver converts wide SQL.
    subprocess.run(["mariadb", "-h", "127.0.0.1", "-u", "root", "--default-character-set=utf8mb4", mariadb_db, "-e",
                    "CREATE TABLE `Hộ gia đình` (`Mã hộ` varchar(20), `Họ tên` varchar(60), `Ngày cập nhật` datetime);"
                    "INSERT INTO `Hộ gia đình` VALUES ('HG-01', 'Lò Thị Mến', '2025-03-01 08:00:00'),"
                    "('HG-02', 'Đinh Văn Pấu', '2025-06-01 08:00:00');"], check=True, timeout=60)
    env = legacy_db.airflow_conn_env("vn_names", {**MARIADB, "schema": mariadb_db})
    for name, value in {**env, "LC_ALL": "C", "LANG": "C"}.items():
        monkeypatch.setenv(name, value)
    options = OdbcSource.check_options({"conn_id": "vn_names", "table": "Hộ gia đình", "household_column": "Mã hộ",
                                        "incremental_column": "Ngày cập nhật"}, "t")
    source = OdbcSource("vn", options, Path("."))
    plan = source.plan({"watermark": "2025-04-01 00:00:00"})
    [sheet] = list(source.read(plan))
    header, *data = list(sheet.rows)
    assert header == (1, ["Mã hộ", "Họ tên", "Ngày cập nhật"])
    # Only the household changed after the bookmark, its name as written.
    assert [cells[:2] for _, cells in data] == [["HG-02", "Đinh Văn Pấu"]]


def test_a_batch_is_made_plain_by_column_as_value_by_value():
    """The worker makes a batch's values plain a column at a time (a column of numbers as it is, text with
    only its blank check): the same values as _plain gives one by one, whatever a column mixes."""
    import datetime as dt
    import decimal

    from connectors.odbc_worker import _plain, _plain_rows

    batch = [(1, "  ", "Hộ nghèo", decimal.Decimal("1200000"), dt.datetime(1975, 3, 12), None, 2.5, True),
             (2, "Ấp 3", None, decimal.Decimal("1.5"), dt.date(2001, 1, 2), b"x", None, False),
             (None, "\t", "Cận nghèo ", None, None, "1", 3, None)]
    for job in ({}, {"encoding": "windows-1258"}):
        assert _plain_rows(batch, job) == [[_plain(v, job) for v in row] for row in batch]
    assert _plain_rows(batch, {})[0][:5] == [1, None, "Hộ nghèo", 1200000, "1975-03-12"]


def _sqlite_source(monkeypatch, db_file: Path, **options):
    """An OdbcSource on a SQLite database file read through the SQLite3 driver (its Airflow connection set)."""
    from connectors.odbc import OdbcSource

    monkeypatch.setenv("AIRFLOW_CONN_XA_DB", json.dumps({"conn_type": "odbc",
                                                          "extra": {"driver": "SQLite3", "Database": str(db_file)}}))
    return OdbcSource("xa", OdbcSource.check_options({"conn_id": "xa_db", "retries": 0, **options}, "xa"),
                      db_file.parent)


def test_the_workers_answer_arrives_whole_while_signals_interrupt_its_writes(tmp_path, monkeypatch):
    """A signal that interrupts the worker's write of a large chunk (a profiler attached, a handler installed)
    made Python's buffered stdout lose parts of lines, and the reader skipped them: 12 of 27 chunks of a
    133,000-record database were gone and the sync succeeded. Here the real worker and driver read 30,000
    records of 250 characters in chunks of 300 with a handler installed, interrupted a few thousand times a second while the
    test reads slowly: every record arrives, whole and in order."""
    import signal
    import threading
    import time

    from connectors import odbc

    db_file = tmp_path / "xa.sqlite"
    with sqlite3.connect(db_file) as db:
        db.execute("CREATE TABLE HoDan (ID INTEGER PRIMARY KEY, MaHo TEXT, GhiChu TEXT)")
        db.executemany("INSERT INTO HoDan VALUES (?, ?, ?)",
                       [(i, f"{i // 4:05d}", f"Ấp Thới Hòa {i} " + "ghi chú " * 30) for i in range(1, 30_001)])
    source = _sqlite_source(monkeypatch, db_file, table="HoDan", key="ID", household_column="MaHo", chunk_rows=300)
    monkeypatch.setattr(odbc._Worker, "COMMAND", [
        sys.executable, "-c", "import runpy, signal; signal.signal(signal.SIGUSR1, lambda *a: None); "
                              "runpy.run_module('connectors.odbc_worker', run_name='__main__')"])
    workers: list = []
    real_init = odbc._Worker.__init__

    def remember(self, *args):
        real_init(self, *args)
        workers.append(self.proc)
    monkeypatch.setattr(odbc._Worker, "__init__", remember)
    stop = threading.Event()

    def pester():
        while not stop.is_set():
            for proc in workers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGUSR1)
            time.sleep(0.0003)
    try:
        [sheet] = list(source.read(source.plan(None)))
        ids = []
        for number, values in sheet.rows:
            if number == 2:     # the worker answers: its handler is in place, signals no longer end it
                threading.Thread(target=pester, daemon=True).start()
            if number > 1:
                ids.append(values[0])
                assert values[2].startswith(f"Ấp Thới Hòa {values[0]} ") and len(values[2]) == len(
                    f"Ấp Thới Hòa {values[0]} " + "ghi chú " * 30), values
            if number % 300 == 0:
                # The reader falls behind: the parent's queue of 64 chunks fills, then the pipe, and the worker
                # blocks in its writes of 80 kB chunks, where the signals interrupt it.
                time.sleep(0.02)
    finally:
        stop.set()
    assert ids == list(range(1, 30_001))


def test_a_damaged_or_short_answer_fails_the_read_and_says_so(tmp_path, monkeypatch):
    """The parent believes no line it cannot read and no count that does not add up: the source fails with a
    sentence naming the database (its run loads nothing), never goes on without the lost rows."""
    from connectors import odbc
    from connectors.base import SourceError

    # The answers come from a script, not the driver: the database is never opened.
    source = _sqlite_source(monkeypatch, tmp_path / "xa.sqlite", table=legacy_db.TABLE, key="ID", household_column="MaHo")
    plan = source.plan(None)
    answers = {
        "damaged": ['{"columns": ["ID", "MaHo"]}', '{"rows": [[1, "001"], [2, "001"]]}', '{"rows": [[3, "00',
                    '{"rows": [[4, "002"]]}', '{"done": 4, "watermark": null}'],
        "short": ['{"columns": ["ID", "MaHo"]}', '{"rows": [[1, "001"], [2, "001"]]}',
                  '{"done": 5, "watermark": null}']}
    for kind, lines in answers.items():
        script = "import sys; sys.stdin.read(); print(" + repr("\n".join(lines)) + ")"
        monkeypatch.setattr(odbc._Worker, "COMMAND", [sys.executable, "-c", script])
        [sheet] = list(source.read(plan))
        with pytest.raises(SourceError) as failed:
            list(sheet.rows)
        text = str(failed.value)
        assert "xa_db" in text and "Nothing of this source is loaded" in text, text
        assert ("arrived damaged after 2 records" if kind == "damaged" else "read 5 records, 2 arrived") in text, text
