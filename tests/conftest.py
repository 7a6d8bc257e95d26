"""Shared fixtures: a real PostgreSQL database per test session, created and dropped here."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "reference"
ADMIN_UNITS = SHARED / "admin-units"
PRE2025_CSV = ADMIN_UNITS / "communes-pre-2025.csv"
CROSSWALK_CSV = ADMIN_UNITS / "crosswalk-2025-07-01.csv"


def _server_url() -> str:
    """MISGW_TEST_DATABASE_URL, else the server on 127.0.0.1:5432, else the embedded one."""
    url = os.environ.get("MISGW_TEST_DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    local = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    try:
        eng = sa.create_engine(local, connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return local
    except Exception:
        from mis.db import embedded_url

        return embedded_url(ROOT / "var" / "test-pgdata")


def create_database(prefix: str = "misgw_test") -> str:
    """Create a fresh database on the test server and return its URL."""
    server = sa.make_url(_server_url())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    from mis import db

    for key, eng in list(db._engines.items()):
        if sa.make_url(key).database == sa.make_url(url).database:
            eng.dispose()
            db._engines.pop(key)
    u = sa.make_url(url)
    admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def fresh_db(monkeypatch):
    """A new, migrated MIS database for one test; MISGW_DATABASE_URL points at it."""
    from mis import db

    url = create_database()
    monkeypatch.setenv("MISGW_DATABASE_URL", url)
    db.upgrade(db.get_engine(url))
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def units_db():
    """A migrated database with the official GSO unit tables loaded, shared read-only by tests."""
    from mis import db
    from misgw.admin_units import import_admin_units

    url = create_database("misgw_units")
    engine = db.get_engine(url)
    db.upgrade(engine)
    import_admin_units(engine, PRE2025_CSV, CROSSWALK_CSV)
    yield url
    drop_database(url)
