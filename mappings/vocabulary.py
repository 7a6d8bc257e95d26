"""Finds the header row of a roster sheet and maps its columns to MIS fields, by vocabulary or a mapping YAML."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from mappings.text import clean, fold
from misgw.errors import UserError

HEADER_SCAN_ROWS = 30
MIN_HEADER_FIELDS = 3


class MappingError(UserError):
    pass


@lru_cache(maxsize=None)
def vocabulary() -> dict:
    return yaml.safe_load(resources.files("mappings").joinpath("vocabulary.yaml").read_text(encoding="utf-8"))["fields"]


def field_level(name: str) -> str:
    return vocabulary()[name]["level"]


@dataclass
class Mapping:
    """How one source's headers become fields: the built-in vocabulary plus the source's own YAML."""
    aliases: dict[str, str]                      # folded header -> field
    columns: dict[str, str] = field(default_factory=dict)   # folded exact header -> field (wins)
    ignore: set[str] = field(default_factory=set)
    header_row: int | None = None                # 1-based, when the YAML fixes it
    ethnicity_edition: str = "2008"
    origin: str = "vocabulary"

    def field_for(self, header) -> tuple[str | None, str]:
        key = fold(header)
        if not key or key in self.ignore:
            return None, "ignored"
        if key in self.columns:
            return self.columns[key], "yaml"
        if key in self.aliases:
            return self.aliases[key], self.origin
        return None, "unrecognised"


def load_mapping(path: Path | None) -> Mapping:
    """The vocabulary, extended or overridden by a source's mapping YAML (None: vocabulary only)."""
    base = {}
    for name, spec in vocabulary().items():
        for alias in spec["aliases"]:
            base[fold(alias)] = name
    if path is None:
        return Mapping(aliases=base)
    try:
        spec = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: cannot read the mapping ({exc}).") from None
    known = set(vocabulary())
    if spec.get("replace_vocabulary"):
        base = {}
    for name, words in (spec.get("aliases") or {}).items():
        if name not in known:
            raise MappingError(f"{path}: 'aliases' names an unknown field '{name}' (fields: {', '.join(sorted(known))}).")
        for w in words:
            base[fold(w)] = name
    columns = {}
    for header, name in (spec.get("columns") or {}).items():
        if name not in known:
            raise MappingError(f"{path}: 'columns' maps '{header}' to an unknown field '{name}'.")
        columns[fold(header)] = name
    return Mapping(aliases=base, columns=columns,
                   ignore={fold(h) for h in spec.get("ignore") or []},
                   header_row=spec.get("header_row"),
                   ethnicity_edition=str(spec.get("ethnicity_edition", "2008")),
                   origin="vocabulary")


@dataclass
class Header:
    row_index: int                   # 0-based index into the sheet's rows
    fields: dict[int, str]           # column index -> field
    how: dict[int, str]              # column index -> vocabulary | yaml
    ignored: dict[int, str]          # column index -> header text not mapped
    duplicates: dict[int, str]       # column index -> field already taken by an earlier column


def locate_header(rows: list[list], mapping: Mapping) -> Header | None:
    """The row under the title rows whose cells name the most fields; None when the sheet holds no roster."""
    candidates = range(len(rows)) if mapping.header_row is None else [mapping.header_row - 1]
    best: Header | None = None
    for i in candidates:
        if i >= min(len(rows), HEADER_SCAN_ROWS if mapping.header_row is None else len(rows)):
            break
        header = _read_header(rows[i], i, mapping)
        if best is None or len(header.fields) > len(best.fields):
            best = header
    if best is None or len(set(best.fields.values())) < MIN_HEADER_FIELDS:
        return None
    return best


def _read_header(row: list, index: int, mapping: Mapping) -> Header:
    fields, how, ignored, dupes = {}, {}, {}, {}
    taken: set[str] = set()
    for col, cell in enumerate(row):
        text = clean(cell)
        if text is None:
            continue
        name, origin = mapping.field_for(text)
        if name is None:
            ignored[col] = text
        elif name in taken:
            dupes[col] = name
        else:
            taken.add(name)
            fields[col] = name
            how[col] = origin
    return Header(index, fields, how, ignored, dupes)
