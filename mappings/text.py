"""Text normalisation shared by every mapping: NFC, spacing, and the accent-free key used for matching."""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

# Control characters (a pasted tab, a NUL from a legacy export) separate words like spaces; invisible
# format marks (right-to-left marks, zero-width spaces, a stray BOM) are nothing at all.
_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text) -> str:
    """Accent-, case-, space- and punctuation-free key: "Họ và tên" -> "hovaten"."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    # NFD splits a letter from its marks; the marks, like every character outside [0-9a-z], then go.
    return _NON_ALNUM.sub("", unicodedata.normalize("NFD", str(text).lower().replace("đ", "d").replace("Đ", "d")))


def clean(text) -> str | None:
    """NFC, trimmed, inner spaces collapsed; None for blank."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    s = _SPACE.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFC", str(text)))).strip()
    return s or None


def on_distinct(values: pd.Series, func):
    """func, a vectorised function of a string Series (or one returning a frame, row for row), computed
    over the column's distinct values only and spread back to its rows: a roster repeats most cells."""
    if values.isna().all():
        # A field the roster has no column for (most of the vocabulary's): func of the blank, on every row.
        return func(pd.Series(pd.array([pd.NA], dtype="string"))).iloc[np.zeros(len(values), dtype=np.intp)] \
            .set_axis(values.index)
    codes, distinct = pd.factorize(values.astype("string"))
    # Built from an object array: unpacking a string array into a list goes through pandas per value.
    distinct_and_blank = np.append(np.asarray(distinct, dtype=object), pd.NA)
    result = func(pd.Series(pd.array(distinct_and_blank, dtype="string")))
    codes = np.where(codes < 0, len(distinct), codes)          # a blank cell: the appended <NA>
    return result.iloc[codes].set_axis(values.index)


def clean_series(values: pd.Series) -> pd.Series:
    """clean() over a column, vectorised over its distinct values."""
    def cleaned(s: pd.Series) -> pd.Series:
        s = s.str.normalize("NFC").str.replace(_INVISIBLE, "", regex=True)
        s = s.str.replace(_SPACE, " ", regex=True).str.strip()
        return s.mask(s == "")

    return on_distinct(values, cleaned).rename(values.name)


def map_distinct(values: pd.Series, func, dtype="string") -> pd.Series:
    """func over a column, called once per distinct value (blank stays blank). Faster than Series.map with
    a dict, which looks every cell up in an index."""
    return on_distinct(values, lambda distinct: pd.Series(pd.array(
        [None if v is pd.NA else func(v) for v in distinct.to_numpy(dtype=object)], dtype=dtype))).rename(values.name)


def fold_series(values: pd.Series) -> pd.Series:
    """fold() over a column, computed once per distinct value."""
    return map_distinct(values, fold)


def name_case(values: pd.Series) -> pd.Series:
    """Title-case names written all in capitals ("NGUYỄN VĂN AN" -> "Nguyễn Văn An"); others untouched."""
    def cased(names: pd.Series) -> pd.Series:
        upper = names.str.upper() == names
        has_letters = names.str.contains(r"[^\W\d_]", regex=True, na=False)
        return names.mask(upper & has_letters, names.str.title())

    return on_distinct(values, cased).rename(values.name)
