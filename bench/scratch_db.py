"""A throw-away MIS database for a benchmark, on the test server; dropped whatever happens."""
from __future__ import annotations

import contextlib
import os
import uuid

import sqlalchemy as sa


@contextlib.contextmanager
def scratch_database():
    """Yields a migrated engine on a new database (MISGW_TEST_DATABASE_URL, else 127.0.0.1:5432)."""
    from mis import db

    server = sa.make_url((os.environ.get("MISGW_TEST_DATABASE_URL") or
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres").replace(
                              "postgresql://", "postgresql+psycopg://"))
    name = f"misgw_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        engine = db.get_engine(server.set(database=name).render_as_string(hide_password=False))
        db.upgrade(engine)
        yield engine
        engine.dispose()
    finally:
        db._engines.clear()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
