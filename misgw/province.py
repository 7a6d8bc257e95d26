"""The province-wide view after its districts load: each district's last run, open rejects, poverty movement, conflicts."""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from expectations.validate import mask_id
from mis import db, ledger, poverty, units
from misgw import reasons
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
    """Per source of the province: its last attempt and its last load side by side, what the ledger holds open
    (rejects, held households, warnings and missing, counted apart per district, or per commune for a roster
    made after the reform), fix-up workbooks, days without a new file, poverty movement."""
    aging: dict[str, dict[str, int]] = {}
    for row in ledger.aging(conn):
        aging.setdefault(row["source_id"], {})[row["age"]] = row["entries"]
    open_by_source: dict[str, list[dict]] = {}
    for row in ledger.open_counts(conn):
        open_by_source.setdefault(row["source_id"], []).append(row)
    names = units.names(conn)
    year = conn.execute(sa.text("""
        SELECT max(p.assessment_year) FROM mis.poverty_assessment p JOIN mis.household h USING (household_id)
        WHERE h.province_code = :p"""), {"p": config.province_code_current}).scalar()
    movement = {r["unit"]: r for r in poverty.movement(conn, year, "district")} if year else {}
    today = dt.datetime.now(VIETNAM).date()
    sources = []
    for source in config.sources:
        last = conn.execute(sa.text("""
            SELECT * FROM mis.sync_run WHERE source_id = :s ORDER BY started_at DESC LIMIT 1"""),
            {"s": source.id}).mappings().first()
        loaded = conn.execute(sa.text("""
            SELECT * FROM mis.sync_run
            WHERE source_id = :s AND status IN ('success', 'attention') AND NOT dry_run ORDER BY started_at DESC LIMIT 1"""),
            {"s": source.id}).mappings().first()
        new_data = conn.execute(sa.text("""
            SELECT max(started_at) FROM mis.sync_run WHERE source_id = :s AND status IN ('success', 'attention')
            AND NOT dry_run AND coalesce((options->>'unchanged')::boolean, false) = false"""), {"s": source.id}).scalar()
        counts = open_by_source.get(source.id, [])
        sources.append({
            "source_id": source.id, "kind": source.kind, "district_code": source.district_code,
            "district_name": names.get(source.district_code) if source.district_code else None,
            "addressed_by": "commune" if source.unit_era == "current" else "district",
            "last_run": None if last is None else _run_view(last),
            "last_load": None if loaded is None else {
                **_run_view(loaded),
                # what the ledger holds open, as the download builds it
                "fixup_districts": fixup_addressees(conn, source.id, (loaded["options"] or {}).get("addressed_by")
                                                    or "district")},
            "days_without_new_data": (today - new_data.astimezone(VIETNAM).date()).days if new_data else None,
            "open_rejects": aging.get(source.id, {}),
            "open": {"rejects": sum(r["rejects"] for r in counts), "households_held": sum(r["households_held"] for r in counts),
                     "warnings": sum(r["warnings"] for r in counts), "missing": sum(r["missing"] for r in counts),
                     "by_addressee": [{**r, "name": names.get(r["addressee"])} for r in counts]},
            "poverty": movement.get(source.district_code) if source.district_code else None,
        })
    return {"province_code": config.province_code, "province_name": names.get(config.province_code),
            "assessment_year": year, "sources": sources,
            "province_poverty": (poverty.movement(conn, year, "province") or [None])[0] if year else None,
            "cross_district_conflicts": cross_district_conflicts(conn, config.province_code_current)}


VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")   # Vietnam has one time zone and no daylight saving


def _run_view(run) -> dict:
    """What the page shows of one sync run: outcome, times, counts, the reason in Vietnamese, where to look."""
    options = run["options"] or {}
    narrowed = options.get("narrowed") or {}
    airflow = options.get("airflow") or {}
    reason = run["error"] or run["attention"]
    return {
        "run_id": run["run_id"], "status": run["status"], "started_at": run["started_at"],
        "finished_at": run["finished_at"], "stage": run["stage"], "dry_run": run["dry_run"],
        "rows_read": run["rows_read"] or 0, "households_accepted": run["households_accepted"] or 0,
        "rows_rejected": run["rows_rejected"] or 0, "rows_held": run["rows_held"] or 0,
        "error": run["error"], "attention": run["attention"], "reason_vi": reasons.vietnamese(reason),
        "reconcile": (run["reconcile"] or {}).get("households", {}),
        "unchanged_at_source": bool(options.get("unchanged")),
        "partial": bool(options.get("partial")),
        "households_changed": narrowed.get("households_changed"),
        "households_unchanged": narrowed.get("households_unchanged"),
        "airflow": airflow or None,
        "approval": (run["approval"] or {}).get("answer") if run["approval"] else None,
        "awaiting_approval": run["status"] == "awaiting_approval",
    }


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
