"""A roster sheet's body: its cells by column, which rows are data, and each column's field by its values."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mappings.fit import column_fit
from mappings.text import fold
from mappings.vocabulary import Mapping, vocabulary

# First cells that mark a subtotal row or the signature block under the table.
_FOOTER = ("nguoilapbieu", "nguoilap", "kyghirohoten", "kyten", "xacnhan", "thutruong", "chutich",
           "tmuybannhandan", "tmubnd", "ngaythang", "canbo", "lanhdao")
_CODED = {"relation": "relation", "sex": "sex", "ethnicity": "ethnicity", "poverty_category": "poverty_category",
          "area": "area"}


def _cells(body: list[list], columns: list[int], numbers) -> pd.DataFrame:
    """The body's cells in these columns (labelled by column index), indexed by Excel row number (numbers:
    each body row's)."""
    width = max(columns, default=-1) + 1
    data = [(r + [None] * width)[:width] for r in body]
    frame = pd.DataFrame(data, dtype=object, columns=range(width))  # columns even when no row follows
    frame = frame[columns]
    frame.index = np.asarray(numbers, dtype=np.int64)
    return frame


def _frame(cells: pd.DataFrame, fields: dict[int, str]) -> pd.DataFrame:
    """The columns of `fields`, named by field (the STT column left out)."""
    frame = cells[list(fields)].rename(columns=fields)
    return frame.drop(columns=[c for c in frame.columns if c == "row_number"])


def _row_features(body: list[list], index) -> pd.DataFrame:
    """Per row, what its cells say whatever the columns mean: whether it has any text, what its first text
    says as a label (it opens the signature block, or is a subtotal's), whether it is the row of column
    numbers, whether it is the date line above the signatures."""
    firsts = [_first_text(r) for r in body]
    labels = [_label(t) for t in firsts]
    return pd.DataFrame({"texted": pd.Series([t is not None for t in firsts], index=index, dtype=bool),
                         "footer": pd.Series([lb == "footer" for lb in labels], index=index, dtype=bool),
                         "subtotal": pd.Series([lb == "subtotal" for lb in labels], index=index, dtype=bool),
                         "numbering": pd.Series([_is_column_numbers(r) for r in body], index=index, dtype=bool),
                         "dated": pd.Series([_place_and_date(r) for r in body], index=index, dtype=bool)})


_SUBTOTAL = re.compile(r"^(tongcong|tongso|cong)")


def _label(text: str | None) -> str | None:
    """What a row's first text says as a label: "footer" (the signature block's title: "Người lập biểu"),
    "subtotal" ("Cộng", "Tổng cộng", "Tổng số"), else None. Most first texts are a row's number (STT) or a
    code, which start with a digit and are no label: only the others are folded (a sheet's every row)."""
    if text is None or "0" <= text.lstrip()[:1] <= "9":
        return None
    folded = fold(text)
    return "footer" if folded.startswith(_FOOTER) else "subtotal" if _SUBTOTAL.match(folded) else None


def _data_rows(frame: pd.DataFrame, features: pd.DataFrame) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Which rows are data (a name, a household code or an ID), and why each other row is skipped:
    blank, the column-number row, subtotals ("Cộng", "Tổng cộng") and the signature block below the table."""
    key_cols = [c for c in ("full_name", "household_code", "id_number") if c in frame]
    has_key = frame[key_cols].notna().any(axis=1) if key_cols else pd.Series(False, index=frame.index)
    # Blank: no text in the whole row (and none in its recognised columns, a cell of spaces is not blank
    # there); only the rows without text are looked at cell by cell.
    blank = ~features["texted"]
    if blank.any():
        blank[blank] = frame[blank.to_numpy()].isna().all(axis=1)
    # The signature block opens with a title ("Người lập biểu") or a place and date ("Vĩnh Châu, ngày 10
    # tháng 12 năm 2024"), in whichever column the template put it.
    footer_start = features["footer"] | features["dated"]
    after_footer = footer_start.cummax()
    # "Cộng", "Cộng hộ 1", "Tổng cộng", "Tổng số": a label and counts, never a person's sex or birth date.
    person_cols = [c for c in ("sex", "birth_date", "id_number") if c in frame]
    has_person = frame[person_cols].notna().any(axis=1) if person_cols else pd.Series(False, index=frame.index)
    subtotal = features["subtotal"] & ~has_person
    numbering = features["numbering"]
    no_key = ~has_key & ~blank
    skip = {"blank": blank & ~after_footer, "footer": after_footer & ~blank,
            "column numbers": numbering & ~after_footer,
            "subtotal": subtotal & ~after_footer & ~numbering,
            "no name, household code or ID": no_key & ~subtotal & ~after_footer & ~numbering}
    keep = ~(blank | after_footer | subtotal | no_key | numbering)
    return keep, skip


def _fields_by_values(header, cells: pd.DataFrame, mapping: Mapping, bare) -> tuple[dict[int, str], list[dict], str | None]:
    """Each recognised column's field: the first of its header's fields that its values fit and no column
    before it took. cells: the data rows' cells by column index. Returns (column -> field, the columns whose
    values fit none, why the sheet must stop)."""
    fields: dict[int, str] = {}
    unfit: list[dict] = []
    taken: set[str] = set()
    for col in sorted(header.candidates):
        names, how = header.candidates[col], header.how[col]
        values = cells[col]
        if how == "yaml":
            if names[0] not in taken:
                fields[col] = names[0]
                taken.add(names[0])
            continue
        fitting, misfits = [], []
        for name in names:
            if name in taken:
                continue
            # A header that names one field without a code list takes it whatever its values: no need to look.
            judged = name in vocabulary() and vocabulary()[name]["level"] not in ("ignore", "unstored") and \
                not (len(names) == 1 and name not in _CODED)
            fit = column_fit(name, values, mapping.values.get(name), mapping.ethnicity_edition, bare) if judged else None
            # A header that names one field is taken on fewer than 3 values (they prove too little), and
            # whatever its values when the field has no code list: its unreadable cells are then rejected
            # on their rows with their reason, never dropped with the column. A code column that fits no
            # code (sex 0/1) is a source's own codes, which provincial IT declares: the column is named.
            if fit is None or fit.ok or (len(names) == 1 and (fit.values < 3 or name not in _CODED)):
                fitting.append(name)
                if how != "ambiguous":
                    break
            else:
                misfits.append((name, fit))
        if how == "ambiguous" and len(fitting) > 1:
            return fields, unfit, (f"column {_letter(col)} «{header.texts[col]}» could be "
                                   f"{' or '.join(fitting)}: say which in the source's mapping YAML "
                                   f"(columns: {{\"{header.texts[col]}\": FIELD}}); `misgw mapping suggest` proposes one")
        if fitting:
            fields[col] = fitting[0]
            taken.add(fitting[0])
        elif misfits:
            name, fit = misfits[0]
            own = " (a source's own codes are declared in its mapping YAML: values: {%s: {...}})" % name \
                if name in ("sex", "relation", "poverty_category", "ethnicity", "area") else ""
            unfit.append({"column": _letter(col), "header": header.texts[col], "field": name,
                          "share": round(fit.share, 2), "examples": fit.examples,
                          "why": f"{int(round(100 * fit.share))}% of its {fit.values} values fit "
                                 f"(for example {', '.join(repr(e) for e in fit.examples)}){own}"})
    return fields, unfit, None


def _letter(col: int) -> str:
    """Excel column letter of a 0-based index: 0 -> A, 27 -> AB."""
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _is_column_numbers(row: list) -> bool:
    """The row of column numbers templates put under the header: 1 2 3 ... or (1) (2) (3) ...

    Called on every row of a sheet: a row is given up at its first cell that is not a number (a data row
    at its second), not after every cell is made text."""
    numbers = []
    for v in row:
        if v is None:
            continue
        text = str(v).strip()
        if not text:
            continue
        text = text.strip("()").removesuffix(".0")
        if not text.isdecimal():    # "²" is a digit int() cannot read
            return False
        numbers.append(int(text))
    return len(numbers) >= 3 and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


_DATE_LINE = re.compile(r"ngay\d{0,2}thang\d{0,2}nam\d{0,4}")


def _place_and_date(row: list) -> bool:
    """A row whose only text is "…, ngày … tháng … năm …": the date line above the signatures."""
    found = None
    for v in row:
        if v is not None and str(v).strip():
            if found is not None:
                return False     # a second text: not the date line alone
            found = str(v)
    return found is not None and bool(_DATE_LINE.search(fold(found)))


def _first_text(row: list):
    for v in row:
        if v is not None and str(v).strip():
            return str(v)
    return None
