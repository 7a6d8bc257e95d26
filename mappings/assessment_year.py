"""The assessment year of each roster sheet: the review year written on the list, wherever it is written.

The poverty category means nothing without its year, and a roster often does not have a year
column: the year stands in the title ("DANH SÁCH HỘ NGHÈO NĂM 2025"), the sheet name ("Năm 2025") or
the file name ("ds-ho-ngheo-2025.xlsx"), or nowhere (the province knows which review the file
belongs to, and says so with the source's `assessment_year`). Where the places disagree, or none
gives a year, the file stops with one sentence: a household is never stored without its assessment.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

YEAR_MIN, YEAR_MAX = 2000, 2100

# What is not the review year although it holds one: dates ("ngày 15 tháng 12 năm 2025", 15/12/2025,
# 2025-12-15), legal references ("Nghị định 07/2021/NĐ-CP", "Quyết định số 24/2021/QĐ-TTg") and the
# standard's period ("giai đoạn 2022-2025").
_NOT_THE_YEAR = [re.compile(p) for p in (
    r"ngay[\s.…_\d]*thang[\s.…_\d]*nam\s*\d{4}",          # dated, or with the day left blank ("ngày .... tháng")
    r"thang[\s.…_\d]*(?:nam|/)\s*\d{4}",
    r"\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{4}",
    r"\d{4}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{1,2}",
    r"\d+\s*/\s*\d{4}\s*/\s*[a-z]",
    r"giai\s*doan\s*\d{4}\s*[-–—]\s*\d{4}",
    r"(?:tu|den)\s*nam\s*\d{4}",
)]
_EXPLICIT = re.compile(r"nam\s*(?:ra\s*soat\s*|danh\s*gia\s*)?(\d{4})(?!\d)")
_BARE = re.compile(r"(?<!\d)((?:19|20|21)\d{2})(?!\d)")


def _plain(text: str) -> str:
    """Lower case without accents, đ as d: "NĂM 2025" and "nam 2025" read alike."""
    s = unicodedata.normalize("NFD", str(text).lower().replace("đ", "d").replace("Đ", "d"))
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn")
    return re.sub(r"[_]+", " ", s)


def years_in(text) -> list[int]:
    """The review years a title, a sheet name or a file name states: "năm 2025" first, else a bare year."""
    if text is None:
        return []
    s = _plain(text)
    for pattern in _NOT_THE_YEAR:
        s = pattern.sub(" ", s)
    found = [int(y) for y in _EXPLICIT.findall(s)] or [int(y) for y in _BARE.findall(s)]
    return sorted({y for y in found if YEAR_MIN <= y <= YEAR_MAX})


@dataclass
class SheetYears:
    """Where one sheet's year may be written; filled by mappings.roster.map_sheet."""
    title: list[int] = field(default_factory=list)
    sheet: list[int] = field(default_factory=list)
    column: list[int] = field(default_factory=list)    # distinct years of the assessment-year column
    rows_without: int = 0                              # data rows whose column cell is blank (or no column)


PLACES = {"title": "the title", "sheet": "the sheet name", "file": "the file name", "column": "the year column"}


def decide(file: str, sheets: dict[str, SheetYears], source_id: str, configured: int | None
           ) -> tuple[dict[str, int], str | None, list[str]]:
    """See _decide; the sentence that stops a file is said in Vietnamese, then in English."""
    years, stop, notes = _decide(file, sheets, source_id, configured)
    if stop:
        why = ("không nơi nào trong tệp ghi năm rà soát" if ": no assessment year:" in stop
               else "các nơi trong tệp ghi năm rà soát không khớp nhau")
        stop = (f"Tệp «{file}» chưa được nạp vì {why}; cán bộ tỉnh khai báo năm rà soát (assessment_year) cho "
                f"nguồn, hoặc sửa tệp. / {stop}")
    return years, stop, notes


def _decide(file: str, sheets: dict[str, SheetYears], source_id: str, configured: int | None
            ) -> tuple[dict[str, int], str | None, list[str]]:
    """({sheet: year for its blank cells}, the sentence that stops the file or None, notes).

    configured (the source's `assessment_year`) wins. Otherwise a sheet's year is its column where
    filled, else its title rows or its name, else its workbook's (the file name, or the year every
    sheet that states one agrees on). Places that disagree, or a sheet whose rows get no year, stop
    the file.
    """
    notes: list[str] = []
    if configured is not None:
        for name, s in sheets.items():
            other = [y for y in s.column if y != configured]
            if other:
                notes.append(f"{file} / {name}: the year column says {', '.join(map(str, other))}; the source's "
                             f"assessment_year {configured} is used, as misgw.yaml says")
        return {name: configured for name in sheets}, None, notes
    fix = (f"Set `assessment_year` for source '{source_id}' in misgw.yaml (the review year this file belongs "
           "to), or correct the file.")
    file_years = years_in(re.sub(r"\.[A-Za-z0-9]{2,4}$", "", file))
    if len(file_years) > 1:
        return {}, f"{file}: the file name gives several years ({_list(file_years)}): the assessment year is unclear. {fix}", notes
    stated = {}
    for name, s in sheets.items():
        places = {p: ys for p, ys in (("title", s.title), ("sheet", s.sheet)) if ys}
        years = sorted({y for ys in places.values() for y in ys})
        if len(years) > 1:
            said = "; ".join(f"{PLACES[p]} of sheet «{name}» says {_list(ys)}" for p, ys in places.items())
            return {}, f"{file}: the assessment year is unclear: {said}. {fix}", notes
        if years:
            stated[name] = (years[0], places)
    workbook = file_years[0] if file_years else None
    year: int | None
    if workbook is not None:
        for name, (year, places) in stated.items():
            if year != workbook:
                said = "; ".join(f"{PLACES[p]} of sheet «{name}» says {_list(ys)}" for p, ys in places.items())
                return {}, (f"{file}: the assessment year is unclear: {said}, the file name says {workbook}. {fix}"), notes
    elif len({y for y, _ in stated.values()}) == 1:
        workbook = next(iter(stated.values()))[0]
    out = {}
    for name, s in sheets.items():
        year = stated[name][0] if name in stated else workbook
        if year is not None and any(y != year for y in s.column):
            other = [y for y in s.column if y != year]
            where = _describe_origin(name, stated, file_years)
            return {}, (f"{file}: the assessment year is unclear: the year column of sheet «{name}» says "
                        f"{_list(other)}, {where} says {year}. {fix}"), notes
        if year is None and s.rows_without:
            if s.column:
                why = f"{s.rows_without} row(s) of sheet «{name}» have no year in the year column"
            else:
                why = f"sheet «{name}» has no year column"
            return {}, (f"{file}: no assessment year: {why}, and neither the title, the sheet name nor the "
                        f"file name give one. {fix}"), notes
        if year is not None:
            out[name] = year
    return out, None, notes


def _describe_origin(sheet: str, stated: dict, file_years: list[int]) -> str:
    if sheet in stated:
        return " and ".join(f"{PLACES[p]}" for p in stated[sheet][1])
    return PLACES["file"] if file_years else "the other sheets"


def _list(years) -> str:
    return ", ".join(str(y) for y in years)


def column_years(values: pd.Series) -> tuple[list[int], int]:
    """(the distinct plausible years of a raw year column, the number of blank cells). A cell that is not a
    year is left to the rules (format.number), not counted here."""
    text = pd.Series(values, dtype=object).map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v))
                                                else str(v).strip() or None)
    number = pd.to_numeric(text.str.replace(r"\.0$", "", regex=True), errors="coerce")
    years = sorted({int(y) for y in number.dropna() if YEAR_MIN <= y <= YEAR_MAX and y == int(y)})
    return years, int(text.isna().sum())
