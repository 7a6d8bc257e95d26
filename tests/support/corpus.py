"""A corpus of district workbooks that differ the way real ones do, each with the values it must map to.

Built from code on every run: no hand-edited binaries. Each case lists, per data row, the MIS values
the gateway must produce, so a test can check that every value lands in the right field.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

# Phong Điền (926), Cần Thơ: Xã Nhơn Ái 31300, Xã Giai Xuân 31303, Xã Nhơn Nghĩa 31315.
PEOPLE = [
    # household, name, relation (written, code), sex (written, code), birth (written, date, year), ethnicity, id, commune
    dict(hh="31300-0001", name="Nguyễn Văn Hưởng", rel=("Chủ hộ", "01"), sex=("Nam", "M"), birth=dt.date(1968, 4, 15),
         eth=("Kinh", "01"), cccd="092068001234", commune=("Xã Nhơn Ái", "31300")),
    dict(hh="31300-0001", name="Trần Thị Ánh Tuyết", rel=("Vợ", "02"), sex=("Nữ", "F"), birth=dt.date(1971, 11, 2),
         eth=("Kinh", "01"), cccd="092171005678", commune=("Xã Nhơn Ái", "31300")),
    dict(hh="31300-0001", name="Nguyễn Thị Thu Hường", rel=("Con", "03"), sex=("Nữ", "F"), birth=dt.date(2003, 1, 31),
         eth=("Kinh", "01"), cccd="092303009999", commune=("Xã Nhơn Ái", "31300")),
    dict(hh="31303-0002", name="Thạch Sóc Khiêm", rel=("Chủ hộ", "01"), sex=("Nam", "M"), birth=1955,
         eth=("Khơ me", "05"), cccd="094055004321", commune=("Xã Giai Xuân", "31303")),
    dict(hh="31303-0002", name="Đặng Văn Ơn", rel=("Cháu", "06"), sex=("Nam", "M"), birth=dt.date(2012, 7, 9),
         eth=("Kinh", "01"), cccd=None, commune=("Xã Giai Xuân", "31303")),
    dict(hh="31315-0003", name="Huỳnh Ngọc Trưởng", rel=("Chủ hộ", "01"), sex=("Nam", "M"), birth=dt.date(1980, 12, 25),
         eth=("Hoa", "06"), cccd="001080011111", commune=("Xã Nhơn Nghĩa", "31315")),
]
CASE_NAMES = ["01_template", *(f"02_dates_{s}" for s in range(6)), "03_wordings", "04_capitals",
              "05_two_row_header", "06_sheet_per_commune", "07_subtotals_footer", "08_code_on_head_only",
              "09_one_row_per_household", "10_ids_as_numbers", "11_old_format", "12_csv_utf8_bom",
              "13_csv_utf16_tab", "14_csv_cp1258", "15_ods",
              "16_tcvn3", "17_vni", "18_mixed_encodings"]
HEADER_WORDS = {
    "hh": "Mã hộ", "name": "Họ và tên", "rel": "Quan hệ với chủ hộ", "sex": "Giới tính", "birth": "Ngày sinh",
    "eth": "Dân tộc", "cccd": "Số CCCD", "commune": "Xã",
}


@dataclass
class Case:
    name: str
    path: Path
    expected: dict[tuple[str, int], dict]          # (sheet, Excel row) -> field -> value
    note: str = ""
    skipped: dict[str, list[int]] = field(default_factory=dict)


def expected_values(p: dict, id_number: str | None = None) -> dict:
    birth = p["birth"]
    out = {"household_code": p["hh"], "full_name": p["name"], "relation_code": p["rel"][1], "sex": p["sex"][1],
           "ethnicity_code": p["eth"][1], "id_number": id_number if id_number is not None else p["cccd"],
           "commune_code_pre2025": p["commune"][1]}
    if isinstance(birth, dt.date):
        out.update(birth_date=birth.isoformat(), birth_year=birth.year, birth_precision="day")
    else:
        out.update(birth_date=None, birth_year=birth, birth_precision="year")
    return out


def _birth_text(birth, style: int):
    if not isinstance(birth, dt.date):
        return birth if style % 2 else str(birth)        # a year alone, as a number or as text
    forms = [birth.strftime("%d/%m/%Y"), f"{birth.day}-{birth.month}-{birth.strftime('%y')}",
             birth.isoformat(), birth, (birth - dt.date(1899, 12, 30)).days,
             dt.datetime(birth.year, birth.month, birth.day, 0, 0)]
    return forms[style % len(forms)]


def _rows(people, columns, birth_style=0, transform=lambda k, v: v):
    rows = []
    for i, p in enumerate(people):
        row = []
        for key in columns:
            if key == "stt":
                row.append(i + 1)
            elif key == "birth":
                row.append(_birth_text(p["birth"], birth_style + i))
            elif key in ("rel", "sex", "eth", "commune"):
                row.append(transform(key, p[key][0]))
            else:
                row.append(transform(key, p[key]))
        rows.append(row)
    return rows


def _xlsx(path: Path, sheets: list[tuple[str, list[list]]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets:
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def build(out: Path) -> list[Case]:
    cols = ["stt", "hh", "name", "rel", "sex", "birth", "eth", "cccd", "commune"]
    header = ["STT"] + [HEADER_WORDS[c] for c in cols[1:]]
    cases: list[Case] = []

    def simple(name, rows_fn, header=header, title=("DANH SÁCH HỘ NGHÈO NĂM 2025",), people=PEOPLE, **kw):
        body = rows_fn(people)
        top = [[t] for t in title]
        path = _xlsx(out / f"{name}.xlsx", [("Danh sách", top + [header] + body)])
        first = len(top) + 2
        exp = {("Danh sách", first + i): expected_values(p) for i, p in enumerate(people)}
        cases.append(Case(name, path, exp, **kw))

    # 1. The province template: a title row, one header row, text dates.
    simple("01_template", lambda ps: _rows(ps, cols))
    # 2. Every date form: dd/mm/yyyy, d-m-yy, yyyy-mm-dd, date cells, Excel serials, datetimes, year alone.
    for style in range(6):
        simple(f"02_dates_{style}", lambda ps, s=style: _rows(ps, cols, birth_style=s))
    # 3. Other header wordings, accent-free and in capitals, and values in capitals / lower case.
    other = ["TT", "MaHo", "HỌ TÊN", "QH với CH", "GT", "NgaySinh", "DanToc", "CCCD/CMND", "Xã, phường, thị trấn"]
    simple("03_wordings", lambda ps: _rows(ps, cols, transform=lambda k, v: v.upper() if k in ("sex", "rel") else v),
           header=other)
    # 4. Names written all in capitals are title-cased.
    caps = [dict(p, name=p["name"].upper()) for p in PEOPLE]
    body = _rows(caps, cols)
    path = _xlsx(out / "04_capitals.xlsx", [("DS", [header] + body)])
    cases.append(Case("04_capitals", path, {("DS", 2 + i): expected_values(p) for i, p in enumerate(PEOPLE)}))
    # 5. Two-row merged header with a row of column numbers underneath.
    wb = Workbook()
    ws = wb.active
    ws.title = "Mẫu 1"
    ws.append(["UBND HUYỆN PHONG ĐIỀN"])
    ws.append(["STT", "Mã hộ", "Thông tin thành viên", None, None, None, "Dân tộc", "Số CCCD", "Xã"])
    ws.append([None, None, "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh"])
    for rng in ("C2:F2", "A2:A3", "B2:B3", "G2:G3", "H2:H3", "I2:I3"):
        ws.merge_cells(rng)
    ws.append([f"({i})" for i in range(1, 10)])
    for r in _rows(PEOPLE, cols):
        ws.append(r)
    (out / "05_two_row_header.xlsx").parent.mkdir(parents=True, exist_ok=True)
    wb.save(out / "05_two_row_header.xlsx")
    cases.append(Case("05_two_row_header", out / "05_two_row_header.xlsx",
                      {("Mẫu 1", 5 + i): expected_values(p) for i, p in enumerate(PEOPLE)},
                      skipped={"column numbers": [4]}))
    # 6. One sheet per commune (no commune column: the sheet's name is the commune), plus a help sheet.
    by_commune: dict[str, list] = {}
    for p in PEOPLE:
        by_commune.setdefault(p["commune"][0], []).append(p)
    c6 = [c for c in cols if c != "commune"]
    h6 = ["STT"] + [HEADER_WORDS[c] for c in c6[1:]]
    sheets = [("Hướng dẫn", [["Điền mỗi xã vào một trang."]])]
    exp6 = {}
    for commune, ps in by_commune.items():
        sheets.append((commune, [["DANH SÁCH HỘ NGHÈO"], [], h6] + _rows(ps, c6)))
        exp6.update({(commune, 4 + i): expected_values(p) for i, p in enumerate(ps)})
    cases.append(Case("06_sheet_per_commune", _xlsx(out / "06_sheet_per_commune.xlsx", sheets), exp6))
    # 7. Subtotal rows, blank separators and a signature footer between and under the households.
    body = _rows(PEOPLE, cols)
    rows7 = [["DANH SÁCH"], header, *body[:3], [None, "Cộng hộ 1"], [], *body[3:5], [], body[5],
             ["Tổng cộng", None, None, None, None, None, None, None, None], [],
             [None, "Người lập biểu", None, None, "TM. UBND XÃ"], [None, "(Ký, ghi rõ họ tên)"]]
    exp7 = {("DS", r): expected_values(p) for r, p in zip([3, 4, 5, 8, 9, 11], PEOPLE)}
    cases.append(Case("07_subtotals_footer", _xlsx(out / "07_subtotals_footer.xlsx", [("DS", rows7)]), exp7,
                      skipped={"subtotal": [6, 12], "footer": [14, 15]}))
    # 8. Household code only on the head's row; members listed below until the next head.
    body = _rows(PEOPLE, cols)
    for i, p in enumerate(PEOPLE):
        if p["rel"][1] != "01":
            body[i][1] = None
    cases.append(Case("08_code_on_head_only", _xlsx(out / "08_code_on_head_only.xlsx", [("DS", [header] + body)]),
                      {("DS", 2 + i): expected_values(p) for i, p in enumerate(PEOPLE)}))
    # 9. One row per household: the head's fields only, no relation column.
    heads = [p for p in PEOPLE if p["rel"][1] == "01"]
    c9 = [c for c in cols if c != "rel"]
    h9 = ["STT", "Mã hộ", "Họ và tên chủ hộ", "Giới tính", "Năm sinh", "Dân tộc", "Số CCCD", "Xã"]
    cases.append(Case("09_one_row_per_household",
                      _xlsx(out / "09_one_row_per_household.xlsx", [("DS", [h9] + _rows(heads, c9))]),
                      {("DS", 2 + i): expected_values(p) for i, p in enumerate(heads)}))
    # 10. IDs stored as numbers: the leading zeros come back (one for 092..., two for 001...).
    body = _rows(PEOPLE, cols)
    for r in body:
        if r[7]:
            r[7] = int(r[7])
    cases.append(Case("10_ids_as_numbers", _xlsx(out / "10_ids_as_numbers.xlsx", [("DS", [header] + body)]),
                      {("DS", 2 + i): expected_values(p) for i, p in enumerate(PEOPLE)}))
    # 11. The old .xls format.
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("DS")
    for c, h in enumerate(header):
        sheet.write(0, c, h)
    for r, row in enumerate(_rows(PEOPLE, cols), start=1):
        for c, v in enumerate(row):
            if isinstance(v, (dt.date, dt.datetime)):
                v = v.strftime("%d/%m/%Y")
            sheet.write(r, c, v)
    book.save(str(out / "11_old_format.xls"))
    cases.append(Case("11_old_format", out / "11_old_format.xls",
                      {("DS", 2 + i): expected_values(p) for i, p in enumerate(PEOPLE)}))
    # 12-14. CSV: UTF-8 with BOM and ';', UTF-16 with tabs, Windows-1258 with ','.
    for name, encoding, sep in [("12_csv_utf8_bom", "utf-8-sig", ";"), ("13_csv_utf16_tab", "utf-16", "\t"),
                                ("14_csv_cp1258", "cp1258", ",")]:
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
        w.writerow(["DANH SÁCH HỘ NGHÈO NĂM 2025"])
        w.writerow(header)
        for row in _rows(PEOPLE, cols):
            w.writerow([v.strftime("%d/%m/%Y") if isinstance(v, (dt.date, dt.datetime)) else v for v in row])
        path = out / f"{name}.csv"
        path.write_bytes(encode_text(buf.getvalue(), encoding))
        cases.append(Case(name, path, {(path.stem, 3 + i): expected_values(p) for i, p in enumerate(PEOPLE)}))
    # 15. OpenDocument (LibreOffice), written through pandas' odf engine.
    import pandas as pd

    body = [[v.strftime("%d/%m/%Y") if isinstance(v, (dt.date, dt.datetime)) else v for v in r]
            for r in _rows(PEOPLE, cols)]
    frame = pd.DataFrame([["DANH SÁCH HỘ NGHÈO"] + [None] * (len(header) - 1), header] + body)
    frame.to_excel(out / "15_ods.ods", engine="odf", sheet_name="DS", header=False, index=False)
    cases.append(Case("15_ods", out / "15_ods.ods", {("DS", 3 + i): expected_values(p) for i, p in enumerate(PEOPLE)}))
    # 16-18. Legacy fonts: a whole TCVN3 file (headers too), a VNI file, and a file mixing Unicode,
    # TCVN3 and VNI cell by cell, as happens when rows are pasted from older files.
    from mappings.legacy_fonts import from_unicode

    def legacy(value, enc):
        return from_unicode(value, enc) if isinstance(value, str) else value

    for name, pick in [("16_tcvn3", lambda i, j: "tcvn3"), ("17_vni", lambda i, j: "vni"),
                       ("18_mixed_encodings", lambda i, j: ("unicode", "tcvn3", "vni")[(i + j) % 3])]:
        enc_header = "tcvn3" if name != "17_vni" else "vni"
        body = [[v if pick(i, j) == "unicode" else legacy(v, pick(i, j)) for j, v in enumerate(r)]
                for i, r in enumerate(_rows(PEOPLE, cols))]
        rows = [[legacy("DANH SÁCH HỘ NGHÈO NĂM 2025", enc_header)],
                [legacy(h, enc_header) for h in header], *body]
        cases.append(Case(name, _xlsx(out / f"{name}.xlsx", [("DS", rows)]),
                          {("DS", 3 + i): expected_values(p) for i, p in enumerate(PEOPLE)}))
    assert [c.name for c in cases] == CASE_NAMES
    return cases


def encode_text(text: str, encoding: str) -> bytes:
    """Windows-1258 keeps tone marks as separate characters: write base letter + combining tone."""
    import unicodedata

    if encoding != "cp1258":
        return text.encode(encoding)
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            d = unicodedata.normalize("NFD", ch)
            tone = next(c for c in d if c in "\u0300\u0301\u0303\u0309\u0323")
            out += (unicodedata.normalize("NFC", d.replace(tone, "")) + tone).encode("cp1258")
    return bytes(out)
