"""Small district workbooks for tests, written with openpyxl the way district staff make them."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

HEADER = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
          "Ấp", "Phân loại hộ", "Năm rà soát", "Thu nhập bình quân đầu người"]

# Phong Điền (926), Cần Thơ: Xã Nhơn Ái is 31300 (pre-2025).
GOOD_ROWS = [
    ["31300-0001", "Nguyễn Văn An", "Chủ hộ", "Nam", "12/03/1975", "Kinh", "092075012345", "Ấp Nhơn Lộc", "Hộ nghèo", 2025, 1200000],
    ["31300-0001", "Trần Thị Bình", "Vợ", "Nữ", dt.date(1978, 5, 6), "Kinh", "092178054321", "Ấp Nhơn Lộc", "Hộ nghèo", 2025, 1200000],
    ["31300-0001", "Nguyễn Văn Cường", "Con", "Nam", "2005", "Kinh", None, "Ấp Nhơn Lộc", "Hộ nghèo", 2025, 1200000],
    ["31300-0002", "LÊ THỊ DUNG", "Chủ hộ", "Nữ", "01/01/1950", "Khơ me", 92150011111, "Ấp Nhơn Thọ", "Cận nghèo", 2025, 1500000],
    ["31300-0002", "Lê Văn Em", "Con", "Nam", "20/10/1980", "Khmer", "092080022222", "Ấp Nhơn Thọ", "Cận nghèo", 2025, 1500000],
]


def write_roster(path: Path, rows: list[list] = GOOD_ROWS, sheet: str = "Xã Nhơn Ái",
                 title: str = "DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025", header: list[str] = HEADER) -> Path:
    """A workbook with a title row, a blank row, the header, numbered rows, and a signature footer."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(["UBND HUYỆN PHONG ĐIỀN"])
    ws.append([title])
    ws.append([])
    ws.append(header)
    for i, row in enumerate(rows, start=1):
        ws.append([i, *row])
    ws.append([])
    ws.append([None, "Người lập biểu", None, None, None, "Chủ tịch UBND xã"])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_config(path: Path, sources: list[dict], province: str = "92") -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"province_code": province, "output_dir": "out", "sources": sources},
                                   allow_unicode=True), encoding="utf-8")
    return path
