"""Value readers: dates in every common form, IDs stored as numbers, text normalisation."""
import datetime as dt

import pandas as pd

from mappings.text import clean, fold, name_case
from mappings.values import normalise_ids, parse_dates


def test_dates_every_common_form():
    values = pd.Series(["12/03/1985", "1985-03-12", "1-3-85", 31118.0, "1985-03-12T00:00:00", "5.3.1985"],
                       dtype=object)
    out = parse_dates(values, today=dt.date(2026, 11, 22))
    assert list(out["date"]) == ["1985-03-12", "1985-03-12", "1985-03-01", "1985-03-12", "1985-03-12", "1985-03-05"]
    assert out["ok"].all()
    assert set(out["precision"]) == {"day"}


def test_year_alone_stays_a_year():
    out = parse_dates(pd.Series(["1948", 1948, 1948.0], dtype=object))
    assert out["date"].isna().all()
    assert list(out["year"]) == [1948, 1948, 1948]
    assert list(out["precision"]) == ["year"] * 3


def test_impossible_dates_are_not_ok():
    out = parse_dates(pd.Series(["31/02/1985", "15/13/1990", "abc", None], dtype=object))
    assert list(out["ok"]) == [False, False, False, True]
    assert out["date"].isna().all()


def test_two_digit_years_pivot_on_today():
    out = parse_dates(pd.Series(["1/1/24", "1/1/48"], dtype=object), today=dt.date(2026, 1, 1))
    assert list(out["year"]) == [2024, 1948]


def test_id_stored_as_number_gets_its_zero_back_only_from_a_number_cell():
    ids = pd.Series(["092085012345", 92085012345.0, "9.2085E+10", "12345", "012345678", None], dtype=object)
    was_number = pd.Series([False, True, False, False, False, False])
    out = normalise_ids(ids, was_number)
    assert out.loc[0, "id_number"] == "092085012345" and not out.loc[0, "candidate"]
    assert out.loc[1, "id_number"] == "092085012345" and out.loc[1, "candidate"]
    assert out.loc[2, "problem"] == "scientific"
    assert out.loc[3, "problem"] == "format"
    assert pd.isna(out.loc[4, "problem"]) and out.loc[4, "id_number"] == "012345678"
    assert pd.isna(out.loc[5, "id_number"])


def test_hanoi_cccd_stored_as_number_loses_two_zeros_and_gets_both_back():
    out = normalise_ids(pd.Series([1085012345, "1085012345"], dtype=object), pd.Series([True, False]))
    assert out.loc[0, "id_number"] == "001085012345" and out.loc[0, "candidate"]
    assert out.loc[1, "problem"] == "format"      # typed as text: nothing to prove the zeros


def test_fold_ignores_accents_case_spacing_punctuation():
    assert fold("Họ và tên") == fold("HỌ VÀ TÊN") == fold("Ho va ten") == "hovaten"
    assert fold("Họ tên") == fold("HoTen") == "hoten"
    assert fold("Số CCCD/CMND") == "socccdcmnd"
    assert fold("Đắk Lắk") == "daklak"


def test_clean_and_name_case():
    assert clean("  Nguyễn   Văn\tAn ") == "Nguyễn Văn An"
    names = pd.Series(["NGUYỄN VĂN AN", "Trần Thị Bé", "lê văn c"], dtype="string")
    assert list(name_case(names)) == ["Nguyễn Văn An", "Trần Thị Bé", "lê văn c"]
