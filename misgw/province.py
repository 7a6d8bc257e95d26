"""The province-wide view after its districts load: each district's last run, open rejects, poverty movement, conflicts."""
from __future__ import annotations

import datetime as dt
import json

from expectations.validate import mask_id
from mis import db, fixups, households, ledger, poverty, province_reports, runs, units
from misgw import reasons
from misgw.config import Config, load_config


def cross_district_conflicts(conn, province_code: str) -> list[dict]:
    """People listed in households of two districts at once (by ID number): a person must decide where they live.

    Households flagged missing do not count: their district no longer lists them.
    """
    rows = households.people_in_two_districts(conn, province_code)
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
    year = poverty.latest_year(conn, config.province_code_current)
    movement = {r["unit"]: r for r in poverty.movement(conn, year, "district")} if year else {}
    today = dt.datetime.now(VIETNAM).date()
    sources = []
    for source in config.sources:
        last = runs.last_run(conn, source.id)
        loaded = runs.last_load(conn, source.id)
        new_data = runs.last_new_data(conn, source.id)
        counts = open_by_source.get(source.id, [])
        sources.append({
            "source_id": source.id, "kind": source.kind, "district_code": source.district_code,
            "district_name": names.get(source.district_code) if source.district_code else None,
            "addressed_by": "commune" if source.unit_era == "current" else "district",
            "last_run": None if last is None else _run_view(last),
            "last_load": None if loaded is None else {
                **_run_view(loaded),
                # what the ledger holds open, as the download builds it
                "fixup_districts": fixups.addressees(conn, source.id, (loaded["options"] or {}).get("addressed_by")
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
        province_reports.save(conn, config.province_code, trigger, body)
    return json.loads(json.dumps(body, default=str))
