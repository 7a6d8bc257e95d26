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
    s = unicodedata.normalize("NFD", str(text).lower().replace("đ", "d").replace("Đ", "d"))
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn")
    return _NON_ALNUM.sub("", s)


def clean(text) -> str | None:
    """NFC, trimmed, inner spaces collapsed; None for blank."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    s = _SPACE.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFC", str(text)))).strip()
    return s or None


def clean_series(values: pd.Series) -> pd.Series:
    """clean() over a column, vectorised over its distinct values (a roster repeats most of its cells)."""
    codes, distinct = pd.factorize(values.astype("string"))
    s = pd.Series(distinct, dtype="string").str.normalize("NFC").str.replace(_INVISIBLE, "", regex=True)
    s = s.str.replace(_SPACE, " ", regex=True).str.strip()
    s = s.mask(s == "")
    out = pd.array(s.to_numpy(dtype=object)[codes], dtype="string") if len(s) else \
        pd.array([pd.NA] * len(values), dtype="string")
    out[codes < 0] = pd.NA
    return pd.Series(out, index=values.index, name=values.name)


def map_distinct(values: pd.Series, func, dtype="string") -> pd.Series:
    """func over a column, called once per distinct value (blank stays blank). Faster than Series.map with
    a dict, which looks every cell up in an index."""
    codes, distinct = pd.factorize(values)
    results = np.empty(len(distinct) + 1, dtype=object)
    results[:-1] = [func(v) for v in distinct]
    results[-1] = None                     # code -1, a blank cell
    return pd.Series(pd.array(results[codes], dtype=dtype), index=values.index, name=values.name)


def fold_series(values: pd.Series) -> pd.Series:
    """fold() over a column, computed once per distinct value."""
    return map_distinct(values, fold)


def name_case(values: pd.Series) -> pd.Series:
    """Title-case names written all in capitals ("NGUYỄN VĂN AN" -> "Nguyễn Văn An"); others untouched."""
    upper = values.str.upper() == values
    has_letters = values.str.contains(r"[^\W\d_]", regex=True, na=False)
    return values.mask(upper & has_letters, values.str.title())
