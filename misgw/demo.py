"""The demo: a synthetic Cần Thơ province synced end to end, checked against its own truth file."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from common.errors import UserError
from mis import ledger


def run(demo_dir: Path, pre2025: Path, crosswalk: Path, as_json: bool = False, generate_only: bool = False) -> int:
    from mis import db
    from misgw import demo_data, pipeline, reports
    from misgw.admin_units import import_admin_units

    for path in (pre2025, crosswalk):
        if not Path(path).is_file():
            raise UserError(f"Reference table not found: {path} (pass --pre2025 / --crosswalk).")
    demo_dir = demo_dir.resolve()
    config = demo_dir / "misgw.yaml"
    if not config.exists():
        _say(as_json, f"Generating the demo province in {demo_dir} ...")
        demo_data.generate(demo_dir, pre2025)
    if generate_only:
        _say(as_json, f"Demo province ready: {config}")
        return 0
    engine = db.get_engine()
    db.upgrade(engine)
    _say(as_json, "Loading the official administrative-unit tables ...")
    counts = import_admin_units(engine, pre2025, crosswalk)
    _say(as_json, "  " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    _say(as_json, "Syncing every demo source ...")
    # Read in full every time, so that each demo run shows the whole path and checks it against the truth
    # (a plain `misgw sync` of unchanged files reads nothing: "no change at source").
    summaries = pipeline.run_sync(str(config), full=True)
    check = compare_with_truth(engine, summaries, demo_dir / "truth.csv")
    if as_json:
        print(json.dumps({"runs": summaries, "truth_check": check}, ensure_ascii=False, indent=2, default=str))
    else:
        print()
        print(reports.summary_table(summaries))
        print()
        if check["match"]:
            print(f"Rejections match the truth file exactly: {check['expected']} injected errors, "
                  f"each caught on its row by its rule, and nothing else rejected.")
        else:
            print(f"Rejected rows differ from the truth file: missed {check['missed'][:10]}, "
                  f"unexpected {check['unexpected'][:10]}.")
        print("Open the fix-up workbooks above in Excel, or list the open rejects with "
              "`.venv/bin/misgw rejects list` (same database).")
    ok = check["match"] and all(s["status"] == "success" for s in summaries)
    return 0 if ok else 1


def compare_with_truth(engine, summaries: list[dict], truth_path: Path) -> dict:
    """Rejections of these runs versus the errors the generator made on purpose: (file, sheet, row, rule)."""
    with open(truth_path, encoding="utf-8") as fh:
        expected = {(r["file"], r["sheet"], int(r["row"]), r["rule"]) for r in csv.DictReader(fh)}
    run_ids = [s["run_id"] for s in summaries]
    with engine.connect() as conn:
        found = ledger.rejected_rows(conn, run_ids)
    return {"match": expected == found, "expected": len(expected), "found": len(found),
            "missed": sorted(expected - found), "unexpected": sorted(found - expected)}


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, flush=True)
