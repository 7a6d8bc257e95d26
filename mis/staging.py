"""Per-run work tables in schema "staging": how stages hand data to each other by name, never by DataFrame."""
from __future__ import annotations

import io
import re

import pandas as pd
import sqlalchemy as sa

_SAFE = re.compile(r"[^a-z0-9_]")


def table_name(run_id: str, part: str) -> str:
    return f'staging."{_SAFE.sub("_", f"run_{run_id}_{part}".lower())}"'


def write_frame(conn, run_id: str, part: str, frame: pd.DataFrame) -> str:
    """Replace the run's table `part` with frame's contents (all text columns) through COPY."""
    name = table_name(run_id, part)
    cols = ", ".join(f'"{c}" text' for c in frame.columns)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {name} ({cols})")
    # A column with no value anywhere is left to the table's NULL: a roster fills a dozen or two of the
    # members' 55 columns, and writing the others' empty cells as CSV was most of the writing.
    copy_frame(conn, name, frame.loc[:, frame.notna().any().to_numpy()] if len(frame) else frame)
    return name


CSV_SLICE = 20_000


def copy_frame(conn, table: str, frame: pd.DataFrame) -> None:
    """COPY a frame's rows into a table (its columns by name), inside the connection's current transaction.

    In slices of CSV_SLICE rows: the CSV text of a whole province-sized frame would be as large as the
    frame again.
    """
    if not len(frame):
        return
    cursor = conn.connection.driver_connection.cursor()
    collist = ", ".join(f'"{c}"' for c in frame.columns)
    with cursor.copy(f"COPY {table} ({collist}) FROM STDIN (FORMAT csv)") as copy:
        for i in range(0, len(frame), CSV_SLICE):
            chunk = frame.iloc[i:i + CSV_SLICE].to_csv(index=False, header=False)
            if "\x00" in chunk:  # PostgreSQL text cannot hold NUL, which legacy exports sometimes carry
                chunk = chunk.replace("\x00", "")
            copy.write(chunk)


def create_table(conn, run_id: str, part: str, columns: dict[str, str]) -> str:
    name = table_name(run_id, part)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    conn.exec_driver_sql(f"CREATE UNLOGGED TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    return name


def copy_rows(conn, table: str, columns: list[str], rows) -> int:
    """Stream tuples into a table with COPY; memory stays flat whatever the number of rows."""
    cursor = conn.connection.driver_connection.cursor()
    n = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def read_frame(conn, run_id: str, part: str) -> pd.DataFrame:
    """The run's table `part` as text columns (NULL as NA): read_query of the whole table."""
    return read_query(conn, f"SELECT * FROM {table_name(run_id, part)}")


def read_query(conn, query: str) -> pd.DataFrame:
    """A query's rows as text columns (NULL as NA), through COPY: pandas' CSV parser builds the frame in
    C, faster than rows fetched into Python tuples (figures in docs/benchmarks.md)."""
    cursor = conn.connection.driver_connection.cursor()
    data = io.BytesIO()
    # NULL gets a marker of its own, so that an empty text stays an empty text.
    with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER, NULL '\\N')") as copy:
        for block in copy:
            data.write(block)
    data.seek(0)
    return pd.read_csv(data, dtype="string", keep_default_na=False, na_values=["\\N"])


def counts_by_sheet(conn, run_id: str, part: str) -> dict[tuple[str, str], int]:
    """{(file, sheet): rows} of the run's table `part`; empty when the table does not exist."""
    name = table_name(run_id, part)
    if not conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": name.replace('"', "")}).scalar():
        return {}
    return {(f, s): int(n) for f, s, n in conn.execute(sa.text(f"SELECT file, sheet, count(*) FROM {name} GROUP BY 1, 2"))}


def drop_run_tables(conn, run_id: str) -> None:
    prefix = _SAFE.sub("_", f"run_{run_id}_".lower())
    names = conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'staging' AND starts_with(tablename, :p)"),
        {"p": prefix}).scalars().all()
    for n in names:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS staging."{n}"')


def accepted_assessment_year(conn, run_id: str) -> int | None:
    """The latest assessment year among the run's accepted members, or None."""
    return conn.execute(sa.text(f"SELECT max(assessment_year::int) FROM {table_name(run_id, 'members')}"
                                " WHERE accepted::boolean")).scalar()

