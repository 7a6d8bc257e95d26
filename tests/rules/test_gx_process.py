"""GX beside the run: a run that has no GX yet judges in a GX process started when it begins, with the same
failures and pages as in-process (its answer before its stored run and pages); a helper that dies costs
nothing but time; a process with GX starts none."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = r"""
import json, os, sys, time
import pandas as pd
from expectations import gx_process, validate

folder = sys.argv[1]
frame = pd.DataFrame({"household_code": ["B7", "B7", "B9"], "full_name": ["Giàng A Sử", "Vàng Thị Dợ", "Sùng Mí Chá"],
                      "relation_code": ["01", "02", "01"], "sex": ["M", "F", "Nam"],
                      "birth_date_value": ["1968", "1971-13", "1990"], "id_number": [None, None, None],
                      "ethnicity_code": ["09", "09", "77"], "poverty_category": ["near_poor", None, "poor"],
                      "area": ["rural", "rural", "rural"]})

def pairs(found):
    return sorted(map(list, zip(found["pos"].tolist(), found["rule"])))

gx_process.start()
helper = gx_process._helper[1]
pending = validate._gx_failures(frame, docs=(folder, "b7-run"))
beside = pairs(pending())
gx_here = "great_expectations" in sys.modules
gx_process.stop()
pages = sorted(str(p.relative_to(folder)) for p in __import__("pathlib").Path(folder).rglob("*.html"))
alive_after_stop = helper.is_alive()

gx_process.start()
os.kill(gx_process._helper[1].pid, 9)
time.sleep(0.5)
after_death = pairs(validate._gx_failures(frame)())
gx_here_after_death = "great_expectations" in sys.modules
gx_process.stop()

here = pairs(validate._gx_failures(frame)())
gx_process.start()
started_with_gx = gx_process._helper is not None
print(json.dumps({"beside": beside, "gx_here": gx_here, "pages": pages, "alive_after_stop": alive_after_stop,
                  "after_death": after_death, "gx_here_after_death": gx_here_after_death, "here": here,
                  "started_with_gx": started_with_gx}))
"""


def test_the_suite_runs_beside_the_run_with_the_same_failures_and_pages(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "docs")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    expected = [[1, "format.birth_date"], [2, "codelist.ethnicity"], [2, "codelist.sex"]]
    assert got["here"] == expected                      # in this process, as before
    assert got["beside"] == expected and got["gx_here"] is False   # in the helper: GX never imported here
    # Its pages are written before stop() returns: GX's page of the run, its suite and the index.
    assert "index.html" in got["pages"] and "expectations/roster_basic.html" in got["pages"]
    assert any(p.startswith("validations/roster_basic/b7-run/") for p in got["pages"]), got["pages"]
    assert got["alive_after_stop"] is False
    # A helper killed (out of memory, say): the suite runs here, same failures, and it is said.
    assert got["after_death"] == expected and got["gx_here_after_death"] is True
    assert "The GX process ended without an answer" in out.stderr
    assert got["started_with_gx"] is False              # GX already here: no helper


CLI_SCRIPT = r"""
import json, sys
from expectations import gx_process
from misgw import cli

light = {m: m in sys.modules for m in ("pandas", "sqlalchemy", "misgw.pipeline")}
seen = []
real_start = gx_process.start

def start():
    seen.append({m: m in sys.modules for m in ("pandas", "sqlalchemy", "misgw.pipeline")})
    started = real_start()
    seen.append(gx_process._helper[1].pid if started else None)
    return started

gx_process.start = start
code = cli.main(["sync", "--config", sys.argv[1], "--source", "x", "--dry-run"])
import os
pid = seen[1]
alive = pid is not None and os.path.exists(f"/proc/{pid}") and \
    open(f"/proc/{pid}/stat").read().split()[2] not in ("Z", "X")
print(json.dumps({"light": light, "at_start": seen[0], "helper": pid is not None, "alive": alive, "code": code,
                  "left": gx_process._helper is not None}))
"""


def test_the_cli_starts_gx_before_its_own_heavy_imports_and_ends_it(tmp_path):
    """`misgw sync` of one source forks the GX process before importing pandas, SQLAlchemy and the pipeline
    (its import then runs beside theirs), and ends it even when the run stops at once (a config that
    names no such file)."""
    out = subprocess.run([sys.executable, "-c", CLI_SCRIPT, str(tmp_path / "missing.yaml")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["light"] == {"pandas": False, "sqlalchemy": False, "misgw.pipeline": False}
    assert got["at_start"] == {"pandas": False, "sqlalchemy": False, "misgw.pipeline": False}
    assert got["helper"] is True and got["alive"] is False and got["left"] is False
    assert got["code"] == 2 and "missing.yaml" in out.stderr      # the user's error, in one sentence
