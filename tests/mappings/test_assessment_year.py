"""The review year of a roster, from wherever a commune writes it; dates and legal references are not years."""
from __future__ import annotations

import pytest

from mappings.assessment_year import SheetYears, decide, years_in


@pytest.mark.parametrize("text, years", [
    ("DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025", [2025]),
    ("danh sach ho ngheo nam 2025", [2025]),
    ("KẾT QUẢ RÀ SOÁT HỘ NGHÈO NĂM RÀ SOÁT 2024", [2024]),
    ("ds-ho-ngheo-2024", [2024]),
    ("DS_HN_nam2025", [2025]),
    ("Năm 2025", [2025]),
    ("Rà soát 2025 (sửa)", [2025]),
    ("DANH S¸CH Hé NGHÌO N¡M 2025", [2025]),                          # a TCVN3 title: the year still reads
    # Not the review year: the date above the signatures, a decision's number, the standard's period, a date.
    ("Phong Điền, ngày 15 tháng 12 năm 2025", []),
    ("Cần Thơ, ngày .... tháng .... năm 2025", []),                    # a date line with its day left blank
    ("theo Nghị định 07/2021/NĐ-CP", []),
    ("Quyết định số 24/2021/QĐ-TTg", []),
    ("chuẩn nghèo giai đoạn 2022-2025", []),
    ("chuẩn nghèo giai đoạn 2022-2025, năm 2024", [2024]),
    ("xuat ngay 2025-12-03", []),
    ("export_20251203", []),
    ("UBND XÃ TRƯỜNG LONG", []),
    ("Năm 1985", []),                                                  # not a plausible review year
    ("từ năm 2022 đến năm 2025", []),
])
def test_years_in_titles_sheet_names_and_file_names(text, years):
    assert years_in(text) == years


def test_a_sheet_without_a_year_takes_its_workbooks():
    years, stop, _ = decide("ds.xlsx", {"Xã A": SheetYears(title=[2025], rows_without=4),
                                        "Xã B": SheetYears(rows_without=3)}, "src", None)
    assert stop is None and years == {"Xã A": 2025, "Xã B": 2025}
    years, stop, _ = decide("ds-2025.xlsx", {"Xã A": SheetYears(rows_without=4)}, "src", None)
    assert stop is None and years == {"Xã A": 2025}


def test_places_that_disagree_stop_the_file_with_one_sentence_naming_them():
    _, stop, _ = decide("ds-2024.xlsx", {"Xã A": SheetYears(title=[2025], rows_without=4)}, "src", None)
    assert "the title of sheet «Xã A» says 2025, the file name says 2024" in stop
    assert "Set `assessment_year` for source 'src'" in stop and stop.startswith("Tệp «ds-2024.xlsx» chưa được nạp")
    _, stop, _ = decide("ds.xlsx", {"Xã A": SheetYears(title=[2025], column=[2024], rows_without=0)}, "src", None)
    assert "the year column of sheet «Xã A» says 2024, the title says 2025" in stop
    _, stop, _ = decide("ds.xlsx", {"Xã A": SheetYears(title=[2024], rows_without=2),
                                    "Xã B": SheetYears(title=[2025], rows_without=2)}, "src", None)
    assert stop is None or "unclear" in stop          # two sheets, two reviews: each sheet keeps its own year


def test_no_year_anywhere_stops_unless_the_source_says_it():
    _, stop, _ = decide("ds.xlsx", {"Xã A": SheetYears(rows_without=5)}, "src", None)
    assert "no assessment year" in stop and "neither the title, the sheet name nor the file name" in stop
    years, stop, _ = decide("ds.xlsx", {"Xã A": SheetYears(rows_without=5)}, "src", 2025)
    assert stop is None and years == {"Xã A": 2025}
    # A column filled on every row needs nothing else.
    years, stop, _ = decide("ds.xlsx", {"Xã A": SheetYears(column=[2025], rows_without=0)}, "src", None)
    assert stop is None
    # The source's year wins over a column that says otherwise, and the run says so.
    _, stop, notes = decide("ds.xlsx", {"Xã A": SheetYears(column=[2024], rows_without=0)}, "src", 2025)
    assert stop is None and "the source's assessment_year 2025 is used" in notes[0]
