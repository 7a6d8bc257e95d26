"""Every file of the bad-input corpus ends in one clear sentence or row-level rejects, never a traceback, and the
other sources of the same run complete."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import bad_inputs
import pytest
import sqlalchemy as sa
from rosters import write_config, write_roster
from test_pipeline import mis_db  # noqa: F401  (mis_db is a fixture)


@pytest.mark.slow
def test_every_bad_file_fails_alone_clearly_and_the_run_goes_on(tmp_path, mis_db):  # noqa: F811
    cases = bad_inputs.build(tmp_path / "bad")
    assert len(cases) >= 25
    write_roster(tmp_path / "good" / "ds.xlsx")
    sources = [{"id": name.replace("_", "-"), "kind": "spreadsheet", "path": f"bad/{name}", "district_code": "926"}
               for name, _, _ in cases]
    sources.append({"id": "good", "kind": "spreadsheet", "path": "good", "district_code": "926"})
    cfg = write_config(tmp_path / "misgw.yaml", sources)
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "misgw.cli", "sync", "--config", str(cfg), "--json"],
                         capture_output=True, text=True, timeout=1200, env=dict(os.environ, MISGW_DATABASE_URL=mis_db))
    seconds = time.monotonic() - started
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    results = {r["source_id"]: r for r in json.loads(run.stdout)}
    assert results["good"]["status"] == "success" and results["good"]["households_accepted"] == 2
    engine = sa.create_engine(mis_db)

    def rules(run_id: str) -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(sa.text("SELECT DISTINCT rule FROM mis.reject WHERE run_id = :r"),
                                    {"r": run_id}).scalars())

    wrong = {}
    for name, path, expect in cases:
        r = results[name.replace("_", "-")]
        error = r["error"] or ""
        if "Unexpected error" in error or "\n" in error:
            wrong[name] = f"not one clear sentence: {error[:300]}"
        elif expect == "fails" and not (r["status"] == "failed" and path.name in error):
            wrong[name] = f"expected a failure naming {path.name}, got {r['status']}: {error[:300]}"
        elif expect.startswith("rejects:") and not (
                # A roster whose every household is turned back completes, and says it needs a person.
                (r["status"] == "success" or (r["status"] == "attention" and r["households_accepted"] == 0
                                              and "none accepted" in r["attention"]))
                and expect[8:] in rules(r["run_id"])):
            wrong[name] = (f"expected row-level rejects by {expect[8:]}, got {r['status']} {r['rows_rejected']} "
                           f"{sorted(rules(r['run_id']))}: {error[:300]}")
        elif expect == "loads" and not (r["status"] == "success" and r["households_accepted"] == 2):
            wrong[name] = f"expected the roster to load, got {r['status']} {r['households_accepted']}: {error[:300]}"
    assert not wrong, json.dumps(wrong, ensure_ascii=False, indent=1)
    print(f"\n{len(cases)} bad files and one good one in {seconds:.0f} s")


def test_a_broken_formula_is_named_once_as_such_whichever_reader_reads_the_sheet(tmp_path, mis_db,  # noqa: F811
                                                                                 monkeypatch):
    """#REF! where a birth date and an income should be: calamine reads such cells as blank, which would
    say "birth date missing" and load the household without its income."""
    from connectors import spreadsheet, xlsx_stream

    path = bad_inputs._ref_errors(tmp_path / "d" / "ds.xlsx")
    streamed = list(xlsx_stream.iter_rows(path, "Xã Nhơn Ái"))
    [sheet] = list(spreadsheet.read_sheets(path))
    assert list(sheet.rows) == streamed           # both readers keep the error text
    assert [c[5] for n, c in streamed if n in (2, 4)] == ["#REF!", "#REF!"]

    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926"}])
    run = subprocess.run([sys.executable, "-m", "misgw.cli", "sync", "--config", str(cfg), "--json"],
                         capture_output=True, text=True, timeout=600, env=dict(os.environ, MISGW_DATABASE_URL=mis_db))
    [summary] = json.loads(run.stdout)
    assert summary["status"] == "success" and summary["households_accepted"] == 1, summary  # household 0002
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        rejects = conn.execute(sa.text("SELECT row, field, rule, message_vi FROM mis.reject WHERE run_id = :r "
                                       "AND severity = 'reject' ORDER BY row, field"),
                               {"r": summary["run_id"]}).all()
    engine.dispose()
    assert [(r.row, r.field, r.rule) for r in rejects] == [
        (2, "birth_date", "cell.formula_error"), (2, "income_per_capita", "cell.formula_error"),
        (4, "birth_date", "cell.formula_error"), (4, "income_per_capita", "cell.formula_error")]
    assert "#REF!" in rejects[0].message_vi and "Ngày sinh" in rejects[0].message_vi, rejects[0].message_vi
