"""Reading a 1,000,000-row district sheet: time and peak memory of the streaming reader against calamine.

    .venv/bin/python bench/read_1m_rows.py [--rows 1000000] [--out bench/results/read_1m_rows.json]

The workbook (one sheet, rows x 13 columns of Vietnamese roster data) is generated once and cached under var/bench/.
Each method runs in a fresh process, so its peak RSS (VmHWM, else ru_maxrss) is its own:

  iter_rows      connectors.xlsx_stream.iter_rows: zipfile + expat, row by row
  calamine       python-calamine to_python(skip_empty_area=False) + spreadsheet._cell, as the gateway's calamine
                 path reads a sheet (spreadsheet._calamine_rows)
  read_sheets    the gateway's entry point, spreadsheet.read_sheets, which streams a sheet whose <dimension> says
                 more than STREAM_ROWS rows
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.xlsx_writer import MAIN_NS, REL_NS, package_parts, shared_strings  # noqa: E402

METHODS = ("iter_rows", "calamine", "read_sheets")
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Thạch", "Lâm"]
MIDDLE = ["Văn", "Thị", "Hữu", "Ngọc", "Minh", "Thanh", "Quốc", "Thị Ngọc", "Văn Hoàng"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hường", "Lan", "Mai", "Nam", "Phúc", "Sơn", "Thảo", "Tuyết", "Ơn", "Ửng",
         "Khánh", "Nghĩa", "Sóc", "Đào"]
RELATIONS = ["Vợ", "Chồng", "Con", "Con", "Con", "Cháu", "Mẹ", "Cha", "Con dâu"]
ETHNIC = ["Kinh"] * 8 + ["Khmer", "Hoa", "Chăm"]
CLASSES = ["Hộ nghèo", "Hộ cận nghèo", "Hộ nghèo", "Hộ mới thoát nghèo"]
NOTES = ["Khuyết tật", "Người cao tuổi cô đơn", "Đi làm ăn xa", "Bảo trợ xã hội"]
HEADER = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
          "Ấp", "Phân loại hộ", "Năm rà soát", "Thu nhập bình quân đầu người", "Ghi chú"]
LETTERS = "ABCDEFGHIJKLM"


def generate(path: Path, rows: int) -> None:
    """Write the sheet XML straight into the zip, with a shared-strings table as Excel does (about 20 s for 1M rows).

    Row 1 is a title, row 2 the header, then one row per person: households of about four, names, relations,
    birth dates as text (dd/mm/yyyy) for two rows in three and as date cells (style 1, dd/mm/yyyy) for the third,
    12-digit ID numbers as inline text, the year and the income as numbers, and an occasional note.
    """
    rnd = random.Random(7)
    strings: dict[str, int] = {}

    def s(text: str) -> str:
        return f'<c t="s"><v>{strings.setdefault(text, len(strings))}</v></c>'

    def r(number: int, cells: list[str]) -> str:
        # Every cell carries its reference (r="C7"), as Excel writes it; an empty string is an empty cell.
        return f'<row r="{number}">' + "".join(f'<c r="{col}{number}"{c[2:]}' for col, c in zip(LETTERS, cells)
                                               if c) + "</row>"

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN_NS}" '
                     f'xmlns:r="{REL_NS}"><dimension ref="A1:M{rows + 2}"/><sheetData>'.encode())
            fh.write(r(1, [s("DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025 - HUYỆN THOẠI SƠN")]).encode())
            fh.write(r(2, [s(h) for h in HEADER]).encode())
            buf = []
            household = 0
            for i in range(1, rows + 1):
                head = i % 4 == 1
                household += head
                year = rnd.randint(1935, 2020)
                month, day = rnd.randint(1, 12), rnd.randint(1, 28)
                if i % 3:
                    born = s(f"{day:02d}/{month:02d}/{year}")
                else:
                    born = f'<c s="1"><v>{(dt.date(year, month, day) - dt.date(1899, 12, 30)).days}</v></c>'
                note = s(rnd.choice(NOTES)) if rnd.random() < 0.05 else ""
                buf.append(r(i + 2, [
                    f"<c><v>{i}</v></c>",
                    s(f"{89000 + household // 5000:05d}-{household:06d}"),
                    s(f"{rnd.choice(FAMILY)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"),
                    s("Chủ hộ" if head else rnd.choice(RELATIONS)),
                    s(rnd.choice(["Nam", "Nữ"])),
                    born,
                    s(rnd.choice(ETHNIC)),
                    f'<c t="inlineStr"><is><t>089{year % 100:02d}{rnd.randrange(10**7):07d}</t></is></c>',
                    s(f"Ấp Phú Hòa {household % 12 + 1}"),
                    s(CLASSES[household % 4]),
                    "<c><v>2025</v></c>",
                    f"<c><v>{rnd.randint(600, 1500) * 1000}</v></c>",
                    note,
                ]))
                if len(buf) == 5000:
                    fh.write("".join(buf).encode())
                    buf.clear()
            fh.write(("".join(buf) + "</sheetData></worksheet>").encode())
        shared_strings(z, strings)
        package_parts(z, ["DS"], styles=f'<?xml version="1.0"?><styleSheet xmlns="{MAIN_NS}"><numFmts count="1">'
                      '<numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts><cellXfs count="2">'
                      '<xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>')
    tmp.rename(path)


def _peak_rss_mb() -> float:
    """This process's own peak RSS: VmHWM belongs to its address space; ru_maxrss can carry the parent's, from fork."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(method: str, path: Path) -> dict:
    """Runs in its own process: read every row, keep none; the time, the peak RSS and a digest of what was read."""
    sys.path.insert(0, str(ROOT))
    from connectors import spreadsheet, xlsx_stream

    started = time.perf_counter()
    if method == "iter_rows":
        rows = xlsx_stream.iter_rows(path, "DS")
    elif method == "calamine":
        from python_calamine import CalamineWorkbook

        rows = spreadsheet._calamine_rows(CalamineWorkbook.from_path(str(path)), path, "DS")
    else:
        rows = (row for sheet in spreadsheet.read_sheets(path) for row in sheet.rows)
    n = cells = 0
    digest = hashlib.sha256()
    for number, values in rows:
        n += 1
        cells += sum(v is not None for v in values)
        if n % 997 == 1:   # a sample of the rows, trailing blanks trimmed (calamine pads rows to the sheet's width)
            while values and values[-1] is None:
                values = values[:-1]
            digest.update(repr((number, values)).encode())
    seconds = time.perf_counter() - started
    return {"method": method, "rows": n, "cells": cells, "sample_sha256": digest.hexdigest()[:16],
            "seconds": round(seconds, 1), "peak_rss_mb": round(_peak_rss_mb())}


def _versions() -> dict:
    from importlib.metadata import version

    return {"python": platform.python_version(), "python-calamine": version("python-calamine")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "read_1m_rows.json")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated, from: " + ", ".join(METHODS))
    ap.add_argument("--measure", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return
    path = ROOT / "var" / "bench" / f"roster_{args.rows}x13_v2.xlsx"
    generated = None
    if not path.exists():
        started = time.perf_counter()
        # In a child too, so this process stays small.
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                        f"from bench.read_1m_rows import generate; from pathlib import Path; "
                        f"generate(Path({str(path)!r}), {args.rows})"], check=True)
        generated = round(time.perf_counter() - started, 1)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {generated} s")
    with zipfile.ZipFile(path) as z:
        sheet_xml_mb = z.getinfo("xl/worksheets/sheet1.xml").file_size / 1e6
    results = []
    for method in args.methods.split(","):
        out = subprocess.run([sys.executable, __file__, "--measure", method, str(path)], capture_output=True,
                             text=True)
        if out.returncode:
            sys.exit(f"{method} failed:\n{out.stderr}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = results[-1]
        print(f"  {method}: {r['seconds']} s, {r['peak_rss_mb']} MB", file=sys.stderr)
    print(f"\n{args.rows:,} rows x 13 columns, {path.stat().st_size / 1e6:.0f} MB xlsx "
          f"({sheet_xml_mb:.0f} MB of sheet XML)\n")
    print(f"{'method':12} {'rows read':>10} {'seconds':>8} {'peak RSS MB':>12}  sample digest")
    for r in results:
        print(f"{r['method']:12} {r['rows']:>10,} {r['seconds']:>8} {r['peak_rss_mb']:>12}  {r['sample_sha256']}")
    digests = {(r["rows"], r["cells"], r["sample_sha256"]) for r in results}
    print("\nall methods read the same rows" if len(digests) == 1 else "\nWARNING: the methods read different rows")
    report = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(),
                    "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
                    "platform": platform.platform(), **_versions()},
        "rows": args.rows, "columns": 13, "file": str(path.relative_to(ROOT)),
        "file_mb": round(path.stat().st_size / 1e6, 1), "sheet_xml_mb": round(sheet_xml_mb, 1),
        "generated_seconds": generated, "same_rows": len(digests) == 1, "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
