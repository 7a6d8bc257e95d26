"""Validating 1,000,000 member rows with the full rule set on one core, and GX COMPLETE versus SQL pushdown.

    .venv/bin/python bench/validate_1m.py [--rows 1000000] [--out bench/results/validate_1m.json]

Needs a PostgreSQL server (MISGW_TEST_DATABASE_URL, else 127.0.0.1:5432): it creates and drops its own
database, loads the official unit tables, and maps a generated roster before it times anything.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

UNITS = ROOT.parent / "shared" / "reference" / "admin-units"
HEADER = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
          "Xã", "Khu vực", "Phân loại hộ", "Năm rà soát", "Thu nhập bình quân đầu người", "Số nhân khẩu",
          "Việc làm", "Dinh dưỡng", "Nhà tiêu hợp vệ sinh"]
COMMUNES = ["Xã Nhơn Ái", "Xã Giai Xuân", "Xã Tân Thới", "Xã Trường Long", "Xã Mỹ Khánh", "Xã Nhơn Nghĩa"]


def roster(rows: int) -> list[list]:
    """Households of 4 (head, wife, two children), about 1% of rows broken in one field."""
    rnd = random.Random(11)
    out = [["DANH SÁCH HỘ NGHÈO NĂM 2025"], HEADER]
    for h in range(rows // 4):
        code = f"H{h:07d}"
        commune = COMMUNES[h % len(COMMUNES)]
        year = rnd.randint(1950, 1990)
        members = [("Nguyễn Văn An", "Chủ hộ", "Nam", year, 0), ("Trần Thị Bình", "Vợ", "Nữ", year + 2, 1),
                   ("Nguyễn Văn Cường", "Con", "Nam", year + 25, 0), ("Nguyễn Thị Dung", "Con", "Nữ", year + 28, 1)]
        for i, (name, rel, sex, y, female) in enumerate(members):
            century = 0 if y < 2000 else 2
            cccd = f"092{century + female}{y % 100:02d}{(h * 4 + i) % 1000000:06d}"
            row = [h * 4 + i + 1, code, name, rel, sex, f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/{y}",
                   "Kinh", cccd, commune, "Nông thôn", "Hộ nghèo", 2025, 1200000, 4, "x", "x", "x"]
            if rnd.random() < 0.01:
                row[rnd.choice([4, 5, 7])] = rnd.choice(["Không rõ", "31/02/1985", "12345"])
            out.append(row)
    return out


def gx_positions(frame: pd.DataFrame) -> tuple[float, int]:
    from expectations.validate import _gx_failures

    started = time.perf_counter()
    found = _gx_failures(frame)()
    return time.perf_counter() - started, len(found)


def sql_positions(engine, frame: pd.DataFrame) -> tuple[float, int]:
    """The same suite pushed down to SQL on a staging table: COPY the columns, one query per expectation."""
    from expectations.gx_suite import suite_spec

    spec = suite_spec()
    cols = sorted({e["kwargs"]["column"] for e in spec["expectations"]})
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE v (pos bigint, " + ", ".join(f'"{c}" text' for c in cols) + ")")
        buf = io.StringIO()
        frame[cols].reset_index(drop=True).to_csv(buf, header=False, index=True)
        with conn.connection.driver_connection.cursor().copy("COPY v FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        parts = []
        for e in spec["expectations"]:
            col = f'"{e["kwargs"]["column"]}"'
            kind = e["type"]
            if kind == "expect_column_values_to_not_be_null":
                where = f"{col} IS NULL"
            elif kind == "expect_column_values_to_match_regex":
                where = f"{col} IS NOT NULL AND {col} !~ " + "'" + e["kwargs"]["regex"].replace("'", "''") + "'"
            else:
                values = ",".join("'" + str(v).replace("'", "''") + "'" for v in e["kwargs"]["value_set"])
                where = f"{col} IS NOT NULL AND {col} NOT IN ({values})"
            parts.append(f"SELECT pos, '{e['meta']['rule']}' AS rule FROM v WHERE {where}")
        n = len(conn.exec_driver_sql(" UNION ALL ".join(parts)).fetchall())
    return time.perf_counter() - started, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "validate_1m.json")
    args = ap.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})     # one core, as the target says

    from bench.scratch_db import scratch_database
    from expectations.validate import judge
    from mappings.roster import map_sheet, translate
    from mappings.vocabulary import load_mapping
    from mis import units
    from misgw.admin_units import import_admin_units

    with scratch_database() as engine:
        import_admin_units(engine, UNITS / "communes-pre-2025.csv", UNITS / "crosswalk-2025-07-01.csv")
        placement = units.placement(engine, "92")
        rows = roster(args.rows)
        mapping = load_mapping(None)
        started = time.perf_counter()
        frame, _ = map_sheet("bench.xlsx", "DS", rows, mapping)
        mapped = translate(frame, mapping, placement, "926", "92")
        map_seconds = time.perf_counter() - started
        del rows, frame
        indicators = {"d_employment", "d_nutrition", "d_latrine"}
        started = time.perf_counter()
        failures, held = judge(mapped, "926", None, indicator_columns=indicators)
        judge_seconds = time.perf_counter() - started
        gx_seconds, gx_found = gx_positions(mapped)
        sql_seconds, sql_found = sql_positions(engine, mapped)
    result = {
        "date": dt.date.today().isoformat(), "machine": {"cores": os.cpu_count(), "pinned_to_cores": 1},
        "rows": len(mapped), "map_seconds": round(map_seconds, 1),
        "full_rule_set_seconds": round(judge_seconds, 1), "failures": len(failures),
        "households_held": int(mapped.loc[held, "household_code"].nunique()),
        "gx_complete_rangeindex_seconds": round(gx_seconds, 1), "gx_failures": gx_found,
        "sql_pushdown_seconds": round(sql_seconds, 1), "sql_failures": sql_found,
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
