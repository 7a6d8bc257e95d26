"""The province-wide view after its districts load: each district's last run, open rejects, poverty movement, conflicts."""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from expectations.validate import mask_id
from mis import db, ledger, poverty
from misgw.config import Config, load_config
from misgw.reports import fixup_addressees


def cross_district_conflicts(conn, province_code: str) -> list[dict]:
    """People listed in households of two districts at once (by ID number): a person must decide where they live.

    Households flagged missing do not count: their district no longer lists them.
    """
    rows = conn.execute(sa.text("""
        SELECT m.id_number,
               array_agg(DISTINCT h.district_code_pre2025 ORDER BY h.district_code_pre2025) AS districts,
               array_agg(h.household_code || ' (' || h.source_id || ')' ORDER BY h.household_code) AS households,
               min(m.full_name) AS full_name
        FROM mis.member m JOIN mis.household h USING (household_id)
        WHERE m.listed AND m.id_number IS NOT NULL AND h.missing_run_id IS NULL AND h.province_code = :p
        GROUP BY m.id_number HAVING count(DISTINCT h.district_code_pre2025) > 1
        ORDER BY 1"""), {"p": province_code}).mappings().all()
    return [{"id_number": mask_id(r["id_number"]), "full_name": r["full_name"], "districts": list(r["districts"]),
             "households": list(r["households"])} for r in rows]


def overview(conn, config: Config) -> dict:
    """Per source of the province: its last run, open rejects by age, fix-up workbooks, poverty movement."""
    aging: dict[str, dict[str, int]] = {}
    for row in ledger.aging(conn):
        aging.setdefault(row["source_id"], {})[row["age"]] = row["entries"]
    year = conn.execute(sa.text("""
        SELECT max(p.assessment_year) FROM mis.poverty_assessment p JOIN mis.household h USING (household_id)
        WHERE h.province_code = :p"""), {"p": config.province_code_current}).scalar()
    movement = {r["unit"]: r for r in poverty.movement(conn, year, "district")} if year else {}
    sources = []
    for source in config.sources:
        last = conn.execute(sa.text("""
            SELECT * FROM mis.sync_run WHERE source_id = :s ORDER BY started_at DESC LIMIT 1"""),
            {"s": source.id}).mappings().first()
        loaded = conn.execute(sa.text("""
            SELECT run_id, finished_at, options FROM mis.sync_run
            WHERE source_id = :s AND status IN ('success', 'attention') AND NOT dry_run ORDER BY started_at DESC LIMIT 1"""),
            {"s": source.id}).mappings().first()
        sources.append({
            "source_id": source.id, "kind": source.kind, "district_code": source.district_code,
            "last_run": None if last is None else {
                "run_id": last["run_id"], "status": last["status"], "started_at": last["started_at"],
                "finished_at": last["finished_at"], "rows_read": last["rows_read"] or 0,
                "households_accepted": last["households_accepted"] or 0,
                "rows_rejected": last["rows_rejected"] or 0, "rows_held": last["rows_held"] or 0,
                "attention": last["attention"],
                "reconcile": (last["reconcile"] or {}).get("households", {}), "error": last["error"],
                "unchanged_at_source": bool((last["options"] or {}).get("unchanged"))},
            "last_load": None if loaded is None else {"run_id": loaded["run_id"], "finished_at": loaded["finished_at"],
                                                      # what the ledger holds open, as the download builds it
                                                      "fixup_districts": fixup_addressees(
                                                          conn, source.id, (loaded["options"] or {}).get(
                                                              "addressed_by") or "district")},
            "open_rejects": aging.get(source.id, {}),
            "poverty": movement.get(source.district_code) if source.district_code else None,
        })
    return {"province_code": config.province_code, "assessment_year": year, "sources": sources,
            "province_poverty": (poverty.movement(conn, year, "province") or [None])[0] if year else None,
            "cross_district_conflicts": cross_district_conflicts(conn, config.province_code_current)}


def report(config_path: str | None = None, trigger: str | None = None) -> dict:
    """The province-wide steps, run after its districts load: computed, kept in mis.province_report, returned."""
    config = load_config(config_path)
    with db.get_engine().begin() as conn:
        body = overview(conn, config)
        body["generated_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        conn.execute(sa.text("INSERT INTO mis.province_report (province_code, trigger, body) "
                             "VALUES (:p, :t, CAST(:b AS jsonb))"),
                     {"p": config.province_code, "t": trigger, "b": json.dumps(body, default=str, ensure_ascii=False)})
    return json.loads(json.dumps(body, default=str))
