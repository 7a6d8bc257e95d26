"""Whether a column's values fit the field its header names: a column means what its values say.

A header is only a claim. "Khu vực" is the urban/rural area in one template and the hamlet ("Khu vực
3") in Cần Thơ's wards; "GT" with 0/1 is a sex column whose codes the source must declare. Before a
header's field is accepted, at least FIT_MIN of the column's non-blank values must parse as that
field; each distinct value is read once.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from mappings import codelists
from mappings.legacy_fonts import decode_series
from mappings.text import clean_series, on_distinct
from mappings.values import parse_dates

FIT_MIN = 0.9
EXCEL_ERRORS = r"#(?:REF!|VALUE!|DIV/0!|N/A|NAME\?|NUM!|NULL!|SPILL!|CALC!|FIELD!|BLOCKED!|UNKNOWN!|GETTING_DATA)"
# The code list a coded field's values are read through (the same as translate's).
CODED = {"relation": "relation", "sex": "sex", "ethnicity": "ethnicity", "poverty_category": "poverty_category",
         "area": "area"}
INDICATOR_PREFIX = "d_"
# Whole numbers a field takes: (smallest, largest).
_WHOLE = {"assessment_year": (2000, 2100), "member_count": (1, 99), "deprivation_count": (0, 14)}


@dataclass
class Fit:
    share: float                 # of the non-blank values, the part that parses
    values: int                  # non-blank values
    examples: list[str]          # a few values that do not parse, as written
    codes: bool = False          # every value that does not parse looks like a code ("0", "K", "HN2")

    @property
    def ok(self) -> bool:
        """FIT_MIN of the values parse. On a small sheet one typo among good values is still a typo (one bad
        sex of five is a row to fix, not a column that means something else); so is a minority of words
        the list does not know ("Không rõ"). A column whose other values are codes (sex 1 and 0) holds the
        source's own codes, which provincial IT declares."""
        bad = round(self.values * (1 - self.share))
        return (self.values == 0 or self.share >= FIT_MIN or (bad <= 1 and self.values - bad >= 1)
                or (self.share >= 0.5 and not self.codes))


def text_of(values: pd.Series) -> pd.Series:
    """Cells as cleaned text; a number cell's ".0" dropped (1.0 -> "1")."""
    text = clean_series(pd.Series(values, dtype=object).map(lambda v: None if v is None else str(v)))
    return on_distinct(text, lambda s: s.str.replace(r"\.0$", "", regex=True))


def column_fit(field: str, values: pd.Series, own: dict | None = None, edition: str | None = None,
               bare: dict | None = None) -> Fit:
    """How well a column's values (raw cells) fit `field`. own: the source's own codes for it."""
    # Each distinct cell is read once: counted as it is, then as text (1 and 1.0 are one value, "1").
    raw = values.value_counts(dropna=True, sort=False)
    text = text_of(pd.Series(raw.index, dtype=object))
    counts = pd.Series(raw.to_numpy(), index=text.to_numpy())
    # A cell whose formula broke (#REF!) holds no value at all: it says nothing about the column.
    counts = counts[text.notna().to_numpy() & ~text.str.fullmatch(EXCEL_ERRORS).fillna(False).to_numpy()]
    if counts.empty:
        return Fit(1.0, 0, [])
    if field in CODED or field.startswith(INDICATOR_PREFIX):
        if not "".join(counts.index).isascii():
            decoded, _ = decode_series(pd.Series(counts.index, dtype=object))
            counts.index = pd.Index(decoded.astype("string").to_numpy())
    counts = counts.groupby(level=0, sort=False).sum().sort_values(ascending=False, kind="stable")
    distinct = pd.Series(counts.index, dtype="string")
    good = _parses(field, distinct, own, edition or "2008", bare).to_numpy()
    total = int(counts.sum())
    share = float(counts.to_numpy()[good].sum()) / total
    unread = distinct[~good]
    codes = bool(len(unread)) and bool(unread.str.fullmatch(r"[0-9A-Za-z]{1,3}").fillna(False).all())
    return Fit(share, total, [str(v) for v in unread.head(4)], codes)


def _parses(field: str, distinct: pd.Series, own, edition: str, bare) -> pd.Series:
    if field in CODED:
        return distinct.map(lambda v: codelists.code_of(v, CODED[field], edition, own, bare) is not None).astype(bool)
    if field.startswith(INDICATOR_PREFIX):
        return distinct.map(lambda v: codelists.code_of(v, "yes_no") is not None).astype(bool)
    if field in ("birth_date", "approval_date"):
        # Date-shaped is enough: an impossible date (31/02/1980, MySQL's 1985-00-12) is still a date the
        # column holds, rejected on its own row with its reason; a column of names is not.
        shaped = distinct.str.fullmatch(r"\d{1,4}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{1,4}(?:[T ][\d:.]+)?").fillna(False)
        parsed = shaped.astype(bool).copy()
        rest = ~parsed.to_numpy()          # only what is not date-shaped needs parsing (a year, "tháng 3/1980")
        parsed[rest] = parse_dates(distinct[rest])["ok"].fillna(False).astype(bool).to_numpy()
        return parsed & distinct.notna()
    if field == "id_number":
        compact = distinct.str.replace(r"[\s.\-]", "", regex=True)
        return (compact.str.fullmatch(r"\d{7,12}") | distinct.str.fullmatch(r"\d(?:[.,]\d+)?[eE]\+?\d+")).fillna(False)
    if field == "full_name":
        return (distinct.str.contains(r"[^\W\d_]", regex=True) & ~distinct.str.contains(r"\d", regex=True)).fillna(False)
    if field == "income_per_capita":
        number = pd.to_numeric(distinct.str.replace(r"[.,\s]|đ|VND|vnd|đồng", "", regex=True), errors="coerce")
        return (number.notna() & (number >= 0)).astype(bool)
    if field in _WHOLE:
        low, high = _WHOLE[field]
        number = pd.to_numeric(distinct, errors="coerce")
        return (number.notna() & (number == number.round()) & (number >= low) & (number <= high)).astype(bool)
    return pd.Series(True, index=distinct.index)


# ------------------------------------------------------------------ ethnicity codes: which GSO list
@lru_cache(maxsize=None)
def _regions() -> list[dict]:
    return codelists._load("ethnicity.yaml").get("regions") or []


def ethnicity_edition_hint(values: pd.Series, province_code: str | None) -> dict | None:
    """When a column of ethnicity *codes* reads as the 1979 list and not as the 2008 one in the source's
    region, what shows it: {"codes": {...}, "as_2008": share, "as_1979": share}; else None.

    Codes 01-03 mean the same in both lists; from 04 on they differ (2008: 04 Mường, 06 Hoa; 1979:
    04 Hoa, 06 Mường). In the Mekong Delta a roster's 04 is Hoa far more often than Mường.
    """
    region = next((r for r in _regions() if province_code in r["provinces"]), None)
    if region is None:
        return None
    text = text_of(values).dropna()
    codes = text[text.str.fullmatch(r"\d{1,2}")].str.zfill(2)
    if len(codes) < 0.9 * len(text) or codes.empty:
        return None
    differing = codes[codes > "03"]
    if len(differing) < 3:
        return None
    plausible = set(region["groups"])
    by_1979 = {g.get("code_1979"): c for c, g in codelists._load("ethnicity.yaml")["groups"].items()}
    as_2008 = float(differing.isin(plausible).mean())
    as_1979 = float(differing.map(by_1979).isin(plausible).mean())
    if as_1979 >= 0.95 and as_2008 <= 0.6:
        return {"codes": {k: int(v) for k, v in differing.value_counts().head(5).items()},
                "as_2008": round(as_2008, 2), "as_1979": round(as_1979, 2), "region": region["name"]}
    return None
