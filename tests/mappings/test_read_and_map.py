"""Reading each file format as it is, and finding the roster in a sheet."""
from __future__ import annotations

import pytest
import xlwt
from corpus import encode_text
from rosters import HEADER, write_roster

from connectors.spreadsheet import SourceFileError, discover, read_sheets
from mappings.roster import map_sheet
from mappings.vocabulary import load_mapping

ROW = ["31300-0001", "Nguyễn Văn An", "Chủ hộ", "Nam", "12/03/1975", "Kinh", "092075012345", "Ấp Nhơn Lộc",
       "Hộ nghèo", "2025", "1200000"]


@pytest.mark.parametrize("encoding, sep", [("utf-8-sig", ","), ("utf-8", ";"), ("utf-16", "\t"), ("cp1258", ",")])
def test_csv_encodings_and_separators(tmp_path, encoding, sep):
    path = tmp_path / "ds.csv"
    lines = ["DANH SÁCH HỘ NGHÈO NĂM 2025", sep.join(HEADER), sep.join(["1", *ROW])]
    path.write_bytes(encode_text("\r\n".join(lines), encoding))
    [sheet] = list(read_sheets(path))
    rows = sheet.dense()
    assert rows[1][2] == "Họ và tên"
    assert rows[2][2] == "Nguyễn Văn An"


def test_xls_is_read_with_excel_row_numbers(tmp_path):
    book = xlwt.Workbook()
    ws = book.add_sheet("Xã Nhơn Ái")
    ws.write(0, 0, "UBND HUYỆN PHONG ĐIỀN")
    for c, h in enumerate(HEADER):
        ws.write(2, c, h)
    for c, v in enumerate(["1", *ROW]):
        ws.write(3, c, v)
    path = tmp_path / "old.xls"
    book.save(str(path))
    [sheet] = list(read_sheets(path))
    assert sheet.sheet == "Xã Nhơn Ái"
    frame, report = map_sheet(path.name, sheet.sheet, sheet.dense(), load_mapping(None))
    assert report.header_row == 3
    assert list(frame["source_row"]) == [4]
    assert frame.loc[0, "full_name"] == "Nguyễn Văn An"


def test_header_under_title_rows_and_non_data_rows_skipped(tmp_path):
    path = write_roster(tmp_path / "x.xlsx")
    [sheet] = list(read_sheets(path))
    frame, report = map_sheet(path.name, sheet.sheet, sheet.dense(), load_mapping(None))
    assert report.roster and report.header_row == 4
    assert list(frame["source_row"]) == [5, 6, 7, 8, 9]
    assert {"column": "C", "header": "Họ và tên", "field": "full_name", "how": "vocabulary"} in report.columns
    assert report.skipped_rows["footer"] == [11]


def test_sheet_without_a_roster_is_ignored_and_says_why(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Hướng dẫn: điền danh sách vào trang bên cạnh"])
    wb.save(tmp_path / "help.xlsx")
    [sheet] = list(read_sheets(tmp_path / "help.xlsx"))
    frame, report = map_sheet("help.xlsx", sheet.sheet, sheet.dense(), load_mapping(None))
    assert frame is None and not report.roster and "no header row" in report.reason


def test_files_that_are_not_spreadsheets_name_the_file(tmp_path):
    bad = tmp_path / "ds.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(SourceFileError, match="ds.xlsx"):
        list(read_sheets(bad))
    with pytest.raises(SourceFileError, match="not a spreadsheet"):
        list(read_sheets(tmp_path / "notes.txt"))
    with pytest.raises(SourceFileError, match="not found"):
        discover(tmp_path / "nowhere")


def test_discover_skips_excel_lock_files(tmp_path):
    write_roster(tmp_path / "a.xlsx")
    (tmp_path / "~$a.xlsx").write_bytes(b"lock")
    (tmp_path / "readme.txt").write_text("x")
    assert [p.name for p in discover(tmp_path)] == ["a.xlsx"]


def _sheet_rows(path):
    [sheet] = list(read_sheets(path))
    return sheet.sheet, sheet.dense()


def test_two_row_merged_header_with_column_numbers(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH HỘ NGHÈO NĂM 2025"])
    ws.append(["STT", "Mã hộ", "Thông tin chủ hộ", None, None, "Dân tộc", "Phân loại hộ"])
    ws.append([None, None, "Họ và tên", "Ngày sinh", "Giới tính", None, None])
    ws.merge_cells("C2:E2")
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    ws.append(["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)"])
    ws.append([1, "H01", "Trần Văn Bốn", "1960", "Nam", "Kinh", "Hộ nghèo"])
    wb.save(tmp_path / "two.xlsx")
    name, rows = _sheet_rows(tmp_path / "two.xlsx")
    frame, report = map_sheet("two.xlsx", name, rows, load_mapping(None))
    assert report.header_row == 3
    assert {c["field"] for c in report.columns} >= {"household_code", "full_name", "birth_date", "sex",
                                                     "ethnicity", "poverty_category"}
    assert report.skipped_rows == {"column numbers": [4]}
    assert list(frame["source_row"]) == [5]
    assert frame.loc[0, "full_name"] == "Trần Văn Bốn" and frame.loc[0, "household_code"] == "H01"


def test_single_header_below_a_title_is_not_read_as_two_rows(tmp_path):
    path = write_roster(tmp_path / "x.xlsx")
    name, rows = _sheet_rows(path)
    _, report = map_sheet(path.name, name, rows, load_mapping(None))
    assert report.header_row == 4 and report.ignored_columns == []


def test_a_keyed_sources_records_are_mapped_by_their_numbers_without_the_rows_between():
    """A database's records of a night with little new: the header and the few records of changed households,
    numbered as read (the others were left out as unchanged). Mapped as they are, with their numbers and
    keys: no blank row stands in for each record left out (there were 133,000 of them at L)."""
    header = ["ID", "MaHo", "HoTen", "QuanHe", "GioiTinh", "NgaySinh", "DanToc", "SoCCCD", "MaXa", "PhanLoai",
              "NamRaSoat"]
    records = [[90_001, "31300-0007", "Trần Thị Bích", "Chủ hộ", "Nữ", "1971-05-02", "Kinh", "092171004455", "31300",
                "Hộ nghèo", 2025],
               [90_002, "31300-0007", "Lâm Văn Tài", "Con", "Nam", "2001-11-30", "Kinh", None, "31300", "Hộ nghèo", 2025]]
    numbers = [1, 90_001, 90_002]
    frame, report = map_sheet("ho_ngheo.accdb", "HoNgheo", [header, *records], load_mapping(None),
                              keys={90_001: "90001", 90_002: "90002"}, numbers=numbers)
    assert report.roster and report.header_row == 1 and report.data_rows == 2
    assert frame["source_row"].tolist() == [90_001, 90_002]
    assert frame["source_key"].tolist() == ["90001", "90002"]
    assert frame["full_name"].tolist() == ["Trần Thị Bích", "Lâm Văn Tài"]
    assert report.skipped_rows == {}
