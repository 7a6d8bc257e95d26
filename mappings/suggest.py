"""Proposes a mapping YAML for a workbook the vocabulary does not fully cover, with a confidence per column."""
from __future__ import annotations

from rapidfuzz import fuzz, process

from mappings.text import clean, fold
from mappings.vocabulary import HEADER_SCAN_ROWS, Mapping, locate_header, vocabulary

FUZZY_MIN = 75.0


def suggest_columns(rows: list[list], mapping: Mapping) -> dict:
    """{header_row, columns: [{column, header, field, confidence, closest}]} for the likeliest header row."""
    header = locate_header(rows, mapping)
    if header is not None:
        index = header.row_index
        cells = header.texts
    else:
        found: list[tuple[int, dict[int, str]]] = [(i, {c: t for c, v in enumerate(r) if (t := clean(v))})
                                                   for i, r in enumerate(rows[:HEADER_SCAN_ROWS])]
        index, cells = max(found, key=lambda ic: sum(_guess(t, mapping)[1] for t in ic[1].values()), default=(0, {}))
    out, taken = [], set()
    for col, text in sorted(cells.items()):
        field, confidence, closest = _guess(text, mapping)
        if field in taken:
            field, confidence = None, 0.0
        if field:
            taken.add(field)
        out.append({"column": col, "header": text, "field": field, "confidence": round(confidence, 2),
                    "closest": closest})
    return {"header_row": index + 1, "columns": out}


def _guess(text: str, mapping: Mapping) -> tuple[str | None, float, str | None]:
    names, how = mapping.fields_for(text, fuzzy=False)
    if not names and not text.isascii():
        from mappings.legacy_fonts import legacy_candidates, to_unicode

        for encoding in legacy_candidates(text):
            names, how = mapping.fields_for(clean(to_unicode(text, encoding)), fuzzy=False)
            if names:
                break
    if not names:
        names, how = mapping.fields_for(text)
    if names and how.startswith("fuzzy"):
        return names[0], float(how.split()[1]), None
    if names and how == "ambiguous":
        return None, 0.0, " or ".join(names)          # two fields compete: a person says which
    if names:
        return names[0], 1.0, None
    if how == "ignored":
        return None, 0.0, None
    choices = _alias_keys(mapping)
    hit = process.extractOne(fold(text), list(choices), scorer=fuzz.ratio)
    if hit and hit[1] >= FUZZY_MIN:
        return choices[hit[0]][0], hit[1] / 100.0, choices[hit[0]][1]
    return None, 0.0, None


def _alias_keys(mapping: Mapping) -> dict[str, tuple[str, str]]:
    """Folded alias -> (field, alias as written)."""
    out: dict[str, tuple] = {}
    for name, spec in vocabulary().items():
        for alias in spec["aliases"]:
            out.setdefault(fold(alias), (name, alias))
    for key, name in mapping.aliases.items():
        out.setdefault(key, (name, key))
    return out


def as_yaml(file: str, sheet: str, proposal: dict) -> str:
    """The proposal as a mapping YAML a person can read, check and save."""
    lines = [f"# Proposed mapping for {file} (sheet '{sheet}', header row {proposal['header_row']}).",
             "# confidence 1.00: the wording is in the built-in vocabulary; lower: the closest wording, check it.",
             f"header_row: {proposal['header_row']}", "columns:"]
    ignored = []
    for c in proposal["columns"]:
        if c["field"] and c["field"] != "row_number":
            note = f"  # confidence {c['confidence']:.2f}" + (f" (closest: {c['closest']})" if c["closest"] else "")
            lines.append(f'  "{_q(c["header"])}": {c["field"]}{note}')
        else:
            ignored.append(c["header"])
    if ignored:
        lines.append("ignore:")
        lines.extend(f'  - "{_q(h)}"' for h in ignored)
    known = {c["field"] for c in proposal["columns"] if c["field"]}
    missing = [f for f in ("household_code", "full_name", "relation", "sex", "birth_date") if f not in known]
    if missing:
        lines.append(f"# fields not found: {', '.join(missing)}")
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
