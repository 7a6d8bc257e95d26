"""Translates a raw roster sheet into MIS member rows: fields, codes, dates, IDs and 2025 administrative units."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mappings import codelists
from mappings.assessment_year import column_years, years_in
from mappings.fit import column_fit, ethnicity_edition_hint
from mappings.legacy_fonts import decode_series, legacy_candidates, to_unicode
from mappings.text import clean_series, fold, fold_series, name_case, on_distinct
from mappings.values import normalise_ids, parse_dates
from mappings.vocabulary import Mapping, locate_header, unstored_fields, vocabulary

LINEAGE = ["source_file", "source_sheet", "source_row", "source_key"]   # source_key: a record's primary key
ORIGIN = ["origin_file", "origin_sheet", "origin_row", "origin_digest", "origin_household", "fixup_round",
          "fixup_run", "fixup_problem"]
# The fields a person may clear with «xóa» (the marker the fix-up workbook's instructions name): never a
# field a record needs (code, name, sex, birth date, relation), nor the assessment's category or year.
CLEAR_MARK = "xoa"
CLEARABLE = ["ethnicity", "id_number", "address", "hamlet", "area", "income_per_capita", "approval_decision_no",
             "approval_date", "deprivation_count"]
INDICATORS = ["d_employment", "d_dependants", "d_nutrition", "d_health_insurance", "d_adult_education",
              "d_child_school", "d_housing_quality", "d_floor_area", "d_water_source", "d_latrine",
              "d_telecom", "d_information_access", "d_digital_services", "d_domestic_waste"]
# First cells that mark a subtotal row or the signature block under the table.
_FOOTER = ("nguoilapbieu", "nguoilap", "kyghirohoten", "kyten", "xacnhan", "thutruong", "chutich",
           "tmuybannhandan", "tmubnd", "ngaythang", "canbo", "lanhdao")
_COMMUNE_PREFIXES = ("xa", "phuong", "thitran")
REQUIRED_FIELDS = ["household_code", "full_name", "sex", "birth_date"]
_CODED = {"relation": "relation", "sex": "sex", "ethnicity": "ethnicity", "poverty_category": "poverty_category",
          "area": "area"}


@dataclass
class SheetMapping:
    """What the mapping did to one sheet, for the run's mapping report."""
    file: str
    sheet: str
    roster: bool
    reason: str | None = None
    header_row: int | None = None
    columns: list[dict] = field(default_factory=list)          # {column, header, field, how}, in sheet order
    ignored_columns: list[str] = field(default_factory=list)
    skipped_rows: dict[str, list[int]] = field(default_factory=dict)   # reason -> Excel rows
    missing_fields: list[str] = field(default_factory=list)
    # Recognised columns the MIS does not keep, and columns whose values did not fit their header's
    # field: {column, header, field, rows} / {column, header, field, share, examples}.
    not_stored: list[dict] = field(default_factory=list)
    unfit: list[dict] = field(default_factory=list)
    years: dict = field(default_factory=dict)                  # mappings.assessment_year.SheetYears, as a dict
    rows_read: int = 0                                         # non-empty rows of the sheet
    data_rows: int = 0
    stop: str | None = None      # why the source cannot go on without a person (two fields compete, ...)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def map_sheet(file: str, sheet: str, rows: list[list], mapping: Mapping,
              keys: dict[int, str] | None = None, province_code: str | None = None,
              bare: dict[str, str] | None = None) -> tuple[pd.DataFrame | None, SheetMapping]:
    """Header detection, the columns' fields by their headers and values, and non-data row removal.
    Returns one row per member with raw field values.

    keys: row number -> the record's primary key, for a database table or a web service.
    province_code: the source's pre-2025 province (which ethnicity list its codes likely follow).
    bare: how the province reads a bare value two codes share ({"ba": "04"}).
    """
    rows_read = sum(1 for r in rows if r)                        # a connector delivers non-empty rows only
    header = locate_header(rows, mapping)
    if header is None:
        return None, SheetMapping(file, sheet, roster=False, rows_read=rows_read,
                                  reason="no header row naming at least 3 roster fields")
    report = SheetMapping(file, sheet, roster=True, header_row=header.row_index + 1, rows_read=rows_read)
    body = rows[header.row_index + 1:]
    first_row = header.row_index + 2                              # Excel row of body[0]
    title = rows[:header.row_index + 1 - header.rows]
    report.years = {"title": sorted({y for r in title for v in r if isinstance(v, str) for y in years_in(v)}),
                    "sheet": years_in(sheet)}

    # The body's cells once, in every recognised column, and what each row is (computed once, per row).
    cells = _cells(body, sorted(header.candidates), first_row)
    features = _row_features(body, cells.index)
    # A header is a claim; the column's values decide among the fields it may name.
    keep, _ = _data_rows(_frame(cells, header.fields), features)
    fields, report.unfit, report.stop = _fields_by_values(header, cells[keep.to_numpy()], mapping, bare)
    if report.stop:
        report.roster = False
        report.reason = report.stop
        return None, report
    missing = [f for f in REQUIRED_FIELDS if f not in fields.values()]
    if missing:
        # A roster whose headers the vocabulary does not cover: say what is unknown and what is missing.
        report.roster = False
        unknown = ", ".join(f"«{t}»" for t in header.ignored.values()) or "none"
        wanted = ", ".join(f"{f} («{vocabulary()[f]['aliases'][0]}»)" for f in missing)
        unfit = "".join(f"; column {u['column']} «{u['header']}» was not read as {u['field']}: {u['why']}"
                        for u in report.unfit if u["field"] in missing)
        report.reason = (f"header row {header.row_index + 1}: unrecognised headers {unknown}; "
                         f"fields still missing: {wanted}{unfit}")
        report.missing_fields = missing
        return None, report
    report.columns = [{"column": _letter(col), "header": header.texts[col], "field": name, "how": header.how[col]}
                      for col, name in sorted(fields.items())]
    used = set(fields)
    report.ignored_columns = [str(v) for v in header.ignored.values()] + \
        [f"{header.texts[c]} (duplicate of {header.candidates[c][0]})" for c in header.candidates
         if c not in used and not any(u["column"] == _letter(c) for u in report.unfit)]

    frame = _frame(cells, fields)
    del cells
    keep, skip = _data_rows(frame, features)
    for reason, mask in skip.items():
        rows_skipped = [int(i) for i in frame.index[mask]]
        if rows_skipped:
            report.skipped_rows[reason] = rows_skipped
    frame = frame[keep]
    report.data_rows = int(len(frame))
    report.not_stored = [{"column": _letter(col), "header": header.texts[col], "field": name,
                          "rows": int(frame[name].notna().sum())}
                         for col, name in sorted(fields.items()) if name in UNSTORED]
    frame = frame.drop(columns=[c for c in frame.columns if c in UNSTORED])
    if "ethnicity" in frame and mapping.ethnicity_edition is None:
        hint = ethnicity_edition_hint(frame["ethnicity"], province_code)
        if hint:
            column = next(c["column"] for c in report.columns if c["field"] == "ethnicity")
            shown = ", ".join(f"{k} ×{v}" for k, v in hint["codes"].items())
            report.stop = (f"column {column} holds ethnicity codes that read as the 1979 GSO list, not the 2008 one "
                           f"({shown}: {int(100 * hint['as_1979'])}% fit {hint['region']} as 1979 codes, "
                           f"{int(100 * hint['as_2008'])}% as 2008 codes). Declare the source's list: "
                           "`ethnicity_edition: 1979` (or 2008) in misgw.yaml or its mapping YAML")
            report.roster = False
            report.reason = report.stop
            return None, report
    years, blank = column_years(frame["assessment_year"]) if "assessment_year" in frame else ([], len(frame))
    report.years.update(column=years, rows_without=blank)
    frame.insert(0, "source_key", pd.Series(frame.index.map(keys) if keys else None, index=frame.index,
                                            dtype="object"))
    frame.insert(0, "source_row", frame.index.astype("int64"))
    frame.insert(0, "source_sheet", sheet)
    frame.insert(0, "source_file", file)
    return frame.reset_index(drop=True), report


UNSTORED = set(unstored_fields())


def _cells(body: list[list], columns: list[int], first_row: int) -> pd.DataFrame:
    """The body's cells in these columns (labelled by column index), indexed by Excel row number."""
    width = max(columns, default=-1) + 1
    data = [(r + [None] * width)[:width] for r in body]
    frame = pd.DataFrame(data, dtype=object, columns=range(width))  # columns even when no row follows
    frame = frame[columns]
    frame.index = np.arange(first_row, first_row + len(frame))
    return frame


def _frame(cells: pd.DataFrame, fields: dict[int, str]) -> pd.DataFrame:
    """The columns of `fields`, named by field (the STT column left out)."""
    frame = cells[list(fields)].rename(columns=fields)
    return frame.drop(columns=[c for c in frame.columns if c == "row_number"])


def _row_features(body: list[list], index) -> pd.DataFrame:
    """Per row, what its cells say whatever the columns mean: its first text, whether it is the row of
    column numbers, whether it is the date line above the signatures."""
    return pd.DataFrame({"first_text": pd.Series([_first_text(r) for r in body], index=index, dtype=object),
                         "numbering": pd.Series([_is_column_numbers(r) for r in body], index=index, dtype=bool),
                         "dated": pd.Series([_place_and_date(r) for r in body], index=index, dtype=bool)})


def _data_rows(frame: pd.DataFrame, features: pd.DataFrame) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Which rows are data (a name, a household code or an ID), and why each other row is skipped:
    blank, the column-number row, subtotals ("Cộng", "Tổng cộng") and the signature block below the table."""
    first_text = features["first_text"]
    key_cols = [c for c in ("full_name", "household_code", "id_number") if c in frame]
    has_key = frame[key_cols].notna().any(axis=1) if key_cols else pd.Series(False, index=frame.index)
    blank = frame.isna().all(axis=1) & first_text.isna()
    folded = first_text.fillna("").map(fold)
    # The signature block opens with a title ("Người lập biểu") or a place and date ("Vĩnh Châu, ngày 10
    # tháng 12 năm 2024"), in whichever column the template put it.
    footer_start = folded.str.startswith(_FOOTER) | features["dated"]
    after_footer = footer_start.cummax()
    # "Cộng", "Cộng hộ 1", "Tổng cộng", "Tổng số": a label and counts, never a person's sex or birth date.
    person_cols = [c for c in ("sex", "birth_date", "id_number") if c in frame]
    has_person = frame[person_cols].notna().any(axis=1) if person_cols else pd.Series(False, index=frame.index)
    subtotal = folded.str.match(r"^(tongcong|tongso|cong)") & ~has_person
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
            fit = column_fit(name, values, mapping.values.get(name), mapping.ethnicity_edition, bare) \
                if name in vocabulary() and vocabulary()[name]["level"] not in ("ignore", "unstored") else None
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
    """The row of column numbers templates put under the header: 1 2 3 ... or (1) (2) (3) ..."""
    values = [str(v).strip().strip("()").removesuffix(".0") for v in row if v is not None and str(v).strip()]
    if len(values) < 3 or not all(v.isdigit() for v in values):
        return False
    numbers = [int(v) for v in values]
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


_DATE_LINE = re.compile(r"ngay\d{0,2}thang\d{0,2}nam\d{0,4}")


def _place_and_date(row: list) -> bool:
    """A row whose only text is "…, ngày … tháng … năm …": the date line above the signatures."""
    texts = [str(v) for v in row if v is not None and str(v).strip()]
    return len(texts) == 1 and bool(_DATE_LINE.search(fold(texts[0])))


def _first_text(row: list):
    for v in row:
        if v is not None and str(v).strip():
            return str(v)
    return None


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


def translate(frame: pd.DataFrame, mapping: Mapping, units: pd.DataFrame,
              district_code: str | None, province_code: str, era: str = "pre2025",
              households_one_row: bool | None = None, scope: str = "commune",
              bare: dict[str, str] | None = None, indicator_columns: set[str] | None = None) -> pd.DataFrame:
    """Raw field values -> typed MIS values. Unreadable values keep their written form for the rules to name.

    units: the placement table (mis.units.placement) of the source's province. households_one_row: the
    roster's layout, when frame is only some of its households (one_row_per_household of the whole).
    province_code: the current province. scope: how the source's local household codes are qualified
    (household_keys). bare: a province's reading of bare values two codes share ({"ba": "04"}).
    indicator_columns: the deprivation indicators the roster has a column for (a blank mark there is
    "not deprived"; an indicator without a column is unknown).
    """
    if households_one_row is None:
        households_one_row = one_row_per_household(frame)
    out = pd.DataFrame(index=frame.index)
    # read_sheet: the sheet the row was read in; origin_*: its place in the district's own roster and the
    # round of the returned fix-up workbook it came in (misgw.stages.fixup_return).
    lineage = LINEAGE + [c for c in ("read_sheet", *ORIGIN) if c in frame]
    for col in lineage:
        out[col] = frame[col]
    for name in vocabulary():
        if name not in frame and name != "row_number" and vocabulary()[name]["level"] != "unstored":
            frame[name] = None
    raw = frame.drop(columns=lineage + [c for c in frame.columns if c in UNSTORED])
    # Text typed in the legacy fonts (TCVN3, VNI) becomes Unicode here, cell by cell; a cell that
    # cannot be read with confidence is kept as written and named for the rules.
    uncertain = pd.DataFrame(False, index=raw.index, columns=raw.columns)
    edition = mapping.ethnicity_edition or "2008"
    for name in raw.columns:
        if not "".join(v for v in pd.unique(raw[name].to_numpy()) if isinstance(v, str)).isascii():
            raw[name], labels = _decode(raw[name], name)
            if name in _CODED:
                # "Vî" is TCVN3 for "Vợ" or VNI for "Vỵ": the code list knows which one is a relation.
                for v in raw[name][labels.eq("uncertain").fillna(False).astype(bool)].unique():
                    hits = [e for e in legacy_candidates(v)
                            if codelists.code_of(to_unicode(v, e), _CODED[name], edition, mapping.values.get(name), bare)]
                    if len(hits) == 1:
                        same = raw[name] == v
                        raw.loc[same, name] = to_unicode(v, hits[0])
                        labels = labels.mask(same, hits[0])
            uncertain[name] = labels.eq("uncertain").fillna(False).astype(bool)
    out["encoding_uncertain"] = uncertain.apply(lambda r: ",".join(r.index[r]), axis=1) \
        if uncertain.to_numpy().any() else ""
    # An ID typed into a number cell lost its leading zero; only then is putting it back allowed.
    id_was_number = raw["id_number"].map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    text = pd.DataFrame({name: clean_series(raw[name]) for name in raw.columns}, index=raw.index)
    # «xóa» in a cell the MIS may leave empty: the person clears the stored value (a blank cell keeps it).
    # The cell reads as blank; the fields a row clears go on (mis.load.apply_clears writes and logs them).
    marks = pd.DataFrame({n: fold_series(text[n]).eq(CLEAR_MARK).fillna(False).astype(bool) for n in CLEARABLE
                          if n in text}, index=text.index)
    out["cleared_fields"] = marks.apply(lambda r: ",".join(r.index[r]), axis=1) if marks.to_numpy().any() else ""
    if marks.to_numpy().any():
        text[marks.columns] = text[marks.columns].mask(marks)
    for name in text.columns:   # a cleared cell is no malformed value for the format rules
        out[f"raw_{name}"] = text[name]

    # Household code: as the district writes it, carried down to the members within its sheet.
    local = local_codes(frame.assign(household_code=text["household_code"]))
    out["local_code"] = local
    blocks = household_blocks(frame, local)

    out["full_name"] = name_case(text["full_name"])
    out["relation_code"] = codelists.to_codes(text["relation"], "relation", own=mapping.values.get("relation"),
                                              bare=bare)
    # One row per household (the head's fields only): no relation column, and no code repeats.
    if households_one_row:
        out["relation_code"] = "01"
    out["sex"] = codelists.to_codes(text["sex"], "sex", own=mapping.values.get("sex"))
    out["ethnicity_code"] = codelists.to_codes(text["ethnicity"], "ethnicity", edition, mapping.values.get("ethnicity"))

    dates = parse_dates(text["birth_date"])
    out["birth_date"] = dates["date"]
    out["birth_year"] = dates["year"]
    out["birth_precision"] = dates["precision"]
    out["birth_date_ok"] = dates["ok"]
    # What the rules read: the date, else the year, else what was written.
    out["birth_date_value"] = dates["date"].fillna(dates["year"].astype("string")).fillna(text["birth_date"])

    ids = normalise_ids(text["id_number"], id_was_number)
    out["id_number"] = ids["id_number"]
    out["id_candidate"] = ids["candidate"]
    out["id_problem"] = ids["problem"]
    length = out["id_number"].str.len()
    out["id_kind"] = pd.Series(np.select([ids["problem"].notna().to_numpy() | out["id_number"].isna().to_numpy(),  # type: ignore[call-overload]
                                          (length == 12).fillna(False).to_numpy(),
                                          (length == 9).fillna(False).to_numpy()],
                                         [None, "cccd", "cmnd"], default=None),
                               index=out.index, dtype="string")

    # Household-level fields are often written on the head's row only: spread them over the household
    # as the roster writes it (its block of rows), never over another commune's household of that code.
    household_fields = [n for n, s in vocabulary().items() if s["level"] == "household" and n != "household_code"]
    if local.notna().any():
        filled = text[household_fields].groupby(blocks, dropna=False).transform("first")
        text[household_fields] = text[household_fields].fillna(filled)

    out["address"] = text["address"]
    out["hamlet"] = text["hamlet"]
    out["area"] = codelists.to_codes(text["area"], "area", own=mapping.values.get("area"))
    out["poverty_category"] = codelists.to_codes(text["poverty_category"], "poverty_category",
                                                 own=mapping.values.get("poverty_category"))
    out["assessment_year"] = on_distinct(text["assessment_year"], lambda s: pd.to_numeric(
        _no_point_zero(s), errors="coerce").astype("Int64"))
    out["income_per_capita"] = on_distinct(text["income_per_capita"], lambda s: pd.to_numeric(
        _no_point_zero(s).str.replace(r"[.,\s]|đ|VND|vnd|đồng", "", regex=True), errors="coerce").round().astype("Int64"))
    out["member_count"] = pd.to_numeric(text["member_count"], errors="coerce").astype("Int64")
    out["approval_decision_no"] = text["approval_decision_no"]
    approval = parse_dates(text["approval_date"])
    out["approval_date"] = approval["date"]
    out["approval_date_ok"] = approval["ok"]
    present = set(INDICATORS) & set(indicator_columns or ())
    for name in INDICATORS:
        marks = codelists.to_codes(text[name], "yes_no")
        value = marks.map({"true": True, "false": False}).astype("boolean")
        # A blank mark under an indicator's column is "not deprived"; a mark that cannot be read stays
        # unknown (the rule names it); without the column it is unknown.
        out[name] = value.mask(text[name].isna(), False) if name in present else value
    count = pd.to_numeric(_no_point_zero(text["deprivation_count"].astype("string")), errors="coerce")
    out["deprivation_count_written"] = count.astype("Float64")
    # The count as written when the roster gives one, else the marks counted; unknown without either.
    whole = count.where(count == count.round()).astype("Int64")
    if present:
        whole = whole.fillna(out[sorted(present)].fillna(False).astype(int).sum(axis=1).astype("Int64"))
    out["deprivation_count"] = whole

    if era == "current":
        _place_current_communes(out, text, units)
    else:
        _place_communes(out, text, units, district_code)
    # The area a column gives, else the commune's type: phường and thị trấn urban, xã rural.
    by_unit = out["commune_level"].map({"Phường": "urban", "Thị trấn": "urban", "Xã": "rural", "Đặc khu": "rural"})
    out["area"] = out["area"].fillna(by_unit.astype("string"))
    out["unit_era"] = era
    out["province_code"] = province_code
    out["household_code"] = household_keys(local, out["commune_code"], out["commune_code_pre2025"],
                                           out["district_code_pre2025"], province_code, scope,
                                           unknown_place=out["raw_commune_any"], communes=unit_codes(units))
    return out


def unit_codes(units: pd.DataFrame) -> set[str]:
    """Every commune code of a placement table (pre-2025 and current)."""
    return {str(c) for col in ("commune_code_pre2025", "commune_code") if col in units for c in units[col].dropna()}


_PLACE_NAMES = {"full_name", "hamlet", "commune", "address"}


def _decode(values: pd.Series, name: str):
    """Legacy-font cells of one column to Unicode; names of people and places get their capitals back."""
    return decode_series(values, proper_names=name in _PLACE_NAMES)


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


def _no_point_zero(values: pd.Series) -> pd.Series:
    """A number cell's text without its ".0": 1234.0 -> 1234."""
    return values.str.replace(r"\.0$", "", regex=True)


def _strip_prefix(key: str) -> str:
    for p in _COMMUNE_PREFIXES:
        if key.startswith(p) and len(key) > len(p):
            return key[len(p):]
    return key
