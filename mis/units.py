"""The MIS's administrative-unit tables: replacing them from the official GSO tables, and reading where old communes went."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from common.errors import UserError

# Unit tables, parents first: (table, key, columns).
UNIT_TABLES = [
    ("province_pre2025", "province_code", ["province_code", "name"]),
    ("district_pre2025", "district_code", ["district_code", "name", "province_code"]),
    ("commune_pre2025", "commune_code", ["commune_code", "name", "level", "district_code", "province_code"]),
    ("province", "province_code", ["province_code", "name"]),
    ("commune", "commune_code", ["commune_code", "name", "province_code"]),
]
CROSSWALK_COLUMNS = ["commune_code", "commune_code_pre2025", "old_name", "old_district", "old_province",
                     "merge_kind", "note"]

PLACEMENT_COLUMNS = ["commune_code_pre2025", "name", "level", "district_code_pre2025", "district_name",
                     "province_code_pre2025", "province_name", "commune_code", "commune_name",
                     "candidates", "candidate_names"]


def replace_units(engine: Engine, pre2025: dict[str, pd.DataFrame], current: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Make the unit tables hold exactly these frames, in one transaction; return the rows per table.

    Units are upserted (so rows that households point at keep their key) and units absent from the new
    frames are deleted; the crosswalk is replaced outright, its ids restarting at 1 in file order, so
    importing the same files twice leaves identical contents. If a unit to delete is still referenced
    (by a household, say), nothing changes and a UserError says which.
    """
    frames = {**pre2025, **current}
    missing = [t for t, _, _ in UNIT_TABLES if t not in frames] + \
        ([] if "commune_crosswalk" in frames else ["commune_crosswalk"])
    if missing:
        raise ValueError(f"replace_units: no frame for {', '.join(missing)}")

    counts: dict[str, int] = {}
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('mis.units.replace_units'))"))
        # Stage every unit table, then upsert parents first.
        for table, key, columns in UNIT_TABLES:
            new = f"new_{table}"
            conn.exec_driver_sql(
                f"CREATE TEMP TABLE {new} (LIKE mis.{table} INCLUDING DEFAULTS) ON COMMIT DROP")
            _copy(conn, new, columns, frames[table])
            assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
            changed = " OR ".join(f"t.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in columns if c != key)
            conn.exec_driver_sql(
                f"INSERT INTO mis.{table} AS t ({', '.join(columns)}) "
                f"SELECT {', '.join(columns)} FROM {new} "
                f"ON CONFLICT ({key}) DO UPDATE SET {assignments} WHERE {changed}")

        conn.exec_driver_sql("DELETE FROM mis.commune_crosswalk")
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('mis.commune_crosswalk', 'crosswalk_id'), 1, false)")
        _copy(conn, "mis.commune_crosswalk", CROSSWALK_COLUMNS, frames["commune_crosswalk"])

        # Drop units the new tables no longer have, children first.
        for table, key, _ in reversed(UNIT_TABLES):
            try:
                conn.exec_driver_sql(
                    f"DELETE FROM mis.{table} t WHERE NOT EXISTS "
                    f"(SELECT 1 FROM new_{table} n WHERE n.{key} = t.{key})")
            except sa.exc.IntegrityError as exc:
                detail = getattr(getattr(exc.orig, "diag", None), "message_detail", None) or str(exc.orig)
                raise UserError(f"The unit tables were not replaced: mis.{table} would lose a unit that "
                                f"other MIS rows still use ({detail.strip()}).") from None

        for table, _, _ in UNIT_TABLES + [("commune_crosswalk", None, None)]:
            counts[table] = conn.execute(sa.text(f"SELECT count(*) FROM mis.{table}")).scalar_one()
    return counts


def placement(engine: Engine, province_code_pre2025: str | list[str] | None = None) -> pd.DataFrame:
    """Every pre-2025 commune (of one old province, of several, or all) with its name, district, and where
    it went.

    commune_code is the current commune when the old one went to exactly one; otherwise it is None and
    candidates lists the current communes it was split between (empty when the crosswalk lacks it).
    """
    sql = """
        SELECT p.commune_code_pre2025, c.name, c.level,
               p.district_code_pre2025, d.name AS district_name,
               p.province_code_pre2025, pv.name AS province_name,
               p.commune_code, n.name AS commune_name,
               p.candidates,
               -- Each name by its key: as a join, each commune's one or two candidates hashed all 3,321 communes.
               ARRAY(SELECT (SELECT m.name FROM mis.commune m WHERE m.commune_code = u.code)
                     FROM unnest(p.candidates) WITH ORDINALITY AS u(code, i) ORDER BY u.i) AS candidate_names
        FROM mis.commune_placement p
        JOIN mis.commune_pre2025 c ON c.commune_code = p.commune_code_pre2025
        JOIN mis.district_pre2025 d ON d.district_code = p.district_code_pre2025
        JOIN mis.province_pre2025 pv ON pv.province_code = p.province_code_pre2025
        LEFT JOIN mis.commune n ON n.commune_code = p.commune_code
    """
    params = {}
    if province_code_pre2025 is not None:
        provinces = [province_code_pre2025] if isinstance(province_code_pre2025, str) else province_code_pre2025
        sql += " WHERE p.province_code_pre2025 = ANY(:provinces)"
        params["provinces"] = [str(p).strip().zfill(2) for p in provinces]
    sql += " ORDER BY p.commune_code_pre2025"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), params).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=PLACEMENT_COLUMNS, dtype="object")
    frame["candidates"] = frame["candidates"].map(list)
    frame["candidate_names"] = frame["candidate_names"].map(list)
    return frame


def _copy(conn, table: str, columns: list[str], frame: pd.DataFrame) -> None:
    """COPY frame[columns] into table through the connection's own psycopg cursor (same transaction)."""
    data = frame[columns].astype("object")
    data = data.where(data.notna(), None)
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in data.itertuples(index=False, name=None):
                copy.write_row(row)
    finally:
        cursor.close()


def current_communes(engine: Engine, province_code: str) -> pd.DataFrame:
    """The communes of one province as they are from 1 July 2025."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT commune_code, name FROM mis.commune WHERE province_code = :p "
                                    "ORDER BY commune_code"), {"p": str(province_code).zfill(2)}).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["commune_code", "name"], dtype="object")


def province_of_district(engine: Engine, district_code: str) -> str | None:
    """The pre-2025 province of a pre-2025 district (district codes are unique nationally)."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT province_code FROM mis.district_pre2025 WHERE district_code = :d"),
                            {"d": district_code}).scalar()


def old_provinces(engine: Engine, province_code: str) -> list[str]:
    """The pre-2025 provinces whose communes went (in whole or in part) into a current province: Cần Thơ (92)
    took old Cần Thơ, Hậu Giang (93) and Sóc Trăng (94)."""
    with engine.connect() as conn:
        return list(conn.execute(sa.text("""
            SELECT DISTINCT o.province_code FROM mis.commune_crosswalk x
            JOIN mis.commune n ON n.commune_code = x.commune_code
            JOIN mis.commune_pre2025 o ON o.commune_code = x.commune_code_pre2025
            WHERE n.province_code = :p ORDER BY 1"""), {"p": str(province_code).zfill(2)}).scalars())


def names(conn, codes: list[str] | None = None) -> dict[str, str]:
    """Vietnamese names of provinces (both eras), pre-2025 districts and current communes, by code (their
    code lengths differ: 2, 3 and 5 digits). codes: only these (None: all)."""
    rows = conn.execute(sa.text("""
        SELECT code, name FROM (
            SELECT province_code AS code, name FROM mis.province_pre2025 UNION
            SELECT province_code, name FROM mis.province UNION
            SELECT district_code, name FROM mis.district_pre2025 UNION
            SELECT commune_code, name FROM mis.commune) u
        WHERE CAST(:codes AS text[]) IS NULL OR code = ANY(CAST(:codes AS text[]))"""), {"codes": codes}).all()
    return {code: name for code, name in rows}
