"""GX imported once and lean: without scipy.stats, altair and jsonschema (only expectations the suite never
uses need them), the suite still judges; and anything that does use them gets the real modules."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = r"""
import json, sys
import pandas as pd
from expectations import gx_suite, validate

gx_suite.warm_up()
lean = {m: m in sys.modules for m in ("great_expectations", "scipy.stats._stats_py", "altair.vegalite",
                                      "jsonschema.validators")}
frame = pd.DataFrame({"household_code": ["H1", "H1"], "full_name": ["Lò Văn Pọm", "Lò Thị Ón"],
                      "relation_code": ["01", "02"], "sex": ["M", "X"], "birth_date_value": ["1970", "1972-13"],
                      "id_number": [None, None], "ethnicity_code": ["03", "03"], "poverty_category": ["poor", None],
                      "area": ["rural", "rural"]})
found = validate._gx_failures(frame)()
import scipy.stats
entropy = float(scipy.stats.entropy([0.5, 0.5]))
import jsonschema
try:
    jsonschema.validate(1, {"type": "string"})
    schema = "passed"
except jsonschema.ValidationError:
    schema = "refused"
print(json.dumps({"lean": lean, "found": sorted(map(list, zip(found["pos"].tolist(), found["rule"]))),
                  "entropy": round(entropy, 4), "real": "scipy.stats._stats_py" in sys.modules, "schema": schema}))
"""


def test_gx_judges_without_scipy_and_altair_until_something_uses_them():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["lean"] == {"great_expectations": True, "scipy.stats._stats_py": False, "altair.vegalite": False,
                           "jsonschema.validators": False}
    assert got["found"] == [[1, "codelist.sex"], [1, "format.birth_date"]]
    assert got["entropy"] == 0.6931 and got["real"] is True       # the placeholder hands over the real module
    assert got["schema"] == "refused"
