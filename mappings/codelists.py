"""The code lists (sex, relation, ethnicity, poverty category, area, yes/no), read from the YAML data files."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd
import yaml

from mappings.text import fold, map_distinct


@lru_cache(maxsize=None)
def _load(name: str) -> dict:
    return yaml.safe_load(resources.files("mappings").joinpath(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def lookup_table(list_name: str, edition: str = "2008") -> dict[str, str]:
    """Folded written value -> code, for one code list."""
    table: dict[str, str] = {}
    if list_name == "ethnicity":
        groups = _load("ethnicity.yaml")["groups"]
        for code, g in groups.items():
            source_code = code if edition == "2008" else g.get("code_1979")
            for value in [g["name"], *(g.get("other_names") or [])]:
                table[fold(value)] = code
            if source_code:
                table[fold(source_code)] = code
                table[fold(str(int(source_code)))] = code
        return table
    for code, entry in _load("codelists.yaml")[list_name].items():
        table[fold(code)] = str(code)
        for value in entry["values"]:
            table[fold(value)] = str(code)
    return table


def labels(list_name: str) -> dict[str, str]:
    """Code -> Vietnamese label, for messages and workbooks."""
    if list_name == "ethnicity":
        return {c: g["name"] for c, g in _load("ethnicity.yaml")["groups"].items()}
    return {str(c): e["label_vi"] for c, e in _load("codelists.yaml")[list_name].items()}


def to_codes(values: pd.Series, list_name: str, edition: str = "2008") -> pd.Series:
    """Codes for the written values; a value that is in no list keeps its written form (the rules flag it)."""
    table = lookup_table(list_name, edition)
    codes = map_distinct(values, lambda v: table.get(fold(v)), dtype="str")
    return codes.where(codes.notna() | values.isna(), values.astype("string"))
