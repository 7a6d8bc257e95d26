"""Finds the header row of a roster sheet and maps its columns to MIS fields, by vocabulary or a mapping YAML."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from common.errors import UserError
from common.yaml_data import load_yaml
from mappings.legacy_fonts import legacy_candidates, to_unicode
from mappings.text import clean, fold

HEADER_SCAN_ROWS = 30
MIN_HEADER_FIELDS = 3


class MappingError(UserError):
    pass


@lru_cache(maxsize=None)
def _vocabulary_file() -> dict:
    return load_yaml(resources.files("mappings").joinpath("vocabulary.yaml").read_text(encoding="utf-8"))


def vocabulary() -> dict:
    return _vocabulary_file()["fields"]


def stored_fields() -> list[str]:
    """The fields the MIS keeps (or uses to place and judge a record): not `unstored`, not `ignore`."""
    return [n for n, s in vocabulary().items() if s["level"] not in ("unstored", "ignore")]


def unstored_fields() -> list[str]:
    return [n for n, s in vocabulary().items() if s["level"] == "unstored"]


@lru_cache(maxsize=None)
def _abbreviations() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(capitals as written -> words, folded -> words for the folded forms only one abbreviation has)."""
    exact = {unicodedata.normalize("NFC", k).upper(): v.split() for k, v in _vocabulary_file()["abbreviations"].items()}
    folded: dict[str, list[list[str]]] = {}
    for k, words in exact.items():
        folded.setdefault(fold(k), []).append(words)
    return exact, {k: v[0] for k, v in folded.items() if len(v) == 1}


_TOKEN = re.compile(r"[^\s_/,;:()\[\].\-+]+|[\s_/,;:()\[\].\-+]+")


def expand_abbreviations(header: str) -> str | None:
    """The header with its abbreviations written out ("Mã hộ GĐ" -> "Mã hộ gia đình"), or None when it has none.

    Only tokens written in capitals are expanded (a header's "ns" is not "ngày sinh"); accents decide
    between abbreviations that fold alike (ĐT điện thoại, DT dân tộc), and an accent-free legacy code
    (MA_DT) takes the one abbreviation its folded form has.
    """
    exact, folded = _abbreviations()
    out: list[str] = []
    changed = False
    for token in _TOKEN.findall(unicodedata.normalize("NFC", str(header))):
        words = None
        if token.strip() and token == token.upper() and any(ch.isalpha() for ch in token):
            words = exact.get(token) or folded.get(fold(token))
        if words is None:
            out.append(token)
            continue
        changed = True
        # "Mã hộ" + "hộ gia đình": the words already written are not repeated.
        before = [w for w in "".join(out).split() if w]
        overlap = next((n for n in range(min(len(words), len(before)), 0, -1)
                        if [fold(w) for w in before[-n:]] == [fold(w) for w in words[:n]]), 0)
        out.append(" ".join(words[overlap:]))
    return clean("".join(out)) if changed else None


FUZZY_MIN = 90.0     # rapidfuzz ratio of folded headers: a typo or a word order, never a guess between fields
FUZZY_LEAD = 4.0     # a second field this close to the best is a competition: the source stops and asks


@dataclass
class Mapping:
    """How one source's headers become fields: the built-in vocabulary plus the source's own YAML.

    values: the source's own value codes per field ({"sex": {"0": "F", "1": "M"}}), read before the
    code lists. ethnicity_edition: the GSO list its ethnicity codes follow, None when not declared
    (then 2008, unless the codes' distribution points to 1979 and the source must say).
    """
    aliases: dict[str, list[str]]                # folded header -> fields, in the vocabulary's order
    columns: dict[str, str] = field(default_factory=dict)   # folded exact header -> field (wins)
    ignore: set[str] = field(default_factory=set)
    header_row: int | None = None                # 1-based, when the YAML fixes it
    ethnicity_edition: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    origin: str = "vocabulary"
    path: str | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def field_for(self, header) -> tuple[str | None, str]:
        """The first field a header names, and how it was matched."""
        names, how = self.fields_for(header)
        return (names[0] if names else None), how

    def fields_for(self, header, fuzzy: bool = True) -> tuple[list[str], str]:
        """The fields a header may name, in order, and how: yaml, vocabulary, expansion, fuzzy 0.93,
        ambiguous (two fields compete: the source stops and asks), ignored or unrecognised.
        fuzzy=False: exact wordings only (before a legacy-font header is decoded, say)."""
        key = (fold(header), fuzzy)
        if key in self._cache:
            return self._cache[key]
        found = self._fields_for(header, key[0], fuzzy)
        self._cache[key] = found
        return found

    def _fields_for(self, header, key: str, fuzzy: bool = True) -> tuple[list[str], str]:
        if not key or key in self.ignore:
            return [], "ignored"
        if key in self.columns:
            return [self.columns[key]], "yaml"
        if key in self.aliases:
            return list(self.aliases[key]), self.origin
        expanded = expand_abbreviations(header) if header is not None else None
        if expanded is not None:
            wide = fold(expanded)
            if wide in self.columns:
                return [self.columns[wide]], "yaml"
            if wide in self.aliases:
                return list(self.aliases[wide]), "expansion"
            key = wide
        if len(key) < 6 or not fuzzy:
            return [], "unrecognised"
        from rapidfuzz import fuzz, process

        hits = process.extract(key, list(self.aliases), scorer=fuzz.ratio, limit=8, score_cutoff=FUZZY_MIN - FUZZY_LEAD)
        if not hits or hits[0][1] < FUZZY_MIN:
            return [], "unrecognised"
        best = hits[0][1]
        names = self.aliases[hits[0][0]]
        rivals = {n for k, score, _ in hits if best - score < FUZZY_LEAD for n in self.aliases[k]} - set(names)
        if rivals:
            return [*names, *sorted(rivals)], "ambiguous"
        return list(names), f"fuzzy {best / 100:.2f}"


def load_mapping(path: Path | None, ethnicity_edition: str | None = None) -> Mapping:
    """The vocabulary, extended or overridden by a source's mapping YAML (None: vocabulary only).

    ethnicity_edition: the source's own declaration in misgw.yaml, if any (the YAML may say it too;
    the two must agree).
    """
    base: dict[str, list[str]] = {}

    def add(alias: str, name: str) -> None:
        names = base.setdefault(fold(alias), [])
        if name not in names:
            names.append(name)

    for name, spec in vocabulary().items():
        for alias in spec["aliases"]:
            add(alias, name)
    if path is None:
        return Mapping(aliases=base, ethnicity_edition=ethnicity_edition)
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
            base[fold(w)] = [name]
    columns = {}
    for header, name in (spec.get("columns") or {}).items():
        if name not in known:
            raise MappingError(f"{path}: 'columns' maps '{header}' to an unknown field '{name}'.")
        columns[fold(header)] = name
    values = _check_values(spec.get("values") or {}, path)
    edition = spec.get("ethnicity_edition")
    edition = None if edition is None else str(edition)
    if edition is not None and edition not in ("2008", "1979"):
        raise MappingError(f"{path}: 'ethnicity_edition' must be 2008 or 1979 (got {edition!r}).")
    if edition and ethnicity_edition and edition != ethnicity_edition:
        raise MappingError(f"{path}: 'ethnicity_edition' {edition} disagrees with the source's {ethnicity_edition} "
                           "in misgw.yaml: say it in one place.")
    return Mapping(aliases=base, columns=columns,
                   ignore={fold(h) for h in spec.get("ignore") or []},
                   header_row=spec.get("header_row"),
                   ethnicity_edition=edition or ethnicity_edition, values=values,
                   origin="vocabulary", path=str(path))


# The code lists a source may extend with its own codes, and what each code must be.
_VALUE_LISTS = {"sex": "sex", "relation": "relation", "poverty_category": "poverty_category", "area": "area",
                "ethnicity": "ethnicity"}


def _check_values(values, path) -> dict[str, dict[str, str]]:
    """The YAML's `values:` ({field: {written: code}}), each code one of the field's code list."""
    from mappings import codelists

    if not isinstance(values, dict):
        raise MappingError(f"{path}: 'values' must map a field to its codes, e.g. values: {{sex: {{'0': F, '1': M}}}}.")
    out = {}
    for name, table in values.items():
        if name not in _VALUE_LISTS:
            raise MappingError(f"{path}: 'values' names '{name}'; a source may declare its own codes for "
                               f"{', '.join(_VALUE_LISTS)}.")
        if not isinstance(table, dict) or not table:
            raise MappingError(f"{path}: 'values.{name}' must map each written value to a code.")
        allowed = set(codelists.labels(_VALUE_LISTS[name]))
        for written, code in table.items():
            if str(code) not in allowed:
                raise MappingError(f"{path}: 'values.{name}' maps '{written}' to '{code}', which is not a code of "
                                   f"the list ({', '.join(sorted(allowed))}).")
        out[name] = {str(k).strip(): str(v) for k, v in table.items()}
    return out


@dataclass
class Header:
    row_index: int                   # 0-based index of the (last) header row
    fields: dict[int, str]           # column index -> field
    how: dict[int, str]              # column index -> vocabulary | yaml
    ignored: dict[int, str]          # column index -> header text not mapped
    duplicates: dict[int, str]       # column index -> field already taken by an earlier column
    texts: dict[int, str] = field(default_factory=dict)   # column index -> header as written
    rows: int = 1                    # 2 for a two-row merged header
    candidates: dict[int, list[str]] = field(default_factory=dict)   # column index -> the fields it may name


def locate_header(rows: list[list], mapping: Mapping) -> Header | None:
    """The header under the title rows that names the most fields; None when the sheet holds no roster.

    A two-row header ("Thông tin chủ hộ" merged over "Họ và tên | Ngày sinh | Giới tính", with
    "STT" and "Mã hộ" merged down) is read as one: each column's label is the lower cell when it
    has one, else the cell above.
    """
    if mapping.header_row is not None:
        candidates: list[int] | range = [mapping.header_row - 1]
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


def _read_header(cells: Sequence[tuple[int, object]], index: int, n_rows: int, mapping: Mapping) -> Header:
    """A provisional reading: each column takes the first of its fields not taken by a column before it.
    map_sheet then lets the column's values decide among its candidates (mappings.fit)."""
    fields: dict[int, str] = {}
    how: dict[int, str] = {}
    ignored: dict[int, str] = {}
    dupes: dict[int, str] = {}
    texts: dict[int, str] = {}
    candidates: dict[int, list[str]] = {}
    taken: set[str] = set()
    for col, cell in cells:
        text = clean(cell)
        if text is None:
            continue
        names, origin = mapping.fields_for(text, fuzzy=False)
        if not names and not text.isascii():
            # A header typed in a legacy font ("Hä vµ tªn", "Sè CCCD") is read as the wording it matches.
            for encoding in legacy_candidates(text):
                decoded = clean(to_unicode(text, encoding))
                if decoded is None:
                    continue
                decoded_names, decoded_origin = mapping.fields_for(decoded, fuzzy=False)
                if decoded_names:
                    text, names, origin = decoded, decoded_names, decoded_origin
                    break
        if not names:
            names, origin = mapping.fields_for(text)        # a wording a letter or two away
        texts[col] = text
        if not names:
            ignored[col] = text
            continue
        candidates[col] = names
        how[col] = origin
        free = [n for n in names if n not in taken]
        if not free:
            dupes[col] = names[0]
        else:
            taken.add(free[0])
            fields[col] = free[0]
    return Header(index, fields, how, ignored, dupes, texts, n_rows, candidates)
