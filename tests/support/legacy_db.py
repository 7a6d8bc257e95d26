"""A district's legacy roster database, built through a real ODBC driver: accent-free Vietnamese column names.

    rows = roster(households=800)          # one tuple per member, COLUMNS order, plus the truth
    create(connection_string, rows, ...)   # CREATE TABLE tblNhanKhau and insert, through pyodbc
    airflow_conn_env("district_db", {...}) # AIRFLOW_CONN_DISTRICT_DB for the misgw process

Names are written in TCVN3 (as old software stored them) for one household in ten, and as
Windows-1258 bytes when asked, so that the connector's decoding is exercised too.
"""
from __future__ import annotations

import json
import random

import registry_truth

from mappings.legacy_fonts import from_unicode

TABLE = "tblNhanKhau"
COLUMNS = ["ID", "MaHo", "HoTen", "QuanHe", "GioiTinh", "NgaySinh", "DanToc", "SoCMND", "MaXa", "PhanLoai",
           "NamRaSoat", "ThuNhap", "NgayCapNhat"]


def roster(households: int = 800, seed: int = 5, tcvn3_every: int = 10) -> tuple[list[tuple], dict]:
    """Member rows and what they should load as: {"households": n, "members": n, "tcvn3_names": {...}}."""
    rng = random.Random(seed)
    people = registry_truth._People(rng)
    rows, tcvn3 = [], {}
    for i in range(households):
        h = registry_truth._household(people, rng, f"31300-{i:04d}", registry_truth.COMMUNES_A[i % 3],
                                      rng.randint(1, 3))
        for p in h.people:
            name = p.name
            if tcvn3_every and i % tcvn3_every == 0:
                name = from_unicode(p.name, "tcvn3")
                tcvn3[name] = p.name
            day, month = (int(x) for x in p.date.split("/")[:2]) if p.date else (1, 7)
            rows.append((len(rows) + 1, h.code, name, p.relation, "Nam" if p.sex == "M" else "Nữ",
                         f"{p.year:04d}-{month:02d}-{day:02d}", "Kinh", p.cccd, h.commune, h.category, 2025,
                         h.income, "2025-06-01 08:00:00"))
    return rows, {"households": households, "members": len(rows), "tcvn3_names": tcvn3}


def create(connection: str, rows: list[tuple], dialect: str = "ansi", windows_1258: bool = False) -> None:
    """The table, through pyodbc and the real driver (no fast_executemany: it crashes some drivers)."""
    import pyodbc

    text = "VARCHAR(120)"
    types = {"ID": "INTEGER PRIMARY KEY", "NamRaSoat": "INTEGER", "ThuNhap": "DECIMAL(12,0)",
             "NgaySinh": "DATE", "NgayCapNhat": "TIMESTAMP" if dialect != "mysql" else "DATETIME"}
    conn = pyodbc.connect(connection, autocommit=True)
    if dialect == "mysql":
        conn.setencoding(encoding="utf-8")      # MariaDB's driver garbles wide-character parameters otherwise
    cur = conn.cursor()
    cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
    if dialect == "mysql" and windows_1258:
        types["HoTen"] = text + " CHARACTER SET latin1"      # the legacy program's names column
    cur.execute(f"CREATE TABLE {TABLE} (" + ", ".join(f"{c} {types.get(c, text)}" for c in COLUMNS) + ")"
                + (" CHARACTER SET utf8mb4" if dialect == "mysql" else ""))
    if windows_1258:
        from corpus import encode_text

        # The legacy program wrote Windows-1258 bytes into a latin1 column: the driver hands them over
        # as Windows-1252 characters; the source says `encoding: windows-1258`.
        rows = [tuple(encode_text(v, "cp1258").decode("cp1252", "replace") if isinstance(v, str) and j == 2
                      else v for j, v in enumerate(r)) for r in rows]
    cur.executemany(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                    [list(r) for r in rows])
    conn.close()


def airflow_conn_env(conn_id: str, fields: dict) -> dict[str, str]:
    """The environment variable Airflow reads a connection from (no metadata database needed)."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps({"conn_type": "odbc", **fields})}
