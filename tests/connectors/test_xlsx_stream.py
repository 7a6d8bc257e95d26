"""The streaming .xlsx reader gives what the calamine path gives, reads sizes from <dimension>, refuses zip bombs."""
from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile

import pytest
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from connectors import spreadsheet, xlsx_stream
from connectors.spreadsheet import SourceFileError, read_sheets

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --- equality with the calamine path ------------------------------------------------------------------------------

def _openpyxl_workbook(path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Xã Nhơn Ái"
    ws.append(["DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025"])
    ws.append([])
    ws.append(["STT", "Họ và tên", "Ngày sinh", "Số CCCD", "Thu nhập", "Có BHYT", "Ghi chú", "Giờ khám"])
    ws.append([1, "Nguyễn Văn Hưởng", dt.date(1968, 4, 15), "092068001234", 1200000.5, True, "  ", dt.time(8, 30)])
    ws.append([2, "Trần Thị Bé", dt.datetime(1971, 11, 2, 8, 30), 92171005678, 1500000, False, " Khuyết tật "])
    ws.append([3, "Lê Thị Ơn", dt.datetime(1950, 1, 1), None, -0.25, None, None])
    ws.append([4, "Đặng Hữu Phúc", dt.date(2024, 2, 29), "", 123456789012345, None, "Con"])
    for row in (4, 5):
        ws.cell(row, 3).number_format = "DD/MM/YYYY"        # what district clerks type; row 6, 7 keep the default
    ws.cell(5, 3).number_format = "DD/MM/YYYY hh:mm"
    ws.append([5, None, 19480, "1948"])                      # a number that is not a date
    ws["F10"] = "x"                                          # a row with gaps before its only cell
    ws["B12"] = 2.675
    second = wb.create_sheet("Hướng dẫn")
    second.append(["Điền danh sách theo mẫu"])
    second["D3"] = 42
    second["A5"] = "=1+1"                                    # a formula without a cached value: no value at all
    wb.save(path)
    return path


def _calamine_rows(path, name):
    """The rows the gateway's calamine path gives (trailing empty cells trimmed, see _trim)."""
    workbook = CalamineWorkbook.from_path(str(path))
    return [(n, _trim(c)) for n, c in spreadsheet._calamine_rows(workbook, path, name)]


def _trim(cells):
    # calamine pads every row to the sheet's widest row; a streamed row ends at its last non-empty cell.
    cells = list(cells)
    while cells and cells[-1] is None:
        cells.pop()
    return cells


def test_streamed_rows_equal_the_calamine_rows(tmp_path):
    path = _openpyxl_workbook(tmp_path / "a.xlsx")
    names = CalamineWorkbook.from_path(str(path)).sheet_names
    assert names == ["Xã Nhơn Ái", "Hướng dẫn"]
    for name in names:
        assert list(xlsx_stream.iter_rows(path, name)) == _calamine_rows(path, name), name
    rows = dict(xlsx_stream.iter_rows(path, "Xã Nhơn Ái"))
    assert rows[4] == [1, "Nguyễn Văn Hưởng", "1968-04-15", "092068001234", 1200000.5, True, None, "08:30:00"]
    assert rows[5] == [2, "Trần Thị Bé", "1971-11-02T08:30:00", 92171005678, 1500000, False, " Khuyết tật "]
    assert rows[6] == [3, "Lê Thị Ơn", "1950-01-01", None, -0.25]
    assert rows[7] == [4, "Đặng Hữu Phúc", "2024-02-29", None, 123456789012345, None, "Con"]
    assert rows[8] == [5, None, 19480, "1948"]
    assert rows[10] == [None, None, None, None, None, "x"]
    assert rows[12] == [None, 2.675]
    assert 2 not in rows and 9 not in rows
    assert list(xlsx_stream.iter_rows(path, "Hướng dẫn")) == [(1, ["Điền danh sách theo mẫu"]), (3, [None] * 3 + [42])]


def test_hand_written_parts_equal_the_calamine_rows(tmp_path):
    """What openpyxl never writes: cached formula results, inline and rich strings, phonetic runs, cells and rows
    without references, escapes, East Asian built-in date formats, custom formats that only look like dates."""
    shared = ('<si><t>Hộ nghèo</t></si>'
              '<si><r><t>Nguyễn</t></r><r><rPr><b/></rPr><t xml:space="preserve"> Văn An</t></r>'
              '<rPh sb="0" eb="1"><t>グエン</t></rPh></si>'
              '<si><t>   </t></si>'
              '<si><t>  trimmed  </t></si>'
              '<si><t>dòng 1_x000D_dòng 2</t></si>')
    styles = ('<numFmts count="3"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
              '<numFmt numFmtId="165" formatCode="#,##0\\ &quot;đ&quot;"/><numFmt numFmtId="166" formatCode="[h]:mm"/>'
              '</numFmts><cellXfs count="6"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="165"/>'
              '<xf numFmtId="14"/><xf numFmtId="31"/><xf numFmtId="166"/></cellXfs>')
    sheet = ('<sheetData>'
             '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c><c r="D1" t="s"><v>2</v></c>'
             '<c r="E1" t="s"><v>3</v></c><c r="F1" t="s"><v>4</v></c></row>'
             '<row r="3"><c r="B3" s="1"><v>25000</v></c><c r="C3" s="2"><v>1500000</v></c>'
             '<c r="D3" s="3"><v>45000.75</v></c><c r="E3" s="4"><v>45000</v></c><c r="F3" s="5"><v>1.5</v></c></row>'
             '<row r="4"><c r="A4" t="str"><f>A1&amp;""</f><v>Hộ nghèo</v></c><c r="B4"><f>1+1</f><v>2</v></c>'
             '<c r="C4" t="b"><f>TRUE()</f><v>1</v></c><c r="D4" t="str"><f>""</f><v></v></c>'
             '<c r="E4"><f>NOW()</f></c></row>'
             '<row r="5"><c r="B5" t="inlineStr"><is><t>Ấp Nhơn Lộc 2</t></is></c>'
             '<c r="C5" t="inlineStr"><is><r><t>Trần </t></r><r><t xml:space="preserve">Thị </t></r><r><t>Bé</t></r>'
             '</is></c><c r="D5" t="inlineStr"><is><t xml:space="preserve"> x </t></is></c></row>'
             '<row><c><v>1</v></c><c t="s"><v>0</v></c><c r="E6"><v>5</v></c><c><v>6</v></c></row>'
             '<row r="8" spans="1:3"><c r="A8" s="0"/><c r="B8" s="1"/></row>'
             '<row r="9"><c r="A9"><v>1.5E-3</v></c><c r="B9"><v>abc</v></c><c r="C9" t="b"><v>0</v></c></row>'
             '</sheetData>')
    path = _package(tmp_path / "h.xlsx", {"DS": sheet}, shared=shared, styles=styles)
    assert list(xlsx_stream.iter_rows(path, "DS")) == _calamine_rows(path, "DS") == [
        (1, ["Hộ nghèo", None, "Nguyễn Văn An", None, "trimmed", "dòng 1\rdòng 2"]),
        (3, [None, "1968-06-11", 1500000, "2023-03-15T18:00:00", "2023-03-15", "1 day, 12:00:00"]),
        (4, ["Hộ nghèo", 2, True]),
        (5, [None, "Ấp Nhơn Lộc 2", "TrầnThị Bé", " x "]),
        (6, [1, "Hộ nghèo", None, None, 5, 6]),
        (9, [0.0015, "abc", False]),
    ]


def test_skipped_columns_land_at_their_index(tmp_path):
    sheet = ('<sheetData><row r="2"><c r="C2"><v>3</v></c><c r="AA2" t="inlineStr"><is><t>AA</t></is></c></row>'
             '<row r="5"><c r="B5" t="inlineStr"><is><t>b</t></is></c></row></sheetData>')
    path = _package(tmp_path / "gap.xlsx", {"DS": sheet})
    rows = list(xlsx_stream.iter_rows(path, "DS"))
    assert rows == [(2, [None, None, 3] + [None] * 23 + ["AA"]), (5, [None, "b"])]
    assert rows == _calamine_rows(path, "DS")


def test_shared_and_inline_strings(tmp_path):
    sheet = ('<sheetData><row r="1"><c r="A1" t="s"><v>1</v></c><c r="B1" t="inlineStr"><is><t>Mã hộ</t></is></c>'
             '<c r="C1" t="s"><v>0</v></c><c r="D1" t="inlineStr"><is><t></t></is></c></row></sheetData>')
    path = _package(tmp_path / "s.xlsx", {"DS": sheet}, shared="<si><t>Chủ hộ</t></si><si><t>Họ và tên</t></si>")
    assert list(xlsx_stream.iter_rows(path, "DS")) == [(1, ["Họ và tên", "Mã hộ", "Chủ hộ"])]
    assert list(xlsx_stream.iter_rows(path, "DS")) == _calamine_rows(path, "DS")


def test_error_cells_keep_their_text(tmp_path):
    sheet = ('<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Họ và tên</t></is></c>'
             '<c r="B1" t="e"><f>#REF!+1</f><v>#REF!</v></c><c r="C1" t="e"><v>#DIV/0!</v></c></row></sheetData>')
    path = _package(tmp_path / "e.xlsx", {"DS": sheet})
    assert list(xlsx_stream.iter_rows(path, "DS")) == [(1, ["Họ và tên", "#REF!", "#DIV/0!"])]
    # python-calamine turns an error cell into an empty one; the error cells found in the sheet's XML
    # put the text back, so both paths give the same rows.
    assert _calamine_rows(path, "DS") == [(1, ["Họ và tên"])]
    assert xlsx_stream.error_cells(path) == {"DS": {(1, 1): "#REF!", (1, 2): "#DIV/0!"}}
    [sheet] = list(read_sheets(path))
    assert list(sheet.rows) == list(xlsx_stream.iter_rows(path, "DS"))


def test_1904_date_system(tmp_path):
    sheet = '<sheetData><row r="1"><c r="A1" s="1"><v>0</v></c><c r="B1" s="1"><v>43000.5</v></c></row></sheetData>'
    styles = '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>'
    path = _package(tmp_path / "mac.xlsx", {"DS": sheet}, styles=styles, workbook_pr='<workbookPr date1904="1"/>')
    assert list(xlsx_stream.iter_rows(path, "DS")) == _calamine_rows(path, "DS")
    assert list(xlsx_stream.iter_rows(path, "DS"))[0][1][1] == "2021-09-23T12:00:00"


def test_huge_sheets_take_the_streaming_path(tmp_path, monkeypatch):
    path = _openpyxl_workbook(tmp_path / "a.xlsx")
    monkeypatch.setattr(spreadsheet, "STREAM_ROWS", 10)
    calls = []
    real = xlsx_stream.iter_rows
    monkeypatch.setattr(xlsx_stream, "iter_rows", lambda p, n: calls.append(n) or real(p, n))
    rows = {s.sheet: list(s.rows) for s in read_sheets(path)}
    assert calls == ["Xã Nhơn Ái"]
    assert rows["Xã Nhơn Ái"][0] == (1, ["DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025"])


# --- sheet sizes --------------------------------------------------------------------------------------------------

def test_sheet_sizes_from_the_dimension(tmp_path):
    path = _openpyxl_workbook(tmp_path / "a.xlsx")
    assert xlsx_stream.sheet_sizes(path) == {"Xã Nhơn Ái": (12, 8), "Hướng dẫn": (5, 4)}


def test_sheet_sizes_are_none_without_a_dimension(tmp_path):
    path = _package(tmp_path / "n.xlsx", {"Có": '<dimension ref="B2:M1000001"/><sheetData/>',
                                          "Không": '<sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>'})
    assert xlsx_stream.sheet_sizes(path) == {"Có": (1000001, 13), "Không": None}


def test_sheet_sizes_read_only_the_start_of_a_sheet(tmp_path, monkeypatch):
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, 50_001))
    path = _package(tmp_path / "big.xlsx", {"DS": f'<dimension ref="A1:A50000"/><sheetData>{rows}</sheetData>'})
    sheet_bytes = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    read = []
    real = xlsx_stream._Bounded.read
    monkeypatch.setattr(xlsx_stream._Bounded, "read",
                        lambda self, n=-1: read.append((self.label, len(data := real(self, n)))) or data)
    assert xlsx_stream.sheet_sizes(path) == {"DS": (50000, 1)}
    sheet_read = sum(n for label, n in read if "sheet1.xml" in label)
    assert 0 < sheet_read <= 4096 < sheet_bytes


# --- zip bombs ----------------------------------------------------------------------------------------------------

def _bomb(path):
    """A sheet of 3 MB of blanks, which deflates about 1000:1."""
    rows = f'<row r="1"><c r="A1" t="inlineStr"><is><t>{" " * 3_000_000}</t></is></c></row>'
    return _package(path, {"DS": f'<dimension ref="A1"/><sheetData>{rows}</sheetData>'})


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path, monkeypatch):
    path = _bomb(tmp_path / "bomb.xlsx")
    info = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size / info.compress_size > 200
    assert list(xlsx_stream.iter_rows(path, "DS")) == []          # 3 MB is under the 100 MB floor: read, blank
    monkeypatch.setattr(xlsx_stream, "RATIO_FLOOR", 1_000_000)    # as if it were 3 GB
    for read in (lambda: list(xlsx_stream.iter_rows(path, "DS")), lambda: xlsx_stream.sheet_sizes(path),
                 lambda: xlsx_stream.check_package(path)):
        with pytest.raises(SourceFileError, match=r"bomb\.xlsx: part xl/worksheets/sheet1\.xml .*zip bomb"):
            read()


def test_an_absurd_size_is_refused(tmp_path, monkeypatch):
    path = _openpyxl_workbook(tmp_path / "big.xlsx")
    monkeypatch.setattr(xlsx_stream, "MAX_UNCOMPRESSED", 1000)
    with pytest.raises(SourceFileError, match=r"big\.xlsx: part .* would unpack to .*refused"):
        list(xlsx_stream.iter_rows(path, "Xã Nhơn Ái"))


def test_a_part_that_unpacks_to_more_than_it_declares_is_refused(tmp_path):
    # The bounded stream itself: more bytes than declared stop the read.
    stream = xlsx_stream._Bounded(io.BytesIO(b"x" * 5000), 4096, "lie.xlsx: part xl/worksheets/sheet1.xml")
    assert len(stream.read(4096)) == 4096
    with pytest.raises(SourceFileError, match="lie.xlsx: part xl/worksheets/sheet1.xml unpacks to more than"):
        stream.read(4096)
    # And a zip whose directory understates a sheet's size: reading stops at the declared size and is refused.
    path = _bomb(tmp_path / "lie.xlsx")
    _declare_size(path, "xl/worksheets/sheet1.xml", 10_000)
    assert zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size == 10_000
    with pytest.raises(SourceFileError, match=r"lie\.xlsx, sheet 'DS': refused, .* unpacks to more than it says"):
        list(xlsx_stream.iter_rows(path, "DS"))


def test_a_damaged_sheet_names_the_file_and_sheet(tmp_path):
    path = _package(tmp_path / "hong.xlsx", {"DS": '<sheetData><row r="1"><c r="A1"><v>1</v></row>'})
    with pytest.raises(SourceFileError, match=r"hong\.xlsx, sheet 'DS': cannot be read"):
        list(xlsx_stream.iter_rows(path, "DS"))
    with pytest.raises(SourceFileError, match=r"hong\.xlsx: there is no sheet 'Khác'"):
        list(xlsx_stream.iter_rows(path, "Khác"))


# --- helpers ------------------------------------------------------------------------------------------------------

def _package(path, sheets: dict[str, str], shared: str | None = None, styles: str | None = None,
             workbook_pr: str = ""):
    """A minimal .xlsx written by hand: sheet name -> the XML inside <worksheet>."""
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" '
                   'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
                   + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{ct}.worksheet+xml"/>'
                             for i in range(1, len(sheets) + 1)) + "</Types>")
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                   'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{MAIN_NS}" xmlns:r="{rel}">'
                   f'{workbook_pr}<sheets>'
                   + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
                             for i, name in enumerate(sheets, start=1)) + "</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships">'
                   + "".join(f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                             for i in range(1, len(sheets) + 1)) + "</Relationships>")
        for i, body in enumerate(sheets.values(), start=1):
            z.writestr(f"xl/worksheets/sheet{i}.xml",
                       f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}">{body}</worksheet>')
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst xmlns="{MAIN_NS}">{shared}</sst>')
        if styles is not None:
            z.writestr("xl/styles.xml", f'<?xml version="1.0"?><styleSheet xmlns="{MAIN_NS}">{styles}</styleSheet>')
    return path


def _declare_size(path, part: str, size: int) -> None:
    """Rewrite the uncompressed size a zip's local header and central directory declare for one entry."""
    data = bytearray(path.read_bytes())
    name = part.encode()
    for signature, size_at, name_len_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            (name_len,) = struct.unpack_from("<H", data, start + name_len_at)
            if data[start + name_at:start + name_at + name_len] == name:
                struct.pack_into("<I", data, start + size_at, size)
            start += 4
    path.write_bytes(bytes(data))


def test_time_of_day_cells_are_read_as_text(tmp_path):
    import json

    from openpyxl import Workbook

    from connectors.spreadsheet import read_sheets

    wb = Workbook()
    wb.active.append(["Giờ", dt.time(8, 30)])
    wb.active["B1"].number_format = "hh:mm"
    wb.save(tmp_path / "t.xlsx")
    [sheet] = list(read_sheets(tmp_path / "t.xlsx"))
    rows = list(sheet.rows)
    json.dumps(rows)                                  # the extract stage serialises rows as JSON
    assert rows[0][1][1] in ("08:30:00", "08:30")
