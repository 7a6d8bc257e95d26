"""The CLI never surprises: a mistyped source or household is an error naming what exists, the README's
`--config` is accepted by the commands that read the ledger, and normal use prints no warnings."""
from __future__ import annotations

import json

from rosters import write_config, write_roster
from test_pipeline import mis_db, misgw  # noqa: F401  (mis_db is a fixture)


def test_unknown_sources_and_households_are_named_errors(tmp_path, mis_db):  # noqa: F811
    write_roster(tmp_path / "d" / "x.xlsx")
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "phong-dien", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926"}])
    [run] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert run["status"] == "success", run
    for args in (["rejects", "list", "--source", "phong-dein"], ["runs", "list", "--source", "phong-dein"],
                 ["rejects", "export", "--source", "phong-dein", "--out", str(tmp_path / "x.xlsx")],
                 ["households", "review", "--source", "phong-dein"]):
        done = misgw(*args, "--config", str(cfg), env_url=mis_db)
        assert done.returncode == 2 and "No source 'phong-dein'. Sources: phong-dien." in done.stderr, (args, done)
        assert "0 record(s)" not in done.stdout
    done = misgw("history", "31300-9999", "--commune", "31300", env_url=mis_db)
    assert done.returncode == 2 and "No household 31300-9999 in commune 31300" in done.stderr, done
    # The README's own example: a ledger command with the sources file.
    listed = misgw("rejects", "list", "--config", str(cfg), env_url=mis_db)
    assert listed.returncode == 0 and "0 record(s)." in listed.stdout and listed.stderr == "", listed
    shown = misgw("runs", "show", run["run_id"], "--config", str(cfg), env_url=mis_db)
    assert shown.returncode == 0 and shown.stderr == "", shown
