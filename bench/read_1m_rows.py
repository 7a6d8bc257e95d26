"""Reading a 1,000,000-row district sheet: time and peak memory of the gateway's reader vs calamine whole-sheet.

    .venv/bin/python bench/read_1m_rows.py [--rows 1000000] [--out bench/results/read_1m_rows.json]

Each method runs in a fresh process, so its peak RSS is its own.
"""
from __future__ import annotations

import argparse
import datetime as dt
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
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Thạch"]
MIDDLE = ["Văn", "Thị", "Hữu", "Ngọc", "Minh", "Thanh", "Quốc"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hường", "Lan", "Mai", "Nam", "Phúc", "Sơn", "Thảo", "Tuyết", "Ơn"]
HEADER = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
          "Ấp", "Phân loại hộ", "Năm rà soát", "Thu nhập bình quân đầu người", "Ghi chú"]


def generate(path: Path, rows: int) -> None:
    """Write the sheet XML directly with a shared-strings table, as Excel does; about a minute for 1M rows."""
    rnd = random.Random(7)
    strings: dict[str, int] = {}

    def s(text: str) -> str:
        idx = strings.setdefault(text, len(strings))
        return f'<c t="s"><v>{idx}</v></c>'

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.'
                      'openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:M%d"/><sheetData>'
                      % (rows + 2)).encode())
            fh.write(("<row>" + s("DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025") + "</row>").encode())
            fh.write(("<row>" + "".join(s(h) for h in HEADER) + "</row>").encode())
            buf = []
            for i in range(1, rows + 1):
                hh = f"{31300 + i // 40000}-{i // 4:06d}"
                year = rnd.randint(1935, 2020)
                name = f"{rnd.choice(FAMILY)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"
                cells = [f"<c><v>{i}</v></c>", s(hh), s(name), s("Chủ hộ" if i % 4 == 1 else "Con"),
                         s(rnd.choice(["Nam", "Nữ"])),
                         s(f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/{year}") if i % 3 else
                         f'<c s="1"><v>{(dt.date(year, 6, 1) - dt.date(1899, 12, 30)).days}</v></c>',
                         s("Kinh"), f'<c t="inlineStr"><is><t>092{year % 100:02d}{i:07d}</t></is></c>',
                         s(f"Ấp Nhơn Lộc {i % 9}"), s("Hộ nghèo"), "<c><v>2025</v></c>",
                         f"<c><v>{rnd.randint(600, 1500) * 1000}</v></c>", ""]
                buf.append("<row>" + "".join(cells) + "</row>")
                if len(buf) == 5000:
                    fh.write("".join(buf).encode())
                    buf.clear()
            fh.write(("".join(buf) + "</sheetData></worksheet>").encode())
        z.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                   'openxmlformats.org/spreadsheetml/2006/main">' +
                   "".join(f"<si><t>{escape(t)}</t></si>" for t in strings) + "</sst>")
        z.writestr("xl/styles.xml", '<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/'
                   'spreadsheetml/2006/main"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>'
                   '</styleSheet>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                   'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                   'relationships"><sheets><sheet name="DS" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                   'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                   '</Relationships>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override '
                   'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                   '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override '
                   'PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')
    tmp.rename(path)


def measure(method: str, path: str) -> None:
    """Runs in its own process: read every row, print seconds, rows and peak RSS."""
    started = time.perf_counter()
    n = 0
    if method == "gateway":
        sys.path.insert(0, str(ROOT))
        from connectors.spreadsheet import read_sheets

        for sheet in read_sheets(Path(path)):
            for _ in sheet.rows:
                n += 1
    else:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(path)
        for name in wb.sheet_names:
            n += len(wb.get_sheet_by_name(name).to_python())
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"method": method, "rows": n, "seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "read_1m_rows.json")
    ap.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    path = ROOT / "var" / "bench" / f"sheet_{args.rows}.xlsx"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")
    results = []
    for method in ("gateway", "calamine_whole_sheet"):
        out = subprocess.run([sys.executable, __file__, "--measure", method, str(path)], capture_output=True,
                             text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'method':24} {'rows':>9} {'seconds':>8} {'peak RSS MB':>12}")
    for r in results:
        print(f"{r['method']:24} {r['rows']:>9} {r['seconds']:>8} {r['peak_rss_mb']:>12}")
    report = {"date": dt.date.today().isoformat(), "machine": {"cores": os.cpu_count(),
              "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3),
              "python": platform.python_version()}, "rows": args.rows, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
