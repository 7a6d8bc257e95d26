"""The gateway's database sessions: PostgreSQL's JIT off (it compiled short statements planned on staging
tables without statistics for up to a second each), unless the URL sets its own options."""
from __future__ import annotations

import sqlalchemy as sa
from test_pipeline import mis_db  # noqa: F401  (a fixture)

from mis import db


def _jit(url: str) -> str:
    try:
        with db.get_engine(url).connect() as conn:
            return conn.execute(sa.text("SHOW jit")).scalar()
    finally:
        db.forget_engines()


def test_the_gateway_sessions_run_without_jit(mis_db):
    server_default = sa.create_engine(mis_db)
    with server_default.connect() as conn:
        assert conn.execute(sa.text("SHOW jit")).scalar() == "on"    # the server's default, as installed
    server_default.dispose()
    assert _jit(mis_db.replace("postgresql://", "postgresql+psycopg://", 1)) == "off"


def test_a_url_with_its_own_options_keeps_them(mis_db):
    url = mis_db.replace("postgresql://", "postgresql+psycopg://", 1)
    assert _jit(url + ("&" if "?" in url else "?") + "options=-c%20jit%3Don") == "on"
