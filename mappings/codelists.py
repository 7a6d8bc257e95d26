"""The code lists (sex, relation, ethnicity, poverty category, area, yes/no), read from the YAML data files."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

import pandas as pd

from common.yaml_data import load_yaml
from mappings.text import fold, map_distinct


@lru_cache(maxsize=None)
def _load(name: str) -> dict:
    return load_yaml(resources.files("mappings").joinpath(name).read_text(encoding="utf-8"))


def _entries(list_name: str, edition: str = "2008") -> list[tuple[str, str]]:
    """(written value, code) pairs of one code list; ethnicity also by its codes in the given edition."""
    if list_name == "ethnicity":
        out = []
        for code, g in _load("ethnicity.yaml")["groups"].items():
            for value in [g["name"], *(g.get("other_names") or [])]:
                out.append((value, code))
            source_code = code if edition == "2008" else g.get("code_1979")
            if source_code:
                out += [(source_code, code), (str(int(source_code)), code)]
        return out
    return [(str(v), str(code)) for code, entry in _load("codelists.yaml")[list_name].items()
            for v in [code, *entry["values"]]]


def _exact_key(value) -> str:
    """Lower case, NFC, spaces collapsed: accents kept ("bà" is not "ba")."""
    return " ".join(unicodedata.normalize("NFC", str(value)).lower().split())


@lru_cache(maxsize=None)
def tables(list_name: str, edition: str = "2008") -> tuple[dict[str, str], dict[str, str], dict[str, tuple[str, ...]]]:
    """(exact, folded, bare) lookups of one code list.

    exact: the written form with its accents -> code. folded: accent-, case- and punctuation-free
    form -> code, only where no two codes share it. bare: a folded form two codes share ("ba": Ba
    the father, as the south says it, and Bà the grandmother) -> those codes, for a value written
    without accents: the accents cannot decide it, a province setting or a person must.
    """
    exact: dict[str, str] = {}
    by_fold: dict[str, set[str]] = {}
    for value, code in _entries(list_name, edition):
        exact.setdefault(_exact_key(value), code)
        if fold(value):
            by_fold.setdefault(fold(value), set()).add(code)
    folded = {k: next(iter(v)) for k, v in by_fold.items() if len(v) == 1}
    bare = {k: tuple(sorted(v)) for k, v in by_fold.items() if len(v) > 1}
    for key in list(exact):
        if key.isascii() and fold(key) in bare:
            del exact[key]      # "ba" written bare is one of several codes: never the first one listed
    return exact, folded, bare


def lookup_table(list_name: str, edition: str = "2008") -> dict[str, str]:
    """Folded written value -> code, for one code list (values several codes share left out)."""
    return tables(list_name, edition)[1]


def labels(list_name: str) -> dict[str, str]:
    """Code -> Vietnamese label, for messages and workbooks."""
    if list_name == "ethnicity":
        return {c: g["name"] for c, g in _load("ethnicity.yaml")["groups"].items()}
    return {str(c): e["label_vi"] for c, e in _load("codelists.yaml")[list_name].items()}


def code_of(value, list_name: str, edition: str = "2008", own: dict[str, str] | None = None,
            bare: dict[str, str] | None = None) -> str | None:
    """The code one written value means, or None.

    own: the source's own codes (its mapping YAML's `values`), read first, as written then folded.
    bare: how a value written without accents that two codes share is read ({"ba": "04"}: a province
    setting); absent, such a value means nothing until a person says.
    """
    if own:
        text = " ".join(str(value).split())
        if text in own:
            return own[text]
        for written, code in own.items():
            if fold(written) == fold(text) and fold(text):
                return code
    exact, folded, shared = tables(list_name, edition)
    key = _exact_key(value)
    if key in exact:
        return exact[key]
    k = fold(value)
    if k in shared:
        return (bare or {}).get(k) if key.isascii() else None
    return folded.get(k)


def to_codes(values: pd.Series, list_name: str, edition: str = "2008", own: dict[str, str] | None = None,
             bare: dict[str, str] | None = None) -> pd.Series:
    """Codes for the written values; a value that is in no list keeps its written form (the rules flag it)."""
    codes = map_distinct(values, lambda v: code_of(v, list_name, edition, own, bare), dtype="str")
    return codes.where(codes.notna() | values.isna(), values.astype("string"))


def shared_forms(list_name: str) -> dict[str, tuple[str, ...]]:
    """Folded forms several codes of a list share ("ba" -> ("04", "05")): a bare one must be settled."""
    return tables(list_name)[2]
