"""The one place that knows how to reach the MIS database and keep its schema current."""
from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from common.errors import DatabaseUnavailable

EMBEDDED_DIR_ENV = "MISGW_EMBEDDED_PG_DIR"
_engines: dict[str, Engine] = {}
_embedded_servers: dict[str, Any] = {}


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show it with anything after '//' up to '@' removed
        return re.sub(r"//[^@/]*@", "//***@", url)


def embedded_dir() -> Path:
    """Where the embedded PostgreSQL keeps its data: MISGW_EMBEDDED_PG_DIR, else the user's data directory
    (~/.local/share/misgw/pgdata), so every command finds the same MIS whatever folder it runs in."""
    configured = os.environ.get(EMBEDDED_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("misgw")) / "pgdata"


def embedded_url(data_dir: str | os.PathLike | None = None) -> str:
    """Start (or reuse) the embedded PostgreSQL and return its SQLAlchemy URL. The server stops when the
    last process using it ends (pgserver counts them), so no command leaves one running."""
    data_dir = Path(data_dir).resolve() if data_dir else embedded_dir()
    key = str(data_dir)
    if key not in _embedded_servers:
        import warnings

        data_dir.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns on every command where XDG_RUNTIME_DIR is unset (a server, CI); the
            # embedded server's socket place is chosen well without it.
            warnings.simplefilter("ignore")
            import pgserver  # imported late: it is only needed when no server is configured

            _embedded_servers[key] = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    uri = _embedded_servers[key].get_uri()
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


def database_url() -> str:
    """MISGW_DATABASE_URL when set; otherwise the embedded server, so a new user needs no server."""
    url = os.environ.get("MISGW_DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        return url
    return embedded_url()


def forget_engines() -> None:
    """In a forked child: the parent's pooled connections are not this process's to use or close."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


def _connect_args(url: str) -> dict:
    """Connection settings of every gateway session. PostgreSQL's JIT is off: the run's staging tables
    are planned before their statistics exist, so short statements look costly and JIT spent up to a
    second compiling each of them (docs/benchmarks.md); a URL that sets its own options keeps them."""
    args: dict = {"connect_timeout": 10}
    if "options=" not in url:
        # work_mem: the reconcile's and the snapshot's joins of a province-sized district (133,000 rows) sort
        # and hash in memory instead of in batches on disk, at the default 4 MB.
        args["options"] = "-c jit=off -c work_mem=64MB"
    return args


def get_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url not in _engines:
        try:
            _engines[url] = sa.create_engine(url, pool_pre_ping=True, future=True, connect_args=_connect_args(url))
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise DatabaseUnavailable(
                f"Địa chỉ cơ sở dữ liệu MIS không hợp lệ / MISGW_DATABASE_URL is not a database URL: {safe_url(url)} "
                f"({_first_line(exc)}); expected postgresql://USER@HOST:5432/DATABASE") from None
    engine = _engines[url]
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        raise DatabaseUnavailable(
            f"Không kết nối được cơ sở dữ liệu MIS / the MIS database does not answer: "
            f"{safe_url(url)} ({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    return engine


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else ""


def migrations() -> list[tuple[str, str]]:
    """(version, sql) of every migration shipped in mis/migrations, in order."""
    files = resources.files("mis.migrations")
    out = []
    for entry in sorted(files.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            out.append((entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    return out


def upgrade(engine: Engine) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the versions applied."""
    applied: list[str] = []
    with engine.begin() as conn:
        # One upgrader at a time, whatever process it runs in.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('misgw.db.upgrade'))"))
        conn.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS public.misgw_schema_version ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"))
        done = {r[0] for r in conn.execute(sa.text("SELECT version FROM public.misgw_schema_version"))}
        for version, sql in migrations():
            if version in done:
                continue
            # Straight to the driver with no parameters, so '%' in SQL text is just a character.
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.cursor().execute(sql)
            conn.execute(sa.text("INSERT INTO public.misgw_schema_version (version) VALUES (:v)"),
                         {"v": version})
            applied.append(version)
    return applied


def require_current_schema(engine: Engine) -> None:
    """Refuse to run against a schema older (or newer) than this gateway's migrations."""
    shipped = [v for v, _ in migrations()]
    with engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT to_regclass('public.misgw_schema_version')")).scalar()
        applied = conn.execute(sa.text("SELECT version FROM public.misgw_schema_version ORDER BY 1")).scalars().all() \
            if exists else []
    if applied != shipped:
        missing = [v for v in shipped if v not in applied]
        raise DatabaseUnavailable(
            f"Cơ sở dữ liệu MIS chưa được nâng cấp / the MIS schema is not current "
            f"(missing {', '.join(missing) or 'none'}; unknown {', '.join(set(applied) - set(shipped)) or 'none'}): "
            "run `misgw db upgrade`.")


def clock(conn):
    """The database's time now: what the runs' timestamps are measured against."""
    return conn.execute(sa.text("SELECT now()")).scalar()


# The sample of the gateway's own ANALYZE: 300 rows per unit of target, 6,000 rows instead of the server's
# default of 30,000. What its plans need is the row counts and the keys' distinct counts, which a sample
# of 6,000 gives; the full sample cost a full sync about 0.5 s a source at 100,000 members (docs/benchmarks.md).
ANALYZE_STATISTICS_TARGET = 20


def analyze(conn, tables: list[str]) -> None:
    """ANALYZE tables with the gateway's sample; the session's target is the server's again afterwards. (An
    ANALYZE that fails in a transaction takes the SET with it; in autocommit the connection's later
    ANALYZEs, all of them the gateway's, keep the small sample.)"""
    conn.exec_driver_sql(f"SET default_statistics_target = {ANALYZE_STATISTICS_TARGET}")
    conn.exec_driver_sql("ANALYZE " + ", ".join(tables))
    conn.exec_driver_sql("RESET default_statistics_target")
