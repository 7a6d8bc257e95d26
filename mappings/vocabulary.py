"""Finds the header row of a roster sheet and maps its columns to MIS fields, by vocabulary or a mapping YAML."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from mappings.legacy_fonts import legacy_candidates, to_unicode
from mappings.text import clean, fold
from misgw.errors import UserError

HEADER_SCAN_ROWS = 30
MIN_HEADER_FIELDS = 3


class MappingError(UserError):
    pass


@lru_cache(maxsize=None)
def vocabulary() -> dict:
    return yaml.safe_load(resources.files("mappings").joinpath("vocabulary.yaml").read_text(encoding="utf-8"))["fields"]


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
    row_index: int                   # 0-based index of the (last) header row
    fields: dict[int, str]           # column index -> field
    how: dict[int, str]              # column index -> vocabulary | yaml
    ignored: dict[int, str]          # column index -> header text not mapped
    duplicates: dict[int, str]       # column index -> field already taken by an earlier column
    texts: dict[int, str] = field(default_factory=dict)   # column index -> header as written
    rows: int = 1                    # 2 for a two-row merged header


def locate_header(rows: list[list], mapping: Mapping) -> Header | None:
    """The header under the title rows that names the most fields; None when the sheet holds no roster.

    A two-row header ("Thông tin chủ hộ" merged over "Họ và tên | Ngày sinh | Giới tính", with
    "STT" and "Mã hộ" merged down) is read as one: each column's label is the lower cell when it
    has one, else the cell above.
    """
    if mapping.header_row is not None:
        candidates = [mapping.header_row - 1]
    else:
        candidates = range(min(len(rows), HEADER_SCAN_ROWS))
    options: list[Header] = []
    for i in candidates:
        if i >= len(rows):
            break
        options.append(_read_header(list(enumerate(rows[i])), i, 1, mapping))
        if i + 1 < len(rows) and mapping.header_row is None:
            options.append(_read_header(_two_rows(rows[i], rows[i + 1]), i + 1, 2, mapping))
    # Most fields wins; on a tie a one-row header beats a two-row one, and the earlier row wins.
    best = max(options, key=lambda h: (len(h.fields), -h.rows, -h.row_index), default=None)
    if best is None or len(set(best.fields.values())) < MIN_HEADER_FIELDS:
        return None
    return best


def _two_rows(top: list, bottom: list) -> list[tuple[int, str]]:
    width = max(len(top), len(bottom))
    top = top + [None] * (width - len(top))
    bottom = bottom + [None] * (width - len(bottom))
    return [(c, bottom[c] if clean(bottom[c]) is not None else top[c]) for c in range(width)]


def _read_header(cells: list[tuple[int, object]], index: int, n_rows: int, mapping: Mapping) -> Header:
    fields, how, ignored, dupes, texts = {}, {}, {}, {}, {}
    taken: set[str] = set()
    for col, cell in cells:
        text = clean(cell)
        if text is None:
            continue
        name, origin = mapping.field_for(text)
        if name is None and not text.isascii():
            # A header typed in a legacy font ("Hä vµ tªn", "Sè CCCD") is read as the wording it matches.
            for encoding in legacy_candidates(text):
                decoded = clean(to_unicode(text, encoding))
                decoded_name, decoded_origin = mapping.field_for(decoded)
                if decoded_name:
                    text, name, origin = decoded, decoded_name, decoded_origin
                    break
        texts[col] = text
        if name is None:
            ignored[col] = text
        elif name in taken:
            dupes[col] = name
        else:
            taken.add(name)
            fields[col] = name
            how[col] = origin
    return Header(index, fields, how, ignored, dupes, texts, n_rows)
