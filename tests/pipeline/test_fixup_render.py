"""The fix-up workbook as district staff print and read it: rendered by LibreOffice to PDF, then to PNG."""
from __future__ import annotations

import subprocess
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from test_fixup_edits import FIX, KEY, ROSTER, first_round  # noqa: F401  (first_round is a fixture)
from test_pipeline import mis_db  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"


def _pages(pdf: Path) -> list[str]:
    count = int(next(line.split()[-1] for line in subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                                  text=True, check=True).stdout.splitlines()
                     if line.startswith("Pages:")))
    return [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout for n in range(1, count + 1)]


def _size(pdf: Path, page: int) -> tuple[float, float]:
    out = subprocess.run(["pdfinfo", "-f", str(page), "-l", str(page), str(pdf)], capture_output=True, text=True,
                         check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith(f"Page    {page} size:") or
                (line.startswith("Page") and "size:" in line))
    width, height = line.split("size:")[1].split("pts")[0].split(" x ")
    return float(width), float(height)


def test_the_fixup_workbook_prints_landscape_with_code_name_and_reason_on_its_first_page(first_round, tmp_path):
    cfg, out = first_round
    wb = load_workbook(out)
    ws = wb[FIX]
    headers = {c.value: c.column for c in ws[1]}
    # Widths fit the content: the household code, the 12-digit ID and the names are never cut off.
    width = {h: ws.column_dimensions[get_column_letter(c)].width for h, c in headers.items()}
    assert width["Số CCCD"] >= 12 and width["Mã HGĐ"] >= len("GX-07") and width["Họ tên"] >= len("Thạch Thị Sa Rết")
    assert ws.column_dimensions[get_column_letter(headers[KEY])].hidden
    assert [c.value for c in ws[1]][:3] == ["Mã HGĐ", "Họ tên", "Lý do cần sửa"] and ws.freeze_panes == "D2"
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(headers))}{ws.max_row}"
    # Dates are dates and numbers are numbers; an impossible date stays as written for the person to fix.
    births = [ws.cell(r, headers["Ngày sinh"]) for r in range(2, ws.max_row + 1)]
    assert all(c.is_date and c.number_format == "DD/MM/YYYY" for c in births if c.value != "30/02/1972")
    assert all(isinstance(ws.cell(r, headers["Thu nhập bình quân đầu người"]).value, int)
               for r in range(2, ws.max_row + 1))
    assert all(ws.cell(r, headers["Số CCCD"]).data_type == "s" for r in range(2, ws.max_row + 1))

    pdf_dir = tmp_path / "pdf"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
                    "--convert-to", "pdf", "--outdir", str(pdf_dir), str(out)], check=True, capture_output=True,
                   timeout=180)
    pdf = pdf_dir / (out.stem + ".pdf")
    pages = _pages(pdf)
    # The instructions print on one page, in portrait; the records to fix start on the next page.
    assert "HƯỚNG DẪN SỬA HỒ SƠ" in pages[0] and "GX-07" not in pages[0]
    first = next(n for n, text in enumerate(pages) if "GX-07" in text)
    assert first == 1, [p[:200] for p in pages]
    assert _size(pdf, 1)[0] < _size(pdf, 1)[1]                 # the instructions: portrait
    w, h = _size(pdf, first + 1)
    assert w > h, (w, h)                                       # landscape
    text = pages[first]
    for row in ROSTER[:5]:                                     # every held row: code, name and full ID
        assert row[0] in text and row[1] in text and row[6] in text, (row, text)
    assert "Tệp gốc" in text                                   # fitted to the page's width
    assert "Mã dòng" not in text                               # the hidden key column does not print
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "fixup-workbook-page"
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", str(first + 1), "-l", str(first + 1), "-singlefile",
                    str(pdf), str(shot)], check=True)
    assert shot.with_suffix(".png").stat().st_size > 10_000
    print(f"\nfix-up workbook page rendered by LibreOffice: {shot.with_suffix('.png')}")
