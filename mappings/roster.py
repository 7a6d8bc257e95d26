"""Translates a raw roster sheet into MIS member rows: fields, codes, dates, IDs and 2025 administrative units."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mappings import codelists
from mappings.legacy_fonts import decode_series, legacy_candidates, to_unicode
from mappings.text import clean_series, fold, fold_series, name_case, on_distinct
from mappings.values import normalise_ids, parse_dates
from mappings.vocabulary import Mapping, locate_header, vocabulary

LINEAGE = ["source_file", "source_sheet", "source_row", "source_key"]   # source_key: a record's primary key
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

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def map_sheet(file: str, sheet: str, rows: list[list], mapping: Mapping,
              keys: dict[int, str] | None = None) -> tuple[pd.DataFrame | None, SheetMapping]:
    """Header detection and non-data row removal. Returns one row per member with raw field values.

    keys: row number -> the record's primary key, for a database table or a web service.
    """
    header = locate_header(rows, mapping)
    if header is None:
        return None, SheetMapping(file, sheet, roster=False,
                                  reason="no header row naming at least 3 roster fields")
    report = SheetMapping(file, sheet, roster=True, header_row=header.row_index + 1)
    missing = [f for f in REQUIRED_FIELDS if f not in header.fields.values()]
    if missing:
        # A roster whose headers the vocabulary does not cover: say what is unknown and what is missing.
        report.roster = False
        unknown = ", ".join(f"«{t}»" for t in header.ignored.values()) or "none"
        wanted = ", ".join(f"{f} («{vocabulary()[f]['aliases'][0]}»)" for f in missing)
        report.reason = (f"header row {header.row_index + 1}: unrecognised headers {unknown}; "
                         f"fields still missing: {wanted}")
        report.missing_fields = missing
        return None, report
    report.columns = [{"column": _letter(col), "header": header.texts[col], "field": name, "how": header.how[col]}
                      for col, name in sorted(header.fields.items())]
    report.ignored_columns = [str(v) for v in header.ignored.values()] + \
        [f"{header.texts[c]} (duplicate of {n})" for c, n in header.duplicates.items()]

    body = rows[header.row_index + 1:]
    width = max(header.fields) + 1
    data = [(r + [None] * width)[:width] for r in body]
    frame = pd.DataFrame(data, dtype=object, columns=range(width))  # columns even when no row follows
    frame = frame[list(header.fields)].rename(columns=header.fields)
    frame.index = np.arange(header.row_index + 2, header.row_index + 2 + len(frame))  # Excel row numbers
    frame = frame.drop(columns=[c for c in frame.columns if c == "row_number"])

    # Which rows are data: a row needs a name, a household code or an ID; subtotals and the footer are not.
    first_text = pd.Series([_first_text(r) for r in body], index=frame.index)
    key_cols = [c for c in ("full_name", "household_code", "id_number") if c in frame]
    has_key = frame[key_cols].notna().any(axis=1) if key_cols else pd.Series(False, index=frame.index)
    blank = frame.isna().all(axis=1) & first_text.isna()
    folded = first_text.fillna("").map(fold)
    footer_start = folded.str.startswith(_FOOTER)
    after_footer = footer_start.cummax()
    # "Cộng", "Cộng hộ 1", "Tổng cộng", "Tổng số": a label and counts, never a person's sex or birth date.
    person_cols = [c for c in ("sex", "birth_date", "id_number") if c in frame]
    has_person = frame[person_cols].notna().any(axis=1) if person_cols else pd.Series(False, index=frame.index)
    subtotal = folded.str.match(r"^(tongcong|tongso|cong)") & ~has_person
    numbering = pd.Series([_is_column_numbers(r) for r in body], index=frame.index)
    no_key = ~has_key & ~blank
    skip = {"blank": blank & ~after_footer, "footer": after_footer & ~blank,
            "column numbers": numbering & ~after_footer,
            "subtotal": subtotal & ~after_footer & ~numbering,
            "no name, household code or ID": no_key & ~subtotal & ~after_footer & ~numbering}
    for reason, mask in skip.items():
        rows_skipped = [int(i) for i in frame.index[mask]]
        if rows_skipped:
            report.skipped_rows[reason] = rows_skipped
    keep = ~(blank | after_footer | subtotal | no_key | numbering)
    frame = frame[keep]
    frame.insert(0, "source_key", pd.Series(frame.index.map(keys) if keys else None, index=frame.index,
                                            dtype="object"))
    frame.insert(0, "source_row", frame.index.astype("int64"))
    frame.insert(0, "source_sheet", sheet)
    frame.insert(0, "source_file", file)
    return frame.reset_index(drop=True), report


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
    values = [str(v).strip().strip("()") for v in row if v is not None and str(v).strip()]
    if len(values) < 3 or not all(v.isdigit() for v in values):
        return False
    numbers = [int(v) for v in values]
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def _first_text(row: list):
    for v in row:
        if v is not None and str(v).strip():
            return str(v)
    return None


def household_groups(frame: pd.DataFrame) -> pd.Series:
    """Each row's household as translate will read it (the code, carried down to the members), folded: rows
    a roster writes "H01" and " h01" are one group, so a group never holds part of a household."""
    if "household_code" not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return fold_series(on_distinct(clean_series(frame["household_code"]), _no_point_zero)).ffill()


def one_row_per_household(frame: pd.DataFrame, groups: pd.Series | None = None) -> bool:
    """A roster of heads only: no relation column, and no household code repeats.
    groups: household_groups(frame), when the caller has it already."""
    groups = household_groups(frame) if groups is None else groups
    return ("relation" not in frame or clean_series(frame["relation"]).isna().all()) and \
        not groups.dropna().duplicated().any()


def translate(frame: pd.DataFrame, mapping: Mapping, units: pd.DataFrame,
              district_code: str | None, province_code: str, era: str = "pre2025",
              households_one_row: bool | None = None) -> pd.DataFrame:
    """Raw field values -> typed MIS values. Unreadable values keep their written form for the rules to name.

    units: the placement table (mis.units.placement) of the source's province. households_one_row: the
    roster's layout, when frame is only some of its households (one_row_per_household of the whole).
    """
    if households_one_row is None:
        households_one_row = one_row_per_household(frame)
    out = pd.DataFrame(index=frame.index)
    for col in LINEAGE:
        out[col] = frame[col]
    for name in vocabulary():
        if name not in frame and name != "row_number":
            frame[name] = None
    raw = frame.drop(columns=LINEAGE)
    # Text typed in the legacy fonts (TCVN3, VNI) becomes Unicode here, cell by cell; a cell that
    # cannot be read with confidence is kept as written and named for the rules.
    uncertain = pd.DataFrame(False, index=raw.index, columns=raw.columns)
    for name in raw.columns:
        if not "".join(v for v in pd.unique(raw[name].to_numpy()) if isinstance(v, str)).isascii():
            raw[name], labels = decode_series(raw[name])
            if name in _CODED:
                # "Vî" is TCVN3 for "Vợ" or VNI for "Vỵ": the code list knows which one is a relation.
                table = codelists.lookup_table(_CODED[name], mapping.ethnicity_edition)
                for v in raw[name][labels.eq("uncertain").fillna(False).astype(bool)].unique():
                    hits = [e for e in legacy_candidates(v) if fold(to_unicode(v, e)) in table]
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
    for name in text.columns:
        out[f"raw_{name}"] = text[name]

    # Household code: rosters that write it only on the head's row carry it down to the members.
    out["household_code"] = on_distinct(text["household_code"], _no_point_zero)
    if out["household_code"].notna().any() and out["household_code"].isna().any():
        out["household_code"] = out["household_code"].ffill()

    out["full_name"] = name_case(text["full_name"])
    out["relation_code"] = codelists.to_codes(text["relation"], "relation")
    # One row per household (the head's fields only): no relation column, and no code repeats.
    if households_one_row:
        out["relation_code"] = "01"
    out["sex"] = codelists.to_codes(text["sex"], "sex")
    out["ethnicity_code"] = codelists.to_codes(text["ethnicity"], "ethnicity", mapping.ethnicity_edition)

    dates = parse_dates(text["birth_date"])
    out["birth_date"] = dates["date"]
    out["birth_year"] = dates["year"]
    out["birth_precision"] = dates["precision"]
    # What the rules read: the date, else the year, else what was written.
    out["birth_date_value"] = dates["date"].fillna(dates["year"].astype("string")).fillna(text["birth_date"])

    ids = normalise_ids(text["id_number"], id_was_number)
    out["id_number"] = ids["id_number"]
    out["id_candidate"] = ids["candidate"]
    out["id_problem"] = ids["problem"]
    length = out["id_number"].str.len()
    out["id_kind"] = pd.Series(np.select([ids["problem"].notna().to_numpy() | out["id_number"].isna().to_numpy(),
                                          (length == 12).fillna(False).to_numpy(),
                                          (length == 9).fillna(False).to_numpy()],
                                         [None, "cccd", "cmnd"], default=None),
                               index=out.index, dtype="string")

    # Household-level fields are often written on the head's row only: spread them over the household.
    household_fields = [n for n, s in vocabulary().items() if s["level"] == "household" and n != "household_code"]
    if out["household_code"].notna().any():
        filled = text[household_fields].groupby(out["household_code"], dropna=False).transform("first")
        text[household_fields] = text[household_fields].fillna(filled)

    out["address"] = text["address"]
    out["area"] = codelists.to_codes(text["area"], "area")
    out["poverty_category"] = codelists.to_codes(text["poverty_category"], "poverty_category")
    out["assessment_year"] = on_distinct(text["assessment_year"], lambda s: pd.to_numeric(
        _no_point_zero(s), errors="coerce").astype("Int64"))
    out["income_per_capita"] = on_distinct(text["income_per_capita"], lambda s: pd.to_numeric(
        _no_point_zero(s).str.replace(r"[.,\s]|đ|VND|vnd|đồng", "", regex=True), errors="coerce").round().astype("Int64"))
    out["member_count"] = pd.to_numeric(text["member_count"], errors="coerce").astype("Int64")
    out["approval_decision_no"] = text["approval_decision_no"]
    out["approval_date"] = parse_dates(text["approval_date"])["date"]
    for name in INDICATORS:
        marks = codelists.to_codes(text[name], "yes_no")
        out[name] = marks.map({"true": True, "false": False}).astype("boolean")
    present = [n for n in INDICATORS[:12]]
    out["deprivation_count"] = out[present].fillna(False).astype(int).sum(axis=1).astype("Int64")

    if era == "current":
        _place_current_communes(out, text, units)
    else:
        _place_communes(out, text, units, district_code)
    out["unit_era"] = era
    out["province_code"] = province_code
    return out


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
