"""Generates a synthetic Cần Thơ demo province (three district workbooks, misgw.yaml, truth.csv) for trying the gateway."""
from __future__ import annotations

import csv
import random
from pathlib import Path

from misgw.demo_districts import ASSESSMENT_YEAR as ASSESSMENT_YEAR
from misgw.demo_districts import DISTRICTS
from misgw.demo_districts import INCOME_LINE as INCOME_LINE
from misgw.demo_districts import INDICATORS as INDICATORS
from misgw.demo_districts import DistrictStyle as DistrictStyle
from misgw.demo_errors import ERROR_RATE as ERROR_RATE
from misgw.demo_errors import RULES as RULES
from misgw.demo_households import Household as Household
from misgw.demo_households import Person as Person
from misgw.demo_households import _commune_households
from misgw.demo_workbooks import _check_headers, _write_workbook

PROVINCE_CODE = "92"
TRUTH_COLUMNS = ["file", "sheet", "row", "household_code", "field", "rule", "description"]


def generate(out_dir: Path, pre2025_csv: Path, seed: int = 2025, households_per_commune: int = 120) -> Path:
    """Write the demo province into out_dir and return the path of its misgw.yaml."""
    from mappings.admin_units import read_pre2025

    out_dir = Path(out_dir)
    _check_headers()
    communes = read_pre2025(Path(pre2025_csv))["commune_pre2025"]
    truth: list[dict] = []
    used_ids: set[str] = set()
    for style in DISTRICTS:
        units = communes[communes["district_code"].astype(str).str.zfill(3) == style.district_code]
        units = units.assign(commune_code=units["commune_code"].astype(str).str.zfill(5))
        units = units.sort_values("commune_code").head(4)
        if len(units) < 4:
            raise ValueError(f"{pre2025_csv}: district {style.district_code} has fewer than 4 communes.")
        rng = random.Random(f"{seed}:{style.slug}")
        households = []
        for unit in units.itertuples(index=False):
            households.append((unit, _commune_households(rng, style, unit, households_per_commune, used_ids)))
        folder = out_dir / "districts" / style.slug
        folder.mkdir(parents=True, exist_ok=True)
        truth.extend(_write_workbook(rng, style, households, folder / style.file_name, used_ids))
    _write_truth(out_dir / "truth.csv", truth)
    return _write_config(out_dir)


# ---------------------------------------------------------------------------------------------
# Config and truth


def _write_truth(path: Path, truth: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=TRUTH_COLUMNS)
        writer.writeheader()
        for t in truth:
            writer.writerow({k: t[k] for k in TRUTH_COLUMNS})


def _write_config(out_dir: Path) -> Path:
    lines = [
        "# Demo province: three Cần Thơ districts as they send their 2025 rosters (synthetic data).",
        "# truth.csv lists every error planted in the workbooks.",
        f'province_code: "{PROVINCE_CODE}"',
        "output_dir: out            # relative to this file",
        "sources:",
    ]
    for style in DISTRICTS:
        lines += [
            f"  - id: cantho-{style.slug}",
            "    kind: spreadsheet",
            f"    path: districts/{style.slug}   # a folder or a file, relative to this file",
            "    mapping: auto",
            '    schedule: "@daily"',
            f'    district_code: "{style.district_code}"',
        ]
    path = out_dir / "misgw.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
