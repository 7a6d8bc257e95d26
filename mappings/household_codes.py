"""Household codes as a roster writes them, the households they group rows into, and their keys in the MIS."""
from __future__ import annotations

import pandas as pd

from mappings.text import clean_series, fold_series, on_distinct


def local_codes(frame: pd.DataFrame) -> pd.Series:
    """Each row's household code as the district writes it, carried down to the members (rosters that
    write it on the head's row only), within its own sheet: a sheet never takes another's last code."""
    if "household_code" not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    codes = on_distinct(clean_series(frame["household_code"]), _no_point_zero)
    return codes.groupby([frame["source_file"], frame["source_sheet"]], sort=False).ffill()


def household_blocks(frame: pd.DataFrame, codes: pd.Series | None = None) -> pd.Series:
    """A number per run of consecutive rows of one sheet with one household code: a household as the
    roster writes it. Household fields written on its head's row only are spread within its block, so
    "001" of one commune never lends its category to "001" of the next."""
    codes = local_codes(frame) if codes is None else codes
    sheet = frame["source_file"].astype("string") + "\x1f" + frame["source_sheet"].astype("string")
    folded = fold_series(codes).fillna("")
    starts = ((folded != folded.shift()) | (sheet != sheet.shift())).fillna(True).astype(bool)
    if "block_break" in frame:
        # Rows left out of a narrowed read between two rows: other households', so a block ends there, and
        # "001" of one commune never runs on into "001" of the next (mappings.roster.ORIGIN).
        starts |= frame["block_break"].fillna(False).astype(bool).to_numpy()
    return starts.cumsum()


def household_groups(frame: pd.DataFrame) -> pd.Series:
    """Each row's household before its units are known: its sheet, its commune as written and its folded
    code. Rows a roster writes "H01" and " h01" are one group, and a group never holds part of a
    household; local codes that restart in each commune ("001") are different groups."""
    if "household_code" not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    codes = local_codes(frame)
    blocks = household_blocks(frame, codes)
    commune = pd.Series(pd.NA, index=frame.index, dtype="string")
    for name in ("commune_code", "commune"):
        if name in frame:
            commune = commune.fillna(on_distinct(clean_series(frame[name]), _no_point_zero))
    commune = commune.groupby(blocks).transform("first")
    # Not the file: a workbook renamed or split in two holds the same households (mis.snapshot digests).
    label = frame["source_sheet"].astype("string") + "|" + fold_series(commune).fillna("") + "|" + fold_series(codes)
    return label.where(codes.notna())


def one_row_per_household(frame: pd.DataFrame, groups: pd.Series | None = None) -> bool:
    """A roster of heads only: no relation column, and no household repeats.
    groups: household_groups(frame), when the caller has it already."""
    groups = household_groups(frame) if groups is None else groups
    return ("relation" not in frame or clean_series(frame["relation"]).isna().all()) and \
        not groups.dropna().duplicated().any()


SCOPES = ("commune", "district", "province")


def household_keys(local: pd.Series, commune_code: pd.Series, commune_code_pre2025: pd.Series,
                   district_code_pre2025: pd.Series, province_code: str, scope: str,
                   unknown_place: pd.Series | None = None, communes: set[str] | None = None) -> pd.Series:
    """A household's key in the MIS: its code qualified by the unit within which the source's codes are
    unique ("31300/001", "927/HH0015"), never by the source, so that a household keeps its key when it
    later arrives from another source. A code whose shape already carries its commune code
    ("31300-0015", "313000015") is its own key, even on a row placed in another commune (then its
    household is one household in two communes, and the rules say so). communes: the commune codes such
    a code may begin with (the province's); without it, the row's own. A row whose unit is unknown
    (rejected for it) keeps its code qualified by what it wrote, so that its household still holds together."""
    local = local.astype("string")
    pre = commune_code_pre2025.astype("string")
    cur = commune_code.astype("string")
    digits = local.str.replace(r"\D", "", regex=True)
    head = digits.str.slice(0, 5).where(digits.str.len() > 5)     # commune codes have 5 digits
    carries = (head == pre).fillna(False) | (head == cur).fillna(False)
    if communes:
        carries = carries | head.isin(communes).fillna(False)
    qualifier = {"commune": pre.fillna(cur), "district": district_code_pre2025.astype("string"),
                 "province": pd.Series(province_code, index=local.index, dtype="string")}[scope]
    if scope == "district":
        qualifier = qualifier.fillna(pd.Series(province_code, index=local.index, dtype="string"))
    if unknown_place is not None:
        qualifier = qualifier.fillna("?" + fold_series(unknown_place.astype("string")).fillna(""))
    keyed = (qualifier + "/" + local).where(local.notna())
    return keyed.mask(carries.fillna(False), local)


def _no_point_zero(values: pd.Series) -> pd.Series:
    """A number cell's text without its ".0": 1234.0 -> 1234."""
    return values.str.replace(r"\.0$", "", regex=True)
