"""Shared fixtures: a real PostgreSQL database per test session, created and dropped here.

The tests are grouped by layer in sub-folders of tests/, their helpers in tests/support/. This file puts
tests/support and every layer folder on sys.path, so `import rosters` and `from test_pipeline import mis_db`
work from any folder, whichever part of the suite runs.
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SUPPORT = TESTS / "support"
FOLDERS = ("connectors", "mappings", "rules", "mis", "pipeline", "airflow")
# The clone's root too: tests/mis, tests/connectors and tests/mappings are folders without an __init__.py, and
# must never be taken for the gateway's packages of the same names (a package found anywhere on sys.path wins).
for _path in (*(TESTS / folder for folder in FOLDERS), SUPPORT, ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
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
