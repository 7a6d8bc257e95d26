"""A province's full sync measured beside the fastest possible and a naive pipeline: one command, a table and JSON.

    .venv/bin/python bench/province.py --size L        # S (10k members), M (100k) or L (1.2M)

The province is Cần Thơ (92) before the 2025 reform: its nine districts. Eight send workbooks (the
first district two, one per half of its communes: nine workbooks), the ninth keeps its roster in a
legacy database read over ODBC (SQLite3 driver). Households of two to six people with CCCDs whose
digits agree with them, children without an ID, incomes within the poverty line, and 0.2% of
households with an impossible birth date (rejected, as districts' files always have some).
Data are generated once per size under var/bench/.

Each measurement runs in its own process on a new database (MISGW_TEST_DATABASE_URL, else the
PostgreSQL on 127.0.0.1:5432); its memory is that of its whole process tree (the PostgreSQL server's
own processes are not counted): RSS summed, PSS summed, and the largest process's RSS:

  dry run        `misgw sync --source d917 --dry-run` on the MIS with only its units: one workbook judged
                 (11,112 members at M), its rejects and fix-up workbook written, nothing loaded; run
                 DRY_RUNS times, each on its own copy of that MIS: the median, and every run's seconds
  full sync      `misgw sync --workers CORES` of every source into an empty MIS (the units imported first);
                 its stage times are summed over the sources (they overlap when sources run side by side)
  no change      the same again: nothing changed at any source
  1% changed     1% of households changed (an income) in every workbook and in the database
  lower bound    python-calamine reads the same workbooks (and sqlite3 the database), then one COPY
                 of as many rows into an unlogged table: nothing that reads and writes them is faster
  naive          pandas read_excel (openpyxl) and read_sql, one GX COMPLETE validation with
                 unexpected_index_column_names, pandas to_sql: what a team would write in a week
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKERS = os.cpu_count() or 1        # `misgw sync --workers`: one source per core at a time
SIZES = {"S": 10_000, "M": 100_000, "L": 1_200_000}
PROVINCE = "92"
UNITS = ROOT.parent / "shared" / "reference" / "admin-units"
HEADER = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
          "Mã xã", "Ấp", "Phân loại hộ", "Năm rà soát", "Thu nhập bình quân đầu người"]
DB_COLUMNS = ["MaHo", "HoTen", "QuanHe", "GioiTinh", "NgaySinh", "DanToc", "SoCCCD", "MaXa", "Ap", "PhanLoai",
              "NamRaSoat", "ThuNhap"]
DB_TABLE = "HoNgheo"
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lâm", "Trương"]
MALE = ["An", "Bình", "Cường", "Dũng", "Hùng", "Khánh", "Long", "Minh", "Nam", "Phúc", "Quang", "Sơn", "Tài",
        "Thắng", "Tuấn", "Việt", "Nghĩa", "Hiếu", "Lộc", "Phát"]
FEMALE = ["Anh", "Bích", "Chi", "Dung", "Hạnh", "Hoa", "Hường", "Lan", "Liên", "Mai", "Ngọc", "Nhung", "Oanh",
          "Phượng", "Thảo", "Trang", "Tuyết", "Vân", "Yến", "Xuân"]
MIDDLE_M = ["Văn", "Hữu", "Minh", "Quốc", "Thanh", "Công", "Đức"]
MIDDLE_F = ["Thị", "Ngọc", "Thị Ngọc", "Thanh", "Kim", "Thị Kim"]
ETHNIC = ["Kinh"] * 9 + ["Khmer", "Hoa"]
ID_PREFIXES = ["092", "093", "094", "089", "086", "079", "087", "083", "084", "080"]   # one per district


# ------------------------------------------------------------------ data
def districts() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(district code, name, [(commune code, name)]) of the province, from the official table."""
    from mappings.admin_units import read_pre2025

    t = read_pre2025(UNITS / "communes-pre-2025.csv")
    d, c = t["district_pre2025"], t["commune_pre2025"]
    d = d[d["province_code"].astype(str).str.zfill(2) == PROVINCE].sort_values("district_code")
    out = []
    for code, name in zip(d["district_code"].astype(str).str.zfill(3), d["name"]):
        cs = c[c["district_code"].astype(str).str.zfill(3) == code].sort_values("commune_code")
        out.append((code, name, list(zip(cs["commune_code"].astype(str).str.zfill(5), cs["name"]))))
    return out


def households(district: str, number: int, communes: list, members: int, changed: bool):
    """Rows of one district (the number-th), household by household: (household_code, [member rows])."""
    rng = random.Random(f"misgw-bench:{district}")
    n = person = 0
    while person < members:
        code, commune_name = communes[n % len(communes)]
        urban = commune_name.startswith(("Phường", "Thị trấn"))
        hh = f"{code}-{n // len(communes):05d}"
        size = rng.choice([2, 3, 4, 4, 5, 6])
        family = rng.choice(FAMILY)
        head_male = rng.random() < 0.7
        head_year = rng.randint(1950, 1990)
        poor = rng.random() < 0.6
        income = rng.randint(60, 140) * 10_000 + (10_000 if changed and n % 100 == 0 else 0)
        hamlet = f"Ấp {rng.randint(1, 12)}"
        rows, used = [], set()
        for k in range(size):
            if k == 0:
                sex, year, relation = ("Nam" if head_male else "Nữ"), head_year, "Chủ hộ"
            elif k == 1:
                sex = "Nữ" if head_male else "Nam"
                year, relation = head_year + rng.randint(-4, 4), ("Vợ" if head_male else "Chồng")
            else:
                sex, year, relation = rng.choice(["Nam", "Nữ"]), min(head_year + rng.randint(20, 35), 2024), "Con"
            given = rng.choice([g for g in (MALE if sex == "Nam" else FEMALE) if g not in used])
            used.add(given)
            middle = rng.choice(MIDDLE_M if sex == "Nam" else MIDDLE_F)
            surname = family if k != 1 else rng.choice(FAMILY)
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            born = f"{day:02d}/{month:02d}/{year}"
            if n % 500 == 7 and k == size - 1:
                born = f"31/02/{year}"                     # planted: an impossible date, rejected
            cccd = None
            if year < 2012:                                # children without an ID yet
                digit = (0 if year < 2000 else 2) + (sex == "Nữ")
                serial = number * 1_000_000 + person           # unique across the province's districts
                cccd = f"{ID_PREFIXES[serial // 1_000_000 % len(ID_PREFIXES)]}{digit}{year % 100:02d}{serial % 1_000_000:06d}"
                # 9 districts x 1,000,000 serials over 6 prefixes and the birth year: no two people share one
            rows.append([hh, f"{surname} {middle} {given}", relation, sex, born, rng.choice(ETHNIC), cccd, code,
                         hamlet, "Hộ nghèo" if poor else "Hộ cận nghèo", 2025,
                         income if not urban else income + 300_000])
            person += 1
        n += 1
        yield hh, rows


def generate(folder: Path, size: str, changed: bool = False) -> dict:
    """The province's sources in folder (workbooks, the SQLite database, misgw.yaml); returns counts."""
    from bench.xlsx_writer import write_workbook

    total = SIZES[size]
    units = districts()
    per_district = total // len(units)
    folder.mkdir(parents=True, exist_ok=True)
    sources, counts = [], {"members": 0, "households": 0, "workbooks": 0}
    for i, (code, name, communes) in enumerate(units):
        hhs = list(households(code, i, communes, per_district, changed))
        counts["households"] += len(hhs)
        counts["members"] += sum(len(r) for _, r in hhs)
        sid = f"d{code}"
        if i == len(units) - 1:
            db_file = folder / f"{sid}.sqlite"
            db_file.unlink(missing_ok=True)
            con = sqlite3.connect(db_file)
            con.execute(f"CREATE TABLE {DB_TABLE} (ID INTEGER PRIMARY KEY, "
                        + ", ".join(f"{c} {'INTEGER' if c in ('NamRaSoat', 'ThuNhap') else 'TEXT'}" for c in DB_COLUMNS)
                        + ")")
            con.executemany(f"INSERT INTO {DB_TABLE} ({', '.join(DB_COLUMNS)}) VALUES ({', '.join('?' * len(DB_COLUMNS))})",
                            (r for _, rows in hhs for r in rows))
            con.commit()
            con.close()
            sources.append({"id": sid, "kind": "odbc", "conn_id": "bench_district_db", "table": DB_TABLE, "key": "ID",
                            "household_column": "MaHo", "district_code": code})
            continue
        out = folder / sid
        parts = [hhs[: len(hhs) // 2], hhs[len(hhs) // 2:]] if i == 0 else [hhs]
        for j, part in enumerate(parts, start=1):
            def rows(part=part):
                yield [f"DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025 - {name.upper()}"]
                yield HEADER
                stt = 0
                for _, members in part:
                    for m in members:
                        stt += 1
                        yield [stt, *m]
            write_workbook(out / f"danh-sach-{j}.xlsx", [("Danh sách", rows())], len(HEADER))
            counts["workbooks"] += 1
        sources.append({"id": sid, "kind": "spreadsheet", "path": sid, "district_code": code})
    import yaml

    (folder / "misgw.yaml").write_text(yaml.safe_dump(
        {"province_code": PROVINCE, "output_dir": "out", "approval_threshold": 1.0, "sources": sources},
        allow_unicode=True, sort_keys=False), encoding="utf-8")
    (folder / "counts.json").write_text(json.dumps({**counts, "changed": changed}))
    return counts


def db_env(folder: Path) -> dict:
    db_file = next(folder.glob("*.sqlite"))
    return {"AIRFLOW_CONN_BENCH_DISTRICT_DB": json.dumps(
        {"conn_type": "odbc", "extra": {"driver": "SQLite3", "Database": str(db_file)}})}


# ------------------------------------------------------------------ measuring
def watch(cmd: list[str], env: dict, cwd: Path | None = None) -> dict:
    """Run cmd; its wall time and the peak memory of its whole process tree, sampled every 0.2 s: the sum
    of the processes' RSS (pages shared by forked workers counted in each), the sum of their PSS
    (shared pages split between the processes that share them: the tree's real footprint), and the
    largest single process's RSS."""
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"rss": 0, "pss": 0, "one": 0}

    def sample():
        try:
            root = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    tree = [root, *root.children(recursive=True)]
                    info = [p.memory_full_info() for p in tree]
                    peak["rss"] = max(peak["rss"], sum(i.rss for i in info))
                    peak["pss"] = max(peak["pss"], sum(i.pss for i in info))
                    peak["one"] = max(peak["one"], max(i.rss for i in info))
                except psutil.Error:
                    pass
                time.sleep(0.2)
        except psutil.Error:
            pass

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    t.join()
    seconds = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"{' '.join(cmd[:4])} failed ({proc.returncode}):\n{err[-4000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak["rss"] / 1e6), "peak_pss_mb": round(peak["pss"] / 1e6),
            "peak_process_rss_mb": round(peak["one"] / 1e6), "stdout": out, "stderr": err}


def sync(folder: Path, url: str, label: str) -> dict:
    env = dict(os.environ, MISGW_DATABASE_URL=url, **db_env(folder))
    r = watch([sys.executable, "-m", "misgw.cli", "sync", "--config", str(folder / "misgw.yaml"), "--json",
               "--workers", str(WORKERS)], env)
    runs = json.loads(r["stdout"])
    failed = [f"{x['source_id']}: {x['error']}" for x in runs if x["status"] not in ("success",)]
    if failed:
        sys.exit(f"{label}: sources failed:\n" + "\n".join(failed))
    stages: dict[str, float] = {}
    for x in runs:
        for k, v in x["stage_seconds"].items():
            stages[k] = round(stages.get(k, 0) + v, 1)
    rows = sum(x["rows_read"] for x in runs)
    return {"label": label, "seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"], "peak_pss_mb": r["peak_pss_mb"],
            "peak_process_rss_mb": r["peak_process_rss_mb"], "rows_read": rows,
            "members_accepted": sum(x["members_accepted"] for x in runs),
            "rows_rejected": sum(x["rows_rejected"] for x in runs),
            "households": {k: sum(x["reconcile"].get(k, 0) for x in runs)
                           for k in ("new", "changed", "unchanged", "moved", "missing", "conflict")},
            "stage_seconds": stages}


def dry_run(folder: Path, url: str, source: str = "d917") -> dict:
    """`misgw sync --source d917 --dry-run`: one workbook judged, its rejects and fix-up workbook written,
    nothing loaded; what a district officer waits for with a corrected file (11,112 members at M)."""
    env = dict(os.environ, MISGW_DATABASE_URL=url, **db_env(folder))
    r = watch([sys.executable, "-m", "misgw.cli", "sync", "--config", str(folder / "misgw.yaml"), "--json",
               "--source", source, "--dry-run"], env)
    [run] = json.loads(r["stdout"])
    if run["status"] != "success":
        sys.exit(f"dry run: {run['error']}")
    return {"label": f"dry run of {source}", "seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"],
            "peak_pss_mb": r["peak_pss_mb"], "peak_process_rss_mb": r["peak_process_rss_mb"],
            "rows_read": run["rows_read"], "rows_rejected": run["rows_rejected"], "stage_seconds": run["stage_seconds"]}


DRY_RUNS = 5


def dry_runs(folder: Path, engine, n: int = DRY_RUNS) -> dict:
    """The dry run n times, each on its own copy of the MIS with only its units (a database made from it as
    a template, dropped after): the median run, with every run's seconds. This machine's speed varies by
    10-30% from one run to the next, and a dry run is three seconds: one run says little."""
    import sqlalchemy as sa

    engine.dispose()     # a template has no other sessions
    admin = sa.create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    runs = []
    try:
        for i in range(n):
            name = f"{engine.url.database}_dry{i}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{engine.url.database}"')
            try:
                runs.append(dry_run(folder, engine.url.set(database=name).render_as_string(hide_password=False)))
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
    median = sorted(runs, key=lambda r: r["seconds"])[n // 2]
    return {**median, "label": f"dry run of d917, median of {n}", "runs_seconds": [r["seconds"] for r in runs]}


def lower_bound(folder: str, url: str) -> dict:
    """In its own process: calamine reads every workbook, sqlite3 the database; one COPY of the rows."""
    import csv
    import io

    import psycopg
    from python_calamine import CalamineWorkbook

    folder = Path(folder)
    started = time.perf_counter()
    buf = io.StringIO()
    w = csv.writer(buf)
    n = 0
    for path in sorted(folder.glob("*/*.xlsx")):
        wb = CalamineWorkbook.from_path(str(path))
        for name in wb.sheet_names:
            for row in wb.get_sheet_by_name(name).iter_rows():
                w.writerow(row[:13])
                n += 1
    con = sqlite3.connect(next(folder.glob("*.sqlite")))
    for row in con.execute(f"SELECT * FROM {DB_TABLE}"):
        w.writerow(row)
        n += 1
    read = time.perf_counter() - started
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as pg:
        pg.execute("DROP TABLE IF EXISTS lower_bound")
        pg.execute("CREATE UNLOGGED TABLE lower_bound (" + ", ".join(f"c{i} text" for i in range(13)) + ")")
        with pg.cursor().copy("COPY lower_bound FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
    return {"rows": n, "read_seconds": round(read, 1), "copy_seconds": round(time.perf_counter() - started - read, 1)}


def naive(folder: str, url: str) -> dict:
    """In its own process: read_excel + read_sql, GX COMPLETE with unexpected_index_column_names, to_sql."""
    import logging

    import great_expectations as gx
    import pandas as pd
    import sqlalchemy as sa

    logging.disable(logging.WARNING)
    folder = Path(folder)
    t0 = time.perf_counter()
    frames = [pd.read_excel(p, engine="openpyxl", header=1, dtype=str) for p in sorted(folder.glob("*/*.xlsx"))]
    con = sqlite3.connect(next(folder.glob("*.sqlite")))
    db = pd.read_sql(f"SELECT * FROM {DB_TABLE}", con).drop(columns="ID").astype(str)
    db.columns = HEADER[1:]
    frame = pd.concat([f.drop(columns="STT") for f in frames] + [db], ignore_index=True)
    t1 = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    batch = context.data_sources.add_pandas("naive").add_dataframe_asset("roster") \
        .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name="naive")
    for e in [gx.expectations.ExpectColumnValuesToNotBeNull(column="Họ và tên"),
              gx.expectations.ExpectColumnValuesToMatchRegex(column="Số CCCD", regex=r"^\d{12}$", mostly=0.5),
              gx.expectations.ExpectColumnValuesToBeInSet(column="Giới tính", value_set=["Nam", "Nữ"]),
              gx.expectations.ExpectColumnValuesToMatchRegex(column="Ngày sinh", regex=r"^\d{2}/\d{2}/\d{4}$"),
              gx.expectations.ExpectColumnValuesToBeInSet(column="Phân loại hộ",
                                                          value_set=["Hộ nghèo", "Hộ cận nghèo"])]:
        suite.add_expectation(e)
    result = batch.validate(suite, result_format={"result_format": "COMPLETE",
                                                  "unexpected_index_column_names": ["Mã hộ"]})
    failed = sum(len(r.result.get("unexpected_index_list") or []) for r in result.results)
    t2 = time.perf_counter()
    engine = sa.create_engine(url)
    frame.to_sql("naive_roster", engine, if_exists="replace", index=False, chunksize=10_000)
    t3 = time.perf_counter()
    return {"rows": len(frame), "unexpected": failed, "read_seconds": round(t1 - t0, 1),
            "validate_seconds": round(t2 - t1, 1), "write_seconds": round(t3 - t2, 1)}


def in_child(func: str, folder: Path, url: str) -> dict:
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from bench.province import {func}; "
            f"print(json.dumps({func}({str(folder)!r}, {url!r})))")
    r = watch([sys.executable, "-c", code], dict(os.environ))
    return {**json.loads(r["stdout"].strip().splitlines()[-1]),
            **{k: r[k] for k in ("seconds", "peak_rss_mb", "peak_pss_mb", "peak_process_rss_mb")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=list(SIZES), default="S")
    ap.add_argument("--skip-naive", action="store_true", help="leave out the naive pipeline (it is slow)")
    ap.add_argument("--out", type=Path, help="JSON results (default bench/results/province_SIZE.json)")
    args = ap.parse_args()
    out = args.out or ROOT / "bench" / "results" / f"province_{args.size}.json"
    folder = ROOT / "var" / "bench" / f"province-{args.size}"
    counts_file = folder / "counts.json"
    if not counts_file.exists() or json.loads(counts_file.read_text())["changed"]:
        t = time.perf_counter()
        counts = generate(folder, args.size)
        print(f"generated {folder} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    counts = json.loads(counts_file.read_text())
    print(f"size {args.size}: {counts['members']:,} members in {counts['households']:,} households; "
          f"{counts['workbooks']} workbooks and 1 ODBC database", file=sys.stderr)

    from bench.scratch_db import scratch_database

    results: dict = {}
    with scratch_database() as engine:
        url = engine.url.render_as_string(hide_password=False)
        env = dict(os.environ, MISGW_DATABASE_URL=url)
        subprocess.run([sys.executable, "-m", "misgw.cli", "admin-units", "import"], env=env, check=True,
                       capture_output=True)
        print("dry run ...", file=sys.stderr)
        results["dry_run"] = dry_runs(folder, engine)
        print("full sync ...", file=sys.stderr)
        results["full"] = sync(folder, url, "full sync")
        print("no change ...", file=sys.stderr)
        results["no_change"] = sync(folder, url, "no change")
        generate(folder, args.size, changed=True)
        print("1% changed ...", file=sys.stderr)
        results["changed_1pct"] = sync(folder, url, "1% changed")
        generate(folder, args.size)          # back to the first roster for the references and the next run
        print("lower bound ...", file=sys.stderr)
        results["lower_bound"] = in_child("lower_bound", folder, url)
        if not args.skip_naive:
            print("naive pipeline ...", file=sys.stderr)
            results["naive"] = in_child("naive", folder, url)
    full, lb = results["full"], results["lower_bound"]
    ratios = {"full_over_lower_bound": round(full["seconds"] / lb["seconds"], 2),
              "no_change_over_full": round(results["no_change"]["seconds"] / full["seconds"], 3),
              "changed_1pct_over_full": round(results["changed_1pct"]["seconds"] / full["seconds"], 3)}
    if "naive" in results:
        ratios["naive_over_full"] = round(results["naive"]["seconds"] / full["seconds"], 2)
    report = {"date": dt.date.today().isoformat(), "size": args.size, **counts,
              "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                          "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3)},
              "results": results, "ratios": ratios}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(table(report))
    print(f"wrote {out}")


def table(report: dict) -> str:
    r, q = report["results"], report["ratios"]
    lines = [f"{report['size']}: {report['members']:,} members, {report['households']:,} households "
             f"({report['date']}, {report['machine']['cores']} cores)", "",
             f"{'measurement':14} {'seconds':>8} {'rows/s':>9} {'RSS MB':>7} {'PSS MB':>7} {'1 proc':>7}  detail"]
    for key, label in [("dry_run", "dry run d917"), ("full", "full sync"), ("no_change", "no change"), ("changed_1pct", "1% changed"),
                       ("lower_bound", "lower bound"), ("naive", "naive")]:
        if key not in r:
            continue
        x = r[key]
        detail = ", ".join(f"{k} {v}" for k, v in x.get("stage_seconds", {}).items()) or \
            ", ".join(f"{k.replace('_seconds', '')} {v}" for k, v in x.items() if k.endswith("_seconds"))
        n = x["rows_read"] if key == "dry_run" else report["members"]
        lines.append(f"{label:14} {x['seconds']:>8} {n / x['seconds']:>9,.0f} {x['peak_rss_mb']:>7} "
                     f"{x.get('peak_pss_mb', '')!s:>7} {x.get('peak_process_rss_mb', '')!s:>7}  {detail}")
    lines += ["", "  ".join(f"{k} {v}" for k, v in q.items())]
    if "runs_seconds" in r.get("dry_run", {}):
        lines.append(f"dry runs (each on its own copy of the MIS): {', '.join(map(str, r['dry_run']['runs_seconds']))} s")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
