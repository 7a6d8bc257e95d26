"""The streaming reader for huge sheets gives exactly what the calamine path gives, and refuses zip bombs."""
from __future__ import annotations

import datetime as dt
import zipfile

import pytest
from openpyxl import Workbook

from connectors import spreadsheet, xlsx_stream
from connectors.spreadsheet import SourceFileError, read_sheets


def _workbook(path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Xã Nhơn Ái"
    ws.append(["DANH SÁCH HỘ NGHÈO"])
    ws.append([])
    ws.append(["STT", "Họ và tên", "Ngày sinh", "Số CCCD", "Thu nhập", "Có BHYT"])
    ws.append([1, "Nguyễn Văn Hưởng", dt.date(1968, 4, 15), "092068001234", 1200000.5, True])
    ws.append([2, "Trần Thị Bé", dt.datetime(1971, 11, 2, 8, 30), 92171005678, 1500000, False])
    ws["C5"].number_format = "DD/MM/YYYY hh:mm"
    ws.append([3, None, "1948", None, None, None])
    ws["F7"] = "x"                     # a row with a gap before its only cell
    second = wb.create_sheet("Hướng dẫn")
    second.append(["Điền danh sách"])
    second["D3"] = 42
    wb.save(path)
    return path


def test_streamed_rows_equal_the_calamine_rows(tmp_path):
    path = _workbook(tmp_path / "a.xlsx")
    for sheet in read_sheets(path):
        calamine_rows = [(n, _trim(c)) for n, c in sheet.rows]
        streamed = [(n, _trim(c)) for n, c in xlsx_stream.iter_rows(path, sheet.sheet)]
        assert streamed == calamine_rows, sheet.sheet
    assert xlsx_stream.sheet_sizes(path) == {"Xã Nhơn Ái": (7, 6), "Hướng dẫn": (3, 4)}


def _trim(cells):
    cells = list(cells)
    while cells and cells[-1] is None:
        cells.pop()
    return cells


def test_huge_sheets_take_the_streaming_path(tmp_path, monkeypatch):
    path = _workbook(tmp_path / "a.xlsx")
    monkeypatch.setattr(spreadsheet, "STREAM_ROWS", 5)
    calls = []
    real = xlsx_stream.iter_rows
    monkeypatch.setattr(xlsx_stream, "iter_rows", lambda p, n: calls.append(n) or real(p, n))
    rows = {s.sheet: list(s.rows) for s in read_sheets(path)}
    assert calls == ["Xã Nhơn Ái"] and rows["Xã Nhơn Ái"][0] == (1, ["DANH SÁCH HỘ NGHÈO"])


def test_error_cells_and_inline_strings(tmp_path):
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><dimension ref="A1:C1"/><sheetData><row r="1">'
             '<c r="A1" t="inlineStr"><is><t>Họ và tên</t></is></c><c r="B1" t="e"><v>#REF!</v></c>'
             '<c r="C1" t="str"><f>A1</f><v>Họ và tên</v></c></row></sheetData></worksheet>')
    path = _package(tmp_path / "e.xlsx", sheet)
    assert list(xlsx_stream.iter_rows(path, "DS")) == [(1, ["Họ và tên", "#REF!", "Họ và tên"])]


def test_zip_bomb_is_refused(tmp_path, monkeypatch):
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>{" " * 200}</t></is></c></row>' for i in range(1, 3000))
    sheet = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<dimension ref="A1:A2999"/><sheetData>{rows}</sheetData></worksheet>')
    path = _package(tmp_path / "bomb.xlsx", sheet)
    monkeypatch.setattr(xlsx_stream, "RATIO_FLOOR", 1000)
    monkeypatch.setattr(xlsx_stream, "MAX_RATIO", 20)
    with pytest.raises(SourceFileError, match="bomb.xlsx.*zip bomb"):
        list(xlsx_stream.iter_rows(path, "DS"))


def _package(path, sheet_xml: str):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
                   'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
                   'worksheet+xml"/></Types>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                   'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                   'relationships"><sheets><sheet name="DS" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
                   'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                   'Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path
