"""The province summaries: each one kept with what triggered it (an Airflow run, a district's sync)."""
from __future__ import annotations

import json

import sqlalchemy as sa


def save(conn, province_code: str, trigger: str | None, body: dict) -> None:
    conn.execute(sa.text("INSERT INTO mis.province_report (province_code, trigger, body) "
                         "VALUES (:p, :t, CAST(:b AS jsonb))"),
                 {"p": province_code, "t": trigger, "b": json.dumps(body, default=str, ensure_ascii=False)})


def latest(conn, trigger: str) -> dict | None:
    """The body of the latest summary made on this trigger, or None."""
    return conn.execute(sa.text("SELECT body FROM mis.province_report WHERE trigger = :t "
                                "ORDER BY created_at DESC LIMIT 1"), {"t": trigger}).scalar()
