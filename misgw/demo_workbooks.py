"""Writes each district's roster workbook: titles, header, member rows (errors planted) and signature block."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from mappings.text import fold
from mappings.vocabulary import vocabulary
from misgw.demo_districts import ASSESSMENT_YEAR, DISTRICTS, INDICATORS, DistrictStyle
from misgw.demo_errors import _inject
from misgw.demo_households import Household, Person

_FOOTER_NAMES = ["Nguyễn Thị Mỹ Linh", "Trần Văn Khoa", "Lê Thị Ngọc Hân", "Huỳnh Thanh Tùng", "Võ Thị Kim Ngân"]


def _check_headers() -> None:
    vocab = vocabulary()
    for style in DISTRICTS:
        for name, header in style.columns:
            aliases = {fold(a) for a in vocab[name]["aliases"]}
            if fold(header) not in aliases:
                raise ValueError(f"demo header '{header}' is not a vocabulary alias of '{name}'.")


def _birth_cell(p: Person):
    if p.date_form == "year":
        return p.birth.year
    if p.date_form == "date":
        return p.birth
    return p.birth.strftime("%d/%m/%Y")


def _rows(style: DistrictStyle, hh: Household, stt: int) -> list[dict]:
    rows = []
    for i, p in enumerate(hh.members):
        name = p.name.upper() if style.capital_names else p.name
        row = {"household_code": hh.code, "full_name": name, "relation": style.relation[p.role],
               "sex": style.sex[p.sex], "birth_date": _birth_cell(p), "ethnicity": style.ethnicity[p.ethnicity],
               "id_number": (int(p.id_number) if p.id_numeric else p.id_number) if p.id_number else None,
               "commune_code": hh.commune_code}
        if style.stt_per_member:
            row["row_number"] = stt + i
        elif i == 0:
            row["row_number"] = stt
        if i == 0 or style.household_on_every_row:
            row.update({
                "address": hh.address, "hamlet": hh.address,
                "area": "Thành thị" if hh.area == "urban" else "Nông thôn",
                "poverty_category": style.category[hh.category], "assessment_year": ASSESSMENT_YEAR,
                "income_per_capita": hh.income, "member_count": len(hh.members),
                "approval_decision_no": hh.decision_no, "approval_date": hh.decision_date,
            })
            for ind in INDICATORS:
                row[ind] = style.mark if ind in hh.marks else None
        rows.append(row)
    return rows


def _write_workbook(rng: random.Random, style: DistrictStyle, communes: list, path: Path, used_ids: set) -> list[dict]:
    wb = Workbook()
    wb.remove(wb.active)
    truth: list[dict] = []
    if style.one_sheet:
        _guide_sheet(wb)
        sheets = [("Danh sách", "", [hh for _, hhs in communes for hh in hhs])]
    else:
        sheets = [(unit.name[:31], unit.name, hhs) for unit, hhs in communes]
    for sheet_name, commune_name, households in sheets:
        ws = wb.create_sheet(sheet_name)
        entries = []
        stt = 1
        for hh in households:
            rows = _rows(style, hh, stt)
            stt += len(rows) if style.stt_per_member else 1
            entries.extend((p, hh, row) for p, row in zip(hh.members, rows))
        sheet_truth = _inject(rng, style, entries, used_ids)
        first_data = _write_sheet(ws, style, commune_name, [row for _, _, row in entries])
        for t in sorted(sheet_truth, key=lambda t: t["index"]):
            truth.append({"file": path.name, "sheet": sheet_name, "row": first_data + t.pop("index"), **t})
    wb.save(path)
    return truth


def _write_sheet(ws, style: DistrictStyle, commune_name: str, rows: list[dict]) -> int:
    """Titles, header, data and footer; returns the Excel row of the first data row."""
    width = len(style.columns)
    r = 1
    for title in style.titles:
        ws.cell(r, 1, title.replace("{commune}", commune_name.upper()))
        ws.cell(r, 1).font = Font(bold=True, size=12 if r > 1 else 11)
        if r == 1 and len(style.titles) > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=5)
        else:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=min(width, 14))
            ws.cell(r, 1).alignment = Alignment(horizontal="center")
        r += 1
    if len(style.titles) > 1:
        ws.cell(1, 10, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").font = Font(bold=True)
    if style.blank_after_titles:
        r += 1
    header_row = r
    for c, (_, header) in enumerate(style.columns, start=1):
        cell = ws.cell(header_row, c, header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    ws.row_dimensions[header_row].height = 45
    ws.freeze_panes = ws.cell(header_row + 1, 4)
    r = header_row + 1
    for row in rows:
        for c, (name, _) in enumerate(style.columns, start=1):
            value = row.get(name)
            if value is None:
                continue
            cell = ws.cell(r, c, value)
            if isinstance(value, dt.date):
                cell.number_format = "dd/mm/yyyy"
            elif name == "income_per_capita":
                cell.number_format = "#,##0"
            elif name == "id_number" and isinstance(value, int):
                cell.number_format = "0"
            elif name in ("id_number", "commune_code"):
                cell.number_format = "@"
        r += 1
    # Blank row, then the signature block.
    r += 1
    where = {"926": "Phong Điền", "925": "Cờ Đỏ", "916": "Ninh Kiều"}[style.district_code]
    ws.cell(r, 14, f"{where}, ngày 26 tháng 12 năm 2025")
    r += 1
    ws.cell(r, 2, "Người lập biểu").font = Font(bold=True)
    ws.cell(r, 14, "TM. ỦY BAN NHÂN DÂN").font = Font(bold=True)
    ws.cell(r + 1, 2, "(Ký, ghi rõ họ tên)")
    ws.cell(r + 1, 14, "CHỦ TỊCH")
    signer = _FOOTER_NAMES[[d.slug for d in DISTRICTS].index(style.slug)]
    ws.cell(r + 5, 2, signer).font = Font(bold=True)
    for c, (name, header) in enumerate(style.columns, start=1):
        ws.column_dimensions[get_column_letter(c)].width = {"full_name": 26, "address": 16, "id_number": 15,
                                                           "household_code": 12, "birth_date": 12,
                                                           "income_per_capita": 14}.get(name, 9)
    return header_row + 1


def _guide_sheet(wb) -> None:
    ws = wb.create_sheet("Hướng dẫn")
    lines = [
        "HƯỚNG DẪN GHI DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO",
        "1. Mỗi thành viên của hộ ghi một dòng; chủ hộ ghi trước, sau đó đến các thành viên khác.",
        "2. Mã hộ gồm mã xã (5 chữ số) và số thứ tự của hộ (4 chữ số), ví dụ 31117-0012.",
        "3. Ngày sinh ghi theo dạng ngày/tháng/năm; nếu không rõ ngày thì chỉ ghi năm sinh.",
        "4. Số định danh cá nhân (CCCD) gồm 12 chữ số; định dạng ô là Văn bản để không mất số 0 ở đầu.",
        "5. Đánh dấu X vào cột chỉ số thiếu hụt mà hộ bị thiếu hụt (theo Nghị định 07/2021/NĐ-CP).",
        "6. Chuẩn nghèo khu vực thành thị: thu nhập bình quân đầu người từ 2.000.000 đồng/tháng trở xuống.",
    ]
    for i, line in enumerate(lines, start=1):
        ws.cell(i, 1, line)
    ws["A1"].font = Font(bold=True)
    ws.column_dimensions["A"].width = 100
