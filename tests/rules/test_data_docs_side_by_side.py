"""Sources judged side by side write one Data Docs folder: every page whole, every run in the index."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from expectations.gx_suite import _REMOTE_ASSET

ROOT = Path(__file__).resolve().parents[2]
RUNS = 6
WRITER = r"""
import sys
import pandas as pd
from expectations import docs, gx_suite

folder, tag = sys.argv[1], sys.argv[2]
frame = pd.DataFrame({"household_code": ["T1", "T1"], "full_name": ["Hà Văn Chiến", "Lường Thị Xoan"],
                      "relation_code": ["01", "02"], "sex": ["M", "F"], "birth_date_value": ["1981", "1984-14"],
                      "id_number": [None, None], "ethnicity_code": ["04", "04"], "poverty_category": ["poor", None],
                      "area": ["rural", "rural"]})
for i in range(int(sys.argv[3])):
    name = f"{tag}-{i}"
    found, render = gx_suite.run(frame, (folder + "/gx", name))
    render()
    failures = pd.DataFrame({"file": ["x.xlsx"], "sheet": ["Xã Chiềng Ban"], "row": [3], "household_code": ["T1"],
                             "rule": ["format.birth_date"], "severity": ["reject"], "message_vi": ["Ngày sinh sai"]})
    docs.write_run_page(folder, name, tag, name, failures, 2, 1)
"""


def test_sources_side_by_side_write_whole_pages_and_every_run_in_the_index(tmp_path):
    folder = tmp_path / "data-docs"
    # Pages of earlier syncs, which GX's next build removes while the other sources' builds read the folder.
    for n in range(300):
        page = folder / "gx" / "validations" / "roster_basic" / f"d919-{n}" / "20261101T010203Z" / "roster-members.html"
        page.parent.mkdir(parents=True)
        page.write_text("<!doctype html><html><body>trang cũ</body></html>", encoding="utf-8")
    tags = ["d916", "d917", "d918"]
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder), tag, str(RUNS)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in tags]
    outcomes = [(w.wait(timeout=600), w.stderr.read()) for w in writers]
    assert [code for code, _ in outcomes] == [0, 0, 0], [err[-2000:] for _, err in outcomes]
    names = {f"{tag}-{i}" for tag in tags for i in range(RUNS)}
    summaries = [json.loads(p.read_text(encoding="utf-8")) for p in (folder / "runs").glob("*.json")]
    assert {s["run_name"] for s in summaries} == names
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert all(f"runs/{name}.html" in index for name in names) and index.rstrip().endswith("</html>")
    # GX's site: every run rendered there (GX keeps results in memory, so its index and pages are those of the
    # process that wrote it last; ours keeps every run).
    assert names <= {p.name for p in (folder / "gx" / "validations" / "roster_basic").iterdir()}
    assert (folder / "gx" / "index.html").exists()
    for page in folder.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert text.rstrip().endswith("</html>"), page
        assert _REMOTE_ASSET.search(text) is None, page     # cleaned for offline reading, by whoever wrote it


def test_a_page_removed_while_the_folder_is_cleaned_is_passed_over(tmp_path, monkeypatch):
    """GX's build removes pages of results it no longer holds: one listed and gone by the time it is read
    is nothing to clean (a sync failed on exactly this, FileNotFoundError, before the lock and this)."""
    import time

    from expectations import gx_suite

    kept = tmp_path / "index.html"
    kept.write_text('<html><head><script src="https://cdn.example/x.js"></script></head><body>x</body></html>')
    gone = tmp_path / "validations" / "gone.html"
    real_rglob = Path.rglob
    monkeypatch.setattr(Path, "rglob", lambda self, pattern: iter([gone, *real_rglob(self, pattern)]))
    gx_suite._offline_pages(str(tmp_path), time.time() - 60)
    assert kept.read_text() == "<html><head></head><body>x</body></html>"


COUNTER = r"""
import sys
import jinja2
import pandas as pd
from expectations import gx_suite

compiled = []
original = jinja2.Environment._parse
jinja2.Environment._parse = lambda self, source, name, filename: compiled.append(name) or original(
    self, source, name, filename)
frame = pd.DataFrame({"household_code": ["T1"], "full_name": ["Hà Văn Chiến"], "relation_code": ["01"],
                      "sex": ["M"], "birth_date_value": ["1981"], "id_number": [None], "ethnicity_code": ["04"],
                      "poverty_category": ["poor"], "area": ["rural"]})
found, render = gx_suite.run(frame, (sys.argv[1], sys.argv[2]))
render()
print(sum(1 for name in compiled if name))     # the template files parsed (a string template has no name)
"""


def test_gx_templates_are_compiled_once_per_machine_not_once_per_page(tmp_path):
    """GX makes a new jinja environment for each page and would parse its templates again in every process;
    jinja's bytecode cache (in the temporary folder) keeps them compiled: a later run's pages parse none."""
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    parsed = []
    for run in ("d916-1", "d917-1"):
        done = subprocess.run([sys.executable, "-c", COUNTER, str(tmp_path / "gx"), run], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        parsed.append(int(done.stdout.split()[-1]))
    assert parsed[0] > 10 and parsed[1] == 0, parsed
    assert len(list((tmp_path / "gx" / "validations" / "roster_basic").iterdir())) == 2
