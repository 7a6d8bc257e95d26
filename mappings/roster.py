"""Translates a raw roster sheet into MIS member rows: fields, codes, dates, IDs and 2025 administrative units."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mappings import codelists
from mappings.assessment_year import column_years, years_in
from mappings.commune_placement import _place_communes, _place_current_communes
from mappings.commune_placement import unit_codes as unit_codes
from mappings.fit import ethnicity_edition_hint
from mappings.household_codes import SCOPES as SCOPES
from mappings.household_codes import _no_point_zero, household_blocks, local_codes
from mappings.household_codes import household_groups as household_groups
from mappings.household_codes import household_keys as household_keys
from mappings.household_codes import one_row_per_household as one_row_per_household
from mappings.legacy_fonts import decode_series, legacy_candidates, to_unicode
from mappings.roster_layout import _CODED, _cells, _data_rows, _fields_by_values, _frame, _letter, _row_features
from mappings.text import clean_series, fold_series, name_case, on_distinct
from mappings.values import normalise_ids, parse_dates
from mappings.vocabulary import Mapping, locate_header, unstored_fields, vocabulary
from mis.record import INDICATORS

LINEAGE = ["source_file", "source_sheet", "source_row", "source_key"]   # source_key: a record's primary key
ORIGIN = ["origin_file", "origin_sheet", "origin_row", "origin_digest", "origin_household", "fixup_round",
          "fixup_run", "fixup_problem", "origin_context",
          "block_break"]   # rows left out just before this one (a narrowed read): a household's block ends there
# The fields a person may clear with «xóa» (the marker the fix-up workbook's instructions name): never a
# field a record needs (code, name, sex, birth date, relation), nor the assessment's category or year.
CLEAR_MARK = "xoa"
CLEARABLE = ["ethnicity", "id_number", "address", "hamlet", "area", "income_per_capita", "approval_decision_no",
             "approval_date", "deprivation_count"]
REQUIRED_FIELDS = ["household_code", "full_name", "sex", "birth_date"]


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
              bare: dict[str, str] | None = None, numbers: list[int] | None = None) -> tuple[pd.DataFrame | None, SheetMapping]:
    """Header detection, the columns' fields by their headers and values, and non-data row removal.
    Returns one row per member with raw field values.

    keys: row number -> the record's primary key, for a database table or a web service.
    province_code: the source's pre-2025 province (which ethnicity list its codes likely follow).
    bare: how the province reads a bare value two codes share ({"ba": "04"}).
    numbers: each row's number, when rows are not the sheet's every row from the first (a keyed source's
    records, of which those unchanged since the last load were left out); else row i is number i + 1.
    """
    rows_read = sum(1 for r in rows if r)                        # a connector delivers non-empty rows only
    header = locate_header(rows, mapping)
    if header is None:
        return None, SheetMapping(file, sheet, roster=False, rows_read=rows_read,
                                  reason="no header row naming at least 3 roster fields")
    numbers = numbers or list(range(1, len(rows) + 1))
    report = SheetMapping(file, sheet, roster=True, header_row=numbers[header.row_index], rows_read=rows_read)
    body = rows[header.row_index + 1:]
    title = rows[:header.row_index + 1 - header.rows]
    report.years = {"title": sorted({y for r in title for v in r if isinstance(v, str) for y in years_in(v)}),
                    "sheet": years_in(sheet)}

    # The body's cells once, in every recognised column, and what each row is (computed once, per row).
    cells = _cells(body, sorted(header.candidates), numbers[header.row_index + 1:])
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


_PLACE_NAMES = {"full_name", "hamlet", "commune", "address"}


def _decode(values: pd.Series, name: str):
    """Legacy-font cells of one column to Unicode; names of people and places get their capitals back."""
    return decode_series(values, proper_names=name in _PLACE_NAMES)
