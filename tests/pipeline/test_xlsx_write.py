"""The workbook writer of the fix-up workbooks (misgw.xlsx_write), read back as district staff's tools read it:
openpyxl (what Excel keeps), the gateway's own reader (what comes back), and LibreOffice."""
from __future__ import annotations

import datetime as dt
import subprocess
import zipfile
from decimal import Decimal

import pandas as pd
from openpyxl import load_workbook

from misgw.xlsx_write import Cell, Sheet, Style, column_letter, write_workbook

HIGHLIGHT = Style(fill="FFF2A8", number_format="DD/MM/YYYY")


def _workbook(path):
    rows = [
        ([Cell("Mã hộ", Style(bold=True, fill="D9E1F2", wrap=True)), Cell("Ghi chú", Style(bold=True))], 45),
        (["  Lê Văn A  ", "dòng 1\ndòng 2", "<b>&\"'", "=SUM(A1:A3)", "+84 912", "@x", None, ""], None),
        ([7, 2.5, float("nan"), True, Decimal("1150000"), pd.NA, dt.date(1969, 7, 4), dt.datetime(2025, 7, 1, 8, 30)],
         None),
        ([Cell(dt.datetime(1972, 2, 28), HIGHLIGHT, comment="Ngày sinh «30/02/1972» không có thật.",
               comment_size=(320, 120)),
          Cell(None, Style(fill="FFF2A8"), comment="Ô trống cần ghi giới tính."),
          Cell(1_150_000, Style(number_format="#,##0")), Cell("012345678901", Style(number_format="@"))], 30),
    ]
    hidden = [(["key", "value"], None)] + [([f"K{n:05d}", n], None) for n in range(3000)]
    write_workbook(path, [
        Sheet("Hướng dẫn", [([Cell("HƯỚNG DẪN", Style(bold=True, size=14))], None)], widths=[110],
              page={"orientation": "portrait", "paperSize": 9, "fitToWidth": 1, "fitToHeight": 1}),
        Sheet("Cần sửa", iter(rows), widths=[13, 24, 60, 9, 12, 8, 12, 20], hidden_columns=frozenset({7}),
              freeze=(2, 1), autofilter=True, print_titles="1:1",
              page={"orientation": "landscape", "paperSize": 9, "fitToWidth": 1, "fitToHeight": 0}),
        Sheet("_misgw", iter(hidden), hidden=True),
    ], active=1)


def test_values_styles_notes_and_layout_read_back_as_written(tmp_path):
    path = tmp_path / "sua-loi.xlsx"
    _workbook(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Hướng dẫn", "Cần sửa", "_misgw"] and wb.active.title == "Cần sửa"
    ws = wb["Cần sửa"]
    # Text exactly as given (spaces, line breaks, markup characters); text that looks like a formula stays text.
    assert [c.value for c in ws[2]][:6] == ["  Lê Văn A  ", "dòng 1\ndòng 2", "<b>&\"'", "=SUM(A1:A3)", "+84 912", "@x"]
    assert ws["D2"].data_type == "s"
    assert ws["G2"].value is None and ws["H2"].value is None
    # Numbers, booleans, dates; a NaN or pandas' NA is an empty cell.
    assert [c.value for c in ws[3]] == [7, 2.5, None, True, 1150000, None, dt.datetime(1969, 7, 4),
                                        dt.datetime(2025, 7, 1, 8, 30)]
    assert ws["G3"].is_date and ws["H3"].is_date
    # Styles: bold header with its fill, a highlighted date keeps its format, an empty highlighted cell is kept.
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb == "00D9E1F2" and ws["A1"].alignment.wrap_text
    assert ws["A4"].fill.fgColor.rgb == "00FFF2A8" and ws["A4"].number_format == "DD/MM/YYYY" and ws["A4"].is_date
    assert ws["B4"].fill.fgColor.rgb == "00FFF2A8" and ws["B4"].value is None
    assert ws["C4"].number_format == "#,##0" and ws["D4"].number_format == "@" and ws["D4"].value == "012345678901"
    assert wb["Hướng dẫn"]["A1"].font.b and wb["Hướng dẫn"]["A1"].font.sz == 14
    # Notes on the cells they explain.
    assert ws["A4"].comment.text == "Ngày sinh «30/02/1972» không có thật."
    assert ws["B4"].comment.text == "Ô trống cần ghi giới tính." and ws["C4"].comment is None
    # Layout: widths, the hidden key column, frozen panes, the filter, printed titles, page setup, heights.
    assert ws.column_dimensions["C"].width == 60 and ws.column_dimensions["H"].hidden
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref == "A1:H4"
    assert ws.print_title_rows == "$1:$1"
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.row_dimensions[1].height == 45 and ws.row_dimensions[4].height == 30
    hidden = wb["_misgw"]
    assert hidden.sheet_state == "hidden" and hidden.max_row == 3001 and hidden["A3001"].value == "K02999"
    assert hidden["B3001"].value == 2999


def test_the_gateways_own_reader_reads_it_back(tmp_path):
    """What a returned workbook is read with (calamine): the same values, the formula-like text as text."""
    from python_calamine import CalamineWorkbook

    path = tmp_path / "sua-loi.xlsx"
    _workbook(path)
    book = CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name("Cần sửa").to_python()
    assert rows[1][:6] == ["  Lê Văn A  ", "dòng 1\ndòng 2", "<b>&\"'", "=SUM(A1:A3)", "+84 912", "@x"]
    assert rows[3][3] == "012345678901"
    assert book.get_sheet_by_name("_misgw").to_python()[-1] == ["K02999", 2999.0]


def test_libreoffice_opens_it_and_keeps_the_notes(tmp_path):
    """LibreOffice (what many offices use) opens the workbook and saves it again with its notes and values."""
    path = tmp_path / "sua-loi.xlsx"
    _workbook(path)
    out = tmp_path / "saved"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(path)], check=True, capture_output=True,
                   timeout=180)
    wb = load_workbook(out / path.name)
    ws = wb["Cần sửa"]
    assert ws["A4"].comment is not None and "30/02/1972" in ws["A4"].comment.text
    assert ws["A2"].value == "  Lê Văn A  " and ws["D2"].value == "=SUM(A1:A3)" and ws["D2"].data_type == "s"
    # (Its headless conversion drops every workbook's frozen panes, openpyxl's too: not checked here.)
    assert wb["_misgw"].sheet_state == "hidden" and ws.column_dimensions["H"].hidden


def test_parts_are_streamed_and_named_as_excel_names_them(tmp_path):
    path = tmp_path / "sua-loi.xlsx"
    _workbook(path)
    names = set(zipfile.ZipFile(path).namelist())
    assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml", "xl/worksheets/sheet2.xml",
            "xl/comments2.xml", "xl/drawings/vmlDrawing2.vml"} <= names
    assert "xl/comments1.xml" not in names                        # a sheet without notes has no notes part
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_text_no_workbook_can_hold_is_made_safe(tmp_path):
    """A control character from a legacy export, in a cell or a note, and text longer than a cell holds:
    the workbook still opens, with the text cleaned and cut at Excel's 32,767 characters."""
    path = tmp_path / "sua-loi.xlsx"
    long = "Nguyễn " * 6000
    write_workbook(path, [Sheet("Cần sửa", [(["Lê\x01 Văn\x1f A", Cell(long, comment="Ô «A\x02B» sai.")], None)])])
    ws = load_workbook(path).active
    assert ws["A1"].value == "Lê Văn A"
    assert len(ws["B1"].value) == 32_767 and ws["B1"].value.endswith("…")
    assert ws["B1"].comment.text == "Ô «AB» sai."


def test_dates_read_back_as_written_before_and_after_excels_missing_leap_day(tmp_path):
    """Excel counts a 29 February 1900 that never was: a date before 1 March 1900 (a typo in a birth date) is
    written one day earlier, so that every reader shows and reads back the date written."""
    from python_calamine import CalamineWorkbook

    days = [dt.datetime(1900, 1, 15), dt.datetime(1900, 2, 28), dt.datetime(1900, 3, 1), dt.datetime(1972, 2, 28),
            dt.datetime(2025, 7, 1, 8, 30)]
    path = tmp_path / "ngay.xlsx"
    write_workbook(path, [Sheet("Ngày", [([Cell(d, HIGHLIGHT) for d in days], None)])])
    assert [c.value for c in load_workbook(path).active[1]] == days
    read = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[0]
    assert [v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time()) for v in read] == days
