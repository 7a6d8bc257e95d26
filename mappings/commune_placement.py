"""Each row's commune, from its code, its name or its sheet's name, placed among the pre-2025 and current units."""
from __future__ import annotations

import pandas as pd

from mappings.household_codes import _no_point_zero
from mappings.text import fold_series, on_distinct

_COMMUNE_PREFIXES = ("xa", "phuong", "thitran")


def unit_codes(units: pd.DataFrame) -> set[str]:
    """Every commune code of a placement table (pre-2025 and current)."""
    return {str(c) for col in ("commune_code_pre2025", "commune_code") if col in units for c in units[col].dropna()}


def _place_communes(out: pd.DataFrame, text: pd.DataFrame, units: pd.DataFrame, district_code: str | None) -> None:
    """Resolve each row's commune (code, name, or the sheet's name) to the pre-2025 unit, then to the current one."""
    scope = units if district_code is None else units[units["district_code_pre2025"] == district_code]
    by_code = units.set_index("commune_code_pre2025")
    by_name_of = _name_lookup(scope["name"], scope["commune_code_pre2025"])
    code, names = _code_or_name(text)
    by_name = by_name_of(names)
    by_sheet = by_name_of(out["source_sheet"])
    resolved = code.where(code.notna(), by_name).where(code.notna() | names.notna(), by_sheet)
    written = text["commune_code"].fillna(text["commune"]).fillna(out["source_sheet"].astype("string"))
    known = resolved.isin(by_code.index)
    out["commune_code_pre2025"] = resolved.where(known)
    out["raw_commune_any"] = written
    out["district_code_pre2025"] = out["commune_code_pre2025"].map(by_code["district_code_pre2025"])
    out["commune_level"] = out["commune_code_pre2025"].map(by_code["level"])
    out["commune_code"] = out["commune_code_pre2025"].map(by_code["commune_code"])
    described = {code: ", ".join(f"{n} ({c})" for c, n in zip(cands, names))
                 for code, cands, names in zip(units["commune_code_pre2025"], units["candidates"],
                                               units["candidate_names"])}
    out["commune_candidates"] = out["commune_code_pre2025"].map(described)


def _place_current_communes(out: pd.DataFrame, text: pd.DataFrame, communes: pd.DataFrame) -> None:
    """A roster made after 1 July 2025 names the current communes: codes or names of the two-level units.

    communes: mis.units.current_communes of the province (commune_code, name). Codes are read in
    this era only: a bare 00004 is the new Phường Ba Đình, not the old Phường Trúc Bạch.
    """
    by_name_of = _name_lookup(communes["name"], communes["commune_code"])
    code, written_names = _code_or_name(text)
    resolved = code.where(code.notna(), by_name_of(written_names)) \
        .where(code.notna() | written_names.notna(), by_name_of(out["source_sheet"]))
    names = communes.set_index("commune_code")["name"]
    out["commune_code"] = resolved.where(resolved.isin(names.index))
    out["raw_commune_any"] = text["commune_code"].fillna(text["commune"]).fillna(out["source_sheet"].astype("string"))
    out["commune_code_pre2025"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["district_code_pre2025"] = pd.Series(pd.NA, index=out.index, dtype="string")
    # Phường (and the old thị trấn, now mostly xã or phường) are urban; xã and đặc khu are rural.
    out["commune_level"] = out["commune_code"].map(names).str.extract(r"^(Phường|Xã|Đặc khu)", expand=False)
    out["commune_candidates"] = pd.Series(pd.NA, index=out.index, dtype="string")


def _name_lookup(names: pd.Series, codes: pd.Series):
    """A function from written commune names to codes: accents, case and the Xã/Phường prefix ignored.

    A name two communes of the scope share places no record.
    """
    keys = fold_series(names)
    index = pd.DataFrame({"key": pd.concat([keys, keys.map(_strip_prefix)]).to_numpy(),
                          "code": pd.concat([codes, codes]).to_numpy()}).drop_duplicates()
    ambiguous = index.groupby("key")["code"].transform("nunique") > 1
    name_map = dict(zip(index.loc[~ambiguous, "key"], index.loc[~ambiguous, "code"]))

    def by_name_of(written: pd.Series) -> pd.Series:
        k = fold_series(written.astype("string"))
        return k.map({x: name_map.get(x) or name_map.get(_strip_prefix(x)) for x in k.dropna().unique()})

    return by_name_of


def _code_or_name(text: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(5-digit codes, names): a name written in the code column is read as a name."""
    raw_code = on_distinct(text["commune_code"], _no_point_zero)
    digits = raw_code.str.fullmatch(r"\d{1,5}", na=False)
    return raw_code.where(digits).str.zfill(5), text["commune"].fillna(raw_code.where(~digits))


def _strip_prefix(key: str) -> str:
    for p in _COMMUNE_PREFIXES:
        if key.startswith(p) and len(key) > len(p):
            return key[len(p):]
    return key
