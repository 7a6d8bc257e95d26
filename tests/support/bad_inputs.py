"""What districts send that no reader should choke on: broken, hostile and odd files, generated here.

    cases = build(folder)     # [(name, path, expect)], expect = "fails" (one clear sentence naming the file),
                              # "rejects:RULE" (read, with row-level rejects by RULE) or "loads" (all fine)

Each file is alone in a folder named after it, so that each is its own source in one run.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

from openpyxl import Workbook
from rosters import GOOD_ROWS, HEADER

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _roster(rows=GOOD_ROWS, header=HEADER, title=True) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "Xã Nhơn Ái"
    if title:
        ws.append(["DANH SÁCH HỘ NGHÈO NĂM 2025"])
    ws.append(header)
    for i, row in enumerate(rows, start=1):
        ws.append([i, *row])
    return wb


def _save(wb: Workbook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _raw_xlsx(path: Path, sheet_xml: bytes | None = None, writer=None, shared: list[str] | None = None) -> Path:
    """A minimal workbook written part by part: for what openpyxl refuses to write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                   '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   f'package/2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" '
                   'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
                   '<sheet name="Xã Nhơn Ái" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" '
                   'Target="worksheets/sheet1.xml"/></Relationships>')
        if writer is not None:
            with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
                writer(fh)
        else:
            z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path


def _cell(ref: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    from xml.sax.saxutils import escape

    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def _sheet(rows: list[list], dimension: str | None = None, extra: str = "") -> bytes:
    cols = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    body = "".join(f'<row r="{r}">' + "".join(_cell(f"{cols[c]}{r}", v) for c, v in enumerate(row)) + "</row>"
                   for r, row in enumerate(rows, start=1))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<?xml version="1.0"?><worksheet xmlns="{MAIN}">{dim}<sheetData>{body}{extra}</sheetData></worksheet>'.encode()


def build(out: Path) -> list[tuple[str, Path, str]]:
    cases: list[tuple[str, Path, str]] = []

    def add(name: str, expect: str, make) -> None:
        path = make(out / name)
        cases.append((name, path, expect))

    header_rows = [["STT", *HEADER[1:]]]
    good = [[i, *r] for i, r in enumerate(GOOD_ROWS, start=1)]

    add("01_empty_file", "fails", lambda d: _touch(d / "ds.xlsx", b""))
    add("02_empty_sheet", "fails", lambda d: _save(Workbook(), d / "ds.xlsx"))
    add("03_header_only", "fails", lambda d: _save(_roster(rows=[]), d / "ds.xlsx"))
    add("04_password_protected", "fails", lambda d: _encrypted(d / "ds.xlsx"))
    add("05_corrupt_zip", "fails", lambda d: _truncated(d / "ds.xlsx"))
    add("06_zip_bomb", "fails", lambda d: _zip_bomb(d / "ds.xlsx"))
    add("07_html_saved_as_xls", "fails", lambda d: _touch(d / "ds.xls", "<html><body><table><tr><td>Họ và tên</td>"
                                                                   "</tr></table></body></html>".encode()))
    add("08_csv_unknown_encoding", "fails", lambda d: _touch(d / "ds.csv", "Họ và tên;Mã hộ\n".encode("utf-32-le")
                                                            + bytes([0x81, 0x8D, 0x8E, 0x8F, 0x90] * 40)))
    add("09_16384_columns", "loads", lambda d: _wide(d / "ds.xlsx", header_rows + good))
    add("10_million_blank_rows", "loads", lambda d: _million_blank(d / "ds.xlsx", header_rows + good))
    add("11_formulas_ref_errors", "rejects:cell.formula_error", lambda d: _ref_errors(d / "ds.xlsx"))
    add("12_duplicate_headers", "loads", lambda d: _save(_roster(rows=[r + ["Trùng"] for r in GOOD_ROWS],
                                                                 header=HEADER + ["Họ và tên"]), d / "ds.xlsx"))
    add("13_missing_required_column", "fails", lambda d: _save(_roster(
        rows=[r[:1] + r[2:] for r in GOOD_ROWS], header=HEADER[:2] + HEADER[3:]), d / "ds.xlsx"))
    add("14_ids_as_scientific_numbers", "rejects:id.unprovable", lambda d: _save(_roster(
        rows=[r[:6] + [9.2075e10 if r[6] else None] + r[7:] for r in GOOD_ROWS]), d / "ds.xlsx"))
    add("15_dates_in_the_future", "rejects:range.birth_date", lambda d: _save(_roster(
        rows=[r[:4] + ["12/03/2031"] + r[5:] for r in GOOD_ROWS]), d / "ds.xlsx"))
    add("16_ten_megabyte_cell", "rejects:format.too_long", lambda d: _raw_xlsx(d / "ds.xlsx", _sheet(
        header_rows + [good[0][:2] + ["Nguyễn Văn An " * 700_000] + good[0][3:]] + good[1:])))
    add("17_control_characters", "loads", lambda d: _raw_xlsx(d / "ds.xlsx", _sheet(
        header_rows + [good[0][:2] + ["Nguyễn\x01Văn\x02An_x0007_"] + good[0][3:]] + good[1:])))
    add("18_right_to_left_marks", "loads", lambda d: _save(_roster(
        rows=[r[:1] + ["\u200f" + r[1] + "\u202e"] + r[2:] for r in GOOD_ROWS]), d / "ds.xlsx"))
    add("19_text_with_xlsx_extension", "fails", lambda d: _touch(d / "ds.xlsx", b"Ho va ten,Ma ho\nA,1\n"))
    add("20_corrupt_xls", "fails", lambda d: _touch(d / "ds.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600))
    add("21_corrupt_ods", "fails", lambda d: _corrupt_ods(d / "ds.ods"))
    add("22_csv_bom_only", "fails", lambda d: _touch(d / "ds.csv", b"\xef\xbb\xbf"))
    add("23_csv_with_nul_bytes", "loads", lambda d: _touch(d / "ds.csv", _csv_with_nuls()))
    add("24_three_hundred_sheets", "loads", lambda d: _many_sheets(d / "ds.xlsx"))
    add("25_income_not_a_number", "rejects:format.number", lambda d: _save(_roster(
        rows=[r[:10] + ["một triệu rưỡi"] for r in GOOD_ROWS]), d / "ds.xlsx"))
    add("26_sheet_xml_lies_about_its_size", "fails", lambda d: _lying_zip(d / "ds.xlsx"))
    add("27_every_cell_an_error_value", "fails", lambda d: _raw_xlsx(d / "ds.xlsx", (
        f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>' + "".join(
            f'<row r="{r}">' + "".join(f'<c r="{c}{r}" t="e"><v>#N/A</v></c>' for c in "ABCDE") + "</row>"
            for r in range(1, 50)) + "</sheetData></worksheet>").encode()))
    add("28_not_xml_inside", "fails", lambda d: _raw_xlsx(d / "ds.xlsx", b"\x00\x01binary garbage, not XML"))
    return cases


def _touch(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _encrypted(path: Path) -> Path:
    """A real workbook encrypted with a password, as Excel's "Encrypt with Password" writes it."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO()
    _roster().save(plain)
    plain.seek(0)
    encrypted = io.BytesIO()
    OOXMLFile(plain).encrypt("matkhau", encrypted)
    return _touch(path, encrypted.getvalue())


def _truncated(path: Path) -> Path:
    buf = io.BytesIO()
    _roster().save(buf)
    return _touch(path, buf.getvalue()[: len(buf.getvalue()) // 2])


def _zip_bomb(path: Path) -> Path:
    """A sheet part that inflates to 600 MB from about 600 KB: refused from the zip directory, unread."""
    def writer(fh):
        row = b'<row><c t="inlineStr"><is><t>0</t></is></c></row>' * 2000
        fh.write(f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>'.encode())
        for _ in range(6000):
            fh.write(row)
        fh.write(b"</sheetData></worksheet>")
    return _raw_xlsx(path, writer=writer)


def _lying_zip(path: Path) -> Path:
    """A sheet part whose zip headers say 1 KB while its data inflates to far more: stopped at the lie."""
    _raw_xlsx(path, _sheet([["STT"]] + [[i] for i in range(1, 20000)]))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    small = (1024).to_bytes(4, "little")
    data[info.header_offset + 22: info.header_offset + 26] = small        # the local header's size
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:                                                       # and the central directory's
        name_len = int.from_bytes(data[pos + 28: pos + 30], "little")
        if data[pos + 46: pos + 46 + name_len] == b"xl/worksheets/sheet1.xml":
            data[pos + 24: pos + 28] = small
        pos = data.find(b"PK\x01\x02", pos + 4)
    return _touch(path, bytes(data))


def _wide(path: Path, rows: list[list]) -> Path:
    """The roster, and a note in column XFD (16,384): the sheet is as wide as Excel allows."""
    wb = _roster()
    wb.active.cell(row=1, column=16384, value="ghi chú cuối")
    return _save(wb, path)


def _million_blank(path: Path, rows: list[list]) -> Path:
    """The roster, then a million empty rows, and a lone mark at row 1,048,576."""
    def writer(fh):
        fh.write(f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><dimension ref="A1:L1048576"/><sheetData>'.encode())
        fh.write(_sheet(rows)[len(f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>'):-len(
            b"</sheetData></worksheet>")])
        for start in range(len(rows) + 1, 1_048_575, 1000):
            fh.write("".join(f'<row r="{r}"/>' for r in range(start, min(start + 1000, 1_048_576))).encode())
        fh.write(b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>-</t></is></c></row>')
        fh.write(b"</sheetData></worksheet>")
    return _raw_xlsx(path, writer=writer)


def _ref_errors(path: Path) -> Path:
    """Formulas that evaluate to #REF! where the income and a birth date should be: named as broken formulas."""
    rows = [[i, *r] for i, r in enumerate(GOOD_ROWS, start=1)]
    cols = "ABCDEFGHIJKL"
    body = []
    body.append("<row r=\"1\">" + "".join(_cell(f"{cols[c]}1", v) for c, v in enumerate(["STT", *HEADER[1:]])) + "</row>")
    for r, row in enumerate(rows, start=2):
        cells = []
        for c, v in enumerate(row):
            ref = f"{cols[c]}{r}"
            if c in (5, 11) and r in (2, 4):
                cells.append(f'<c r="{ref}" t="e"><f>#REF!+1</f><v>#REF!</v></c>')
            else:
                cells.append(_cell(ref, v))
        body.append(f'<row r="{r}">' + "".join(cells) + "</row>")
    xml = f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>{"".join(body)}</sheetData></worksheet>'
    return _raw_xlsx(path, xml.encode())


def _corrupt_ods(path: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content><broken")
    return _touch(path, buf.getvalue())


def _csv_with_nuls() -> bytes:
    lines = [",".join(HEADER + ["Xã"])] + [",".join("" if v is None else str(v) for v in [i, *r, "Nhơn Ái"])
                                 for i, r in enumerate(GOOD_ROWS, start=1)]
    text = "\n".join(lines)
    return text.replace("Nguyễn Văn An", "Nguyễn\x00Văn\x00An").encode("utf-8")


def _many_sheets(path: Path) -> Path:
    wb = _roster()
    for i in range(299):
        wb.create_sheet(f"Trống {i}")["A1"] = "—"
    return _save(wb, path)

