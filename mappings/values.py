"""Reads written values into typed MIS values: dates in every common form, and ID numbers stored as numbers."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from mappings.text import on_distinct

_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def parse_dates(values: pd.Series, today: dt.date | None = None) -> pd.DataFrame:
    """Columns: date (ISO text or <NA>), year (Int64), precision ('day' | 'year' | <NA>), ok (bool).

    A year alone stays a year (precision 'year'), never 1 January. ok is False when a value was
    written but is not a date. Each distinct value is read once: a roster repeats its dates.
    """
    return on_distinct(values, lambda distinct: _parse_dates(distinct, today or dt.date.today()))


def _parse_dates(values: pd.Series, today: dt.date) -> pd.DataFrame:
    text = values.astype("string").str.strip()
    text = text.str.replace(r"\.0$", "", regex=True)
    out = pd.DataFrame(index=values.index)
    y = pd.Series(pd.NA, index=values.index, dtype="Int64")
    m = y.copy()
    d = y.copy()

    iso = text.str.extract(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+)?$")
    dmy = text.str.extract(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})$")
    year_only = text.str.extract(r"^(\d{4})$")[0]
    serial = pd.to_numeric(text.where(text.str.fullmatch(r"\d{3,5}(?:\.\d+)?", na=False)), errors="coerce")

    has_iso = iso[0].notna()
    y = y.mask(has_iso, pd.to_numeric(iso[0], errors="coerce").astype("Int64"))
    m = m.mask(has_iso, pd.to_numeric(iso[1], errors="coerce").astype("Int64"))
    d = d.mask(has_iso, pd.to_numeric(iso[2], errors="coerce").astype("Int64"))

    has_dmy = dmy[0].notna()
    yy = pd.to_numeric(dmy[2], errors="coerce").astype("Int64")
    two = dmy[2].str.len() == 2
    pivot = today.year % 100
    yy = yy.mask(two & (yy <= pivot), yy + 2000).mask(two & (yy > pivot), yy + 1900)
    y = y.mask(has_dmy, yy)
    m = m.mask(has_dmy, pd.to_numeric(dmy[1], errors="coerce").astype("Int64"))
    d = d.mask(has_dmy, pd.to_numeric(dmy[0], errors="coerce").astype("Int64"))

    yo = pd.to_numeric(year_only, errors="coerce").astype("Int64")
    is_year = yo.notna() & (yo >= 1850) & (yo <= 2200)
    # Numbers that are not a plausible year are Excel serial day counts.
    is_serial = serial.notna() & ~is_year
    serial_dates = _EXCEL_EPOCH + pd.to_timedelta(serial.where(is_serial).fillna(0).astype("int64"), unit="D")
    y = y.mask(is_serial, serial_dates.dt.year.astype("Int64"))
    m = m.mask(is_serial, serial_dates.dt.month.astype("Int64"))
    d = d.mask(is_serial, serial_dates.dt.day.astype("Int64"))

    full = pd.to_datetime(pd.DataFrame({"year": y, "month": m, "day": d}).astype("float64"), errors="coerce")
    valid_full = full.notna()
    # A day and month of 00 say "only the year is known" (MySQL's 1985-00-00, a roster's 00/00/1985).
    # Any other zero or impossible part (1985-00-12, 0000-00-00, 31/02/1980) is not a date.
    zero_parts = (m == 0).fillna(False) & (d == 0).fillna(False) & (y >= 1850).fillna(False) & (y <= 2200).fillna(False)
    is_year = is_year | zero_parts
    yo = yo.mask(zero_parts, y)
    out["date"] = full.dt.strftime("%Y-%m-%d").astype("string").where(valid_full)
    out["year"] = full.dt.year.astype("Int64").where(valid_full, yo.where(is_year))
    out["precision"] = pd.Series(np.where(valid_full, "day", np.where(is_year, "year", None)),  # type: ignore[call-overload]
                                 index=values.index, dtype="string")
    out["ok"] = text.isna() | valid_full | is_year
    return out


def normalise_ids(values: pd.Series, was_number: pd.Series) -> pd.DataFrame:
    """Columns: id_number (digits), candidate (bool: a lost leading zero was put back, to be proved), problem.

    problem: None, 'scientific' (Excel rounded the number: digits are lost, cannot be recovered),
    or 'format' (not 9 or 12 digits).
    """
    text = values.astype("string").str.strip()
    text = text.str.replace(r"\.0$", "", regex=True)
    compact = text.str.replace(r"[\s.\-]", "", regex=True)
    scientific = text.str.fullmatch(r"\d(?:[.,]\d+)?[eE]\+?\d+", na=False)
    digits = compact.where(compact.str.fullmatch(r"\d+", na=False))
    # A number cell drops every leading zero: a CCCD of a person born in Hà Nội (001...) shows 10 digits.
    number = was_number.fillna(False).astype(bool)
    eleven = (digits.str.len() == 11) | (number & (digits.str.len() == 10))
    eight = number & digits.str.len().isin([7, 8])
    fixed = digits.mask(eleven, digits.str.zfill(12)).mask(eight, digits.str.zfill(9))
    ok_len = fixed.str.len().isin([9, 12])
    out = pd.DataFrame(index=values.index)
    out["id_number"] = fixed.where(ok_len.fillna(False), text)
    out["candidate"] = (eleven | eight).fillna(False)
    problem = pd.Series(pd.NA, index=values.index, dtype="string")
    problem = problem.mask(text.notna() & ~ok_len.fillna(False), "format")
    problem = problem.mask(scientific, "scientific")
    out["problem"] = problem
    return out
