"""Rules generic tools do not have: CCCD digits, ages in a household, household shape, units, poverty standard."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from common.yaml_data import load_yaml
from mappings import codelists
from mappings.text import fold_series

SHOWN = 60   # characters of a value quoted in a failure


class Checks:
    """Collects failures as (pos, rule, value); extra per-row context columns feed the messages."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.parts: list[pd.DataFrame] = []

    def add(self, mask, rule: str, value_col: str, **context: pd.Series) -> None:
        mask = pd.Series(mask, index=self.frame.index).fillna(False).astype(bool)
        if not mask.any():
            return
        value = self.frame.loc[mask, value_col].astype("string")
        # A value quoted in a message is cut short: a pasted page in one cell stays out of every report.
        value = value.where(value.str.len() <= SHOWN, value.str.slice(0, SHOWN) + "…")
        part = pd.DataFrame({"pos": self.frame.index[mask], "rule": rule, "value": value.to_numpy()})
        for key, series in context.items():
            part[f"ctx_{key}"] = pd.Series(series, index=self.frame.index)[mask].to_numpy()
        self.parts.append(part)

    def result(self) -> pd.DataFrame:
        parts = [p for p in self.parts if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["pos", "rule", "value"])


_ROW_KEY_PROBLEMS = {
    "key_blank": ("ô «Mã dòng» của dòng bị xóa trắng", "its key cell was emptied"),
    "key_unknown": ("«Mã dòng» không có trong tệp đã gửi (bị sửa hoặc chép từ tệp khác)",
                    "its key is not one the workbook was sent with"),
    "key_copied": ("cùng một «Mã dòng» xuất hiện ở nhiều dòng (dòng bị chép đè)", "its key is on several rows"),
    "key_moved": ("mã hộ của dòng khác với mã hộ đã gửi cho dòng này (dòng bị dán đè lên dòng khác)",
                  "its household code is not the one sent for this row (pasted over another row)"),
}


def fixup_rules(c: Checks) -> None:
    """A row of a returned fix-up workbook that its hidden key does not tie to its own record."""
    f = c.frame
    if "fixup_problem" not in f or not f["fixup_problem"].notna().any():
        return
    problem = f["fixup_problem"]
    c.add(problem.notna(), "fixup.row_key", "fixup_problem",
          what_vi=problem.map(lambda p: _ROW_KEY_PROBLEMS.get(p, (p, p))[0]),
          what_en=problem.map(lambda p: _ROW_KEY_PROBLEMS.get(p, (p, p))[1]))


def encoding_rules(c: Checks) -> None:
    """A cell in a legacy font that could not be read with confidence: say so, never guess."""
    f = c.frame
    if "encoding_uncertain" not in f or not f["encoding_uncertain"].astype(bool).any():
        return
    for name in sorted({n for v in f["encoding_uncertain"] if v for n in v.split(",")}):
        mask = f["encoding_uncertain"].str.split(",").map(lambda names, n=name: n in names)
        c.add(mask, "encoding.uncertain", f"raw_{name}", field=pd.Series(name, index=f.index))


def length_rules(c: Checks, limits: dict[str, int]) -> None:
    """Free-text cells longer than any real value (limits from rules.yaml): never loaded into the MIS."""
    f = c.frame
    for name, limit in limits.items():
        if name in f:
            length = f[name].str.len()
            c.add(length > limit, "format.too_long", f"raw_{name}" if f"raw_{name}" in f else name,
                  field=pd.Series(name, index=f.index), length=length, limit=pd.Series(limit, index=f.index))


# What Excel shows in a cell whose formula fails (#REF!: it points at a deleted cell).
EXCEL_ERRORS = r"#(?:REF!|VALUE!|DIV/0!|N/A|NAME\?|NUM!|NULL!|SPILL!|CALC!|FIELD!|BLOCKED!|UNKNOWN!|GETTING_DATA)"


def formula_rules(c: Checks) -> None:
    """A cell whose formula evaluates to an error (#REF!, #VALUE!, ...): named as such, never read as blank."""
    f = c.frame
    for column in [name for name in f.columns if name.startswith("raw_") and name != "raw_commune_any"]:
        if not any(isinstance(v, str) and v.startswith("#") for v in pd.unique(f[column].dropna().to_numpy())):
            continue
        name = column[4:]
        c.add(f[column].astype("string").str.fullmatch(EXCEL_ERRORS), "cell.formula_error", column,
              field=pd.Series(name, index=f.index), label=pd.Series(vocabulary_label(name), index=f.index))


def number_rules(c: Checks) -> None:
    """A number field written in words or with stray text ("một triệu rưỡi"): said, never read as blank."""
    f = c.frame
    for name, parsed in (("income_per_capita", "income_per_capita"), ("member_count", "member_count"),
                         ("assessment_year", "assessment_year"), ("deprivation_count", "deprivation_count_written")):
        if parsed in f and f"raw_{name}" in f:
            label = vocabulary_label(name)
            bad = f[f"raw_{name}"].notna() & f[parsed].isna()
            if name == "deprivation_count":
                bad = bad | (f[parsed].notna() & ((f[parsed] != f[parsed].round()) | (f[parsed] < 0) | (f[parsed] > 14)))
            c.add(bad, "format.number", f"raw_{name}",
                  field=pd.Series(name, index=f.index), label=pd.Series(label, index=f.index))


def value_rules(c: Checks) -> None:
    """A value written but not readable is rejected with its reason, never stored as blank: an impossible or
    zero date (31/02/1980, MySQL's 1985-00-12 and 0000-00-00), a deprivation mark that is no yes or no."""
    f = c.frame
    if "birth_date_ok" in f:
        c.add(f["raw_birth_date"].notna() & ~f["birth_date_ok"].fillna(True).astype(bool), "format.birth_date",
              "raw_birth_date")
    if "approval_date_ok" in f:
        c.add(f["raw_approval_date"].notna() & ~f["approval_date_ok"].fillna(True).astype(bool), "format.approval_date",
              "raw_approval_date")
    for name in [n for n in f.columns if n.startswith("d_") and f"raw_{n}" in f]:
        bad = f[f"raw_{name}"].notna() & f[name].isna()
        if bad.any():
            c.add(bad, "codelist.indicator", f"raw_{name}", field=pd.Series(name, index=f.index),
                  label=pd.Series(vocabulary_label(name), index=f.index))


# Stored text that must be Vietnamese writing: a letter outside it is a legacy font read wrongly.
_TEXT_FIELDS = ("full_name", "hamlet", "address", "local_code")


def orthography_rules(c: Checks) -> None:
    """No text is loaded as if clean when it holds a letter Vietnamese does not write ("Röône", "V¨n"):
    that is a legacy font (TCVN3, VNI) read wrongly, or a broken cell."""
    from mappings.legacy_fonts import outside_orthography_series

    f = c.frame
    for name in _TEXT_FIELDS:
        if name not in f or not f[name].notna().any():
            continue
        letters = outside_orthography_series(f[name].astype("string"))
        raw = f"raw_{name}" if f"raw_{name}" in f else name
        uncertain = f["encoding_uncertain"].astype("string").fillna("").str.contains(
            "household_code" if name == "local_code" else name, regex=False) if "encoding_uncertain" in f else False
        c.add(letters.notna() & ~pd.Series(uncertain, index=f.index).astype(bool), "encoding.foreign_letter", raw,
              field=pd.Series("household_code" if name == "local_code" else name, index=f.index),
              letters=letters.fillna(""))


def vocabulary_label(field: str) -> str:
    """The header district staff know a field by: its first wording in the vocabulary."""
    from mappings.vocabulary import vocabulary

    return (vocabulary().get(field, {}).get("aliases") or [field])[0]


def person_rules(c: Checks, today: dt.date) -> None:
    f = c.frame
    future = (f["birth_date"].notna() & (f["birth_date"] > today.isoformat())) | \
             (f["birth_year"].notna() & (f["birth_year"] > today.year))
    c.add(future, "range.birth_date", "raw_birth_date")

    # A name is letters: not an ID, a number, or a date that slipped into the column.
    name = f["full_name"]
    c.add(name.notna() & (name.str.contains(r"\d", regex=True) | ~name.str.contains(r"[^\W\d_]", regex=True)),
          "format.full_name", "raw_full_name")

    # CCCD digits: 1-3 province of birth registration, 4 century and sex, 5-6 birth year.
    ids = f["id_number"].where(f["id_kind"] == "cccd")
    is_cccd = ids.notna()
    province_ok = ids.str[:3].isin(codelists._load("codelists.yaml")["cccd_province_codes"])
    c.add(is_cccd & ~province_ok, "cccd.province", "id_number")
    digit4 = pd.to_numeric(ids.str[3], errors="coerce")
    century = 1900 + (digit4 // 2) * 100
    year = f["birth_year"].astype("Float64")
    known_year = year.notna()
    sex_bad = f["sex"].isin(["M", "F"]) & ((digit4 % 2) != np.where(f["sex"] == "F", 1, 0))
    century_bad = known_year & ((year < century) | (year >= century + 100))
    c.add(is_cccd & province_ok & (sex_bad | century_bad), "cccd.sex_century", "id_number")
    yy = pd.to_numeric(ids.str[4:6], errors="coerce")
    c.add(is_cccd & province_ok & ~(sex_bad | century_bad) & known_year & (yy != (year % 100)),
          "cccd.birth_year", "id_number")

    c.add(f["id_kind"] == "cmnd", "id.legacy_cmnd", "id_number")
    listed = f["id_number"].where(f["id_kind"].notna())
    c.add(listed.notna() & listed.duplicated(keep=False), "id.duplicate_in_batch", "id_number")


def household_rules(c: Checks, today: dt.date) -> None:
    f = c.frame
    code = f["household_code"]
    has_code = code.notna()
    first_row = has_code & ~code.duplicated()
    is_head = f["relation_code"] == "01"
    heads = is_head.groupby(code).transform("sum")

    # A member whose code differs from the head's just above: a typo in the code, not a new household. A
    # code on several rows is a household of its own (one with no head, if none is written "Chủ hộ").
    previous_code = code.shift()
    headless = has_code & (heads == 0)
    alone = code.groupby(code).transform("size").eq(1)
    typo = headless & alone & ~is_head & previous_code.notna() & (previous_code != code) & \
        previous_code.map(is_head.groupby(code).sum()).fillna(0).gt(0)
    typo_codes = set(code[typo])
    c.add(typo, "household.code_mismatch", "household_code", previous=previous_code)
    c.add(first_row & (heads != 1) & ~code.isin(typo_codes), "household.head_count", "household_code",
          count=heads.astype("string"))

    member_key = fold_series(f["full_name"]) + "|" + f["birth_year"].astype("string").fillna("")
    pair = pd.DataFrame({"h": code, "k": member_key})
    # Two people of one name and birth year, each with a full birth date of their own, are two people (a
    # child named after a brother who died); without dates to tell them apart, one is listed twice.
    dated = f["birth_date"].notna().groupby([code, member_key]).transform("all")
    dates = f["birth_date"].groupby([code, member_key]).transform("nunique")
    size = f["birth_date"].groupby([code, member_key]).transform("size")
    apart = dated & (dates == size)
    dup = has_code & f["full_name"].notna() & pair.duplicated(keep="first") & ~apart.fillna(False).astype(bool)
    c.add(dup, "household.duplicate_member", "raw_full_name")

    communes = f["commune_code_pre2025"].groupby(code).transform("nunique")
    c.add(first_row & (communes > 1), "household.commune_mismatch", "household_code")

    declared = f["member_count"].groupby(code).transform("first")
    listed = code.groupby(code).transform("size")
    c.add(first_row & declared.notna() & (declared != listed), "household.member_count", "household_code",
          declared=declared.astype("string"), listed=listed.astype("string"))

    # Ages that cannot be: a head under 15, a child born before the head, a parent after.
    ref_year = today.year
    age = ref_year - f["birth_year"].astype("Float64")
    exact = f["birth_date"].notna()
    birthday_later = exact & (f["birth_date"].str[5:] > today.isoformat()[5:])
    age = age - birthday_later.astype(int)
    c.add(is_head & age.notna() & (age < 15), "age.head_min", "raw_birth_date", age=age.astype("Int64").astype("string"))
    head_year = f["birth_year"].where(is_head).groupby(code).transform("first").astype("Float64")
    year = f["birth_year"].astype("Float64")
    younger_than_head = {"03": "con", "06": "cháu", "08": "con dâu/con rể"}
    older_than_head = {"04": "bố/mẹ", "05": "ông/bà"}
    rel = f["relation_code"]
    c.add(rel.isin(list(younger_than_head)) & (year <= head_year), "age.relation", "raw_birth_date",
          relation=rel.map(younger_than_head | older_than_head), head_year=head_year.astype("Int64").astype("string"),
          order=pd.Series("trước", index=f.index))
    c.add(rel.isin(list(older_than_head)) & (year >= head_year), "age.relation", "raw_birth_date",
          relation=rel.map(younger_than_head | older_than_head), head_year=head_year.astype("Int64").astype("string"),
          order=pd.Series("sau", index=f.index))


def unit_rules(c: Checks, district_code: str | None) -> None:
    f = c.frame
    if (f.get("unit_era") == "current").all() and len(f):
        # Current units: two levels, no district; the commune must exist in the province today.
        c.add(f["commune_code"].isna(), "unit.commune_current", "raw_commune_any")
        return
    unknown = f["commune_code_pre2025"].isna()
    c.add(unknown, "unit.commune", "raw_commune_any")
    if district_code:
        c.add(~unknown & (f["district_code_pre2025"] != district_code), "unit.commune_district", "raw_commune_any")
    c.add(~unknown & f["commune_code"].isna(), "unit.commune_split", "raw_commune_any")


@lru_cache(maxsize=1)
def poverty_standards() -> list[dict]:
    text = resources.files("expectations").joinpath("poverty_standards.yaml").read_text(encoding="utf-8")
    return load_yaml(text)["standards"]


def standard_for(year) -> dict | None:
    for s in poverty_standards():
        if s["from_year"] <= year <= s.get("to_year", 9999):
            return s
    return None


def poverty_rules(c: Checks, indicator_columns: set[str]) -> None:
    """The declared category against income, area and deprivations, by the standard of the assessment year."""
    f = c.frame
    code = f["household_code"]
    first = code.notna() & ~code.duplicated()
    # A household is never stored without its assessment: the category is required on its rows.
    category_written = f["raw_poverty_category"].notna().groupby(code).transform("any") \
        if "raw_poverty_category" in f else pd.Series(False, index=f.index)
    c.add(first & ~category_written.fillna(False).astype(bool), "required.poverty_category", "household_code")
    declared = f["poverty_category"].where(f["poverty_category"].isin(["poor", "near_poor", "average", "not_poor"]))
    year = f["assessment_year"]
    checked = first & declared.notna() & year.notna()
    if not checked.any():
        return
    years = {int(y): standard_for(int(y)) for y in year[checked].unique()}
    c.add(checked & year.isin([y for y, s in years.items() if s is None]), "poverty.no_standard", "assessment_year")

    # Urban means phường and thị trấn when the roster gives no area.
    urban_by_unit = f.get("commune_level", pd.Series(pd.NA, index=f.index)).isin(["Phường", "Thị trấn"])
    area = f["area"].where(f["area"].isin(["urban", "rural"]),
                           pd.Series(np.where(urban_by_unit, "urban", "rural"), index=f.index))
    line = pd.Series(np.nan, index=f.index, dtype="Float64")
    minimum = line.copy()
    counts = line.copy()
    legal = pd.Series(None, index=f.index, dtype=object)
    for y, std in years.items():
        if std is None:
            continue
        rows = checked & (year == y)
        line = line.mask(rows & (area == "urban"), std["poverty_line"]["urban"])
        line = line.mask(rows & (area == "rural"), std["poverty_line"]["rural"])
        minimum = minimum.mask(rows, std["poor_min_deprivations"])
        legal = legal.mask(rows, std["legal_basis"])
        present = [i for i in std["indicators"] if i in indicator_columns]
        if present:
            marks = f[present].fillna(False).astype(int).sum(axis=1)
            counts = counts.mask(rows, marks)
            if len(present) == len(std["indicators"]) and "deprivation_count_written" in f:
                # Both a count and every indicator's mark: they must agree.
                written = f["deprivation_count_written"]
                c.add(rows & written.notna() & (written != marks), "poverty.deprivation_count_mismatch",
                      "raw_deprivation_count", written=written, marked=marks.astype("Float64"), year=year,
                      legal=pd.Series(std["legal_basis"], index=f.index))
        if "deprivation_count_written" in f:
            counts = counts.mask(rows & f["deprivation_count_written"].notna(), f["deprivation_count_written"])
    income = f["income_per_capita"].astype("Float64")
    decision = ("Quyết định số " + f["approval_decision_no"].astype("string") + " ngày " +
                pd.to_datetime(f["approval_date"], errors="coerce").dt.strftime("%d/%m/%Y").fillna("?")) \
        .where(f["approval_decision_no"].notna())
    ctx = dict(income=income, line=line, area=area.map({"urban": "thành thị", "rural": "nông thôn"}),
               year=year, legal=legal, count=counts, minimum=minimum, decision=decision)
    base = checked & line.notna()
    poor_or_near = declared.isin(["poor", "near_poor"])
    c.add(base & poor_or_near & income.notna() & (income > line), "poverty.income_above_line",
          "raw_income_per_capita", **ctx)
    within = base & income.notna() & (income <= line)
    # Poor and near-poor differ by deprivations alone: checked wherever the roster gives them.
    known = counts.notna()
    c.add(within & known & (declared == "poor") & (counts < minimum), "poverty.too_few_deprivations",
          "raw_poverty_category", **ctx)
    c.add(within & known & (declared == "near_poor") & (counts >= minimum), "poverty.too_many_deprivations",
          "raw_poverty_category", **ctx)
    c.add(within & declared.isin(["average", "not_poor"]), "poverty.income_below_line",
          "raw_poverty_category", **ctx)


def checks_not_run(f: pd.DataFrame, indicator_columns: set[str]) -> list[dict]:
    """The poverty checks the roster gave no data for, with how many households they were not run on."""
    if f.empty or "household_code" not in f:
        return []
    first = f["household_code"].notna() & ~f["household_code"].duplicated()
    listed = first & f["poverty_category"].isin(["poor", "near_poor", "average", "not_poor"])
    out = []
    no_income = int((listed & f["income_per_capita"].isna() & f["raw_income_per_capita"].isna()).sum())
    if no_income:
        out.append({"check": "income against the poverty line", "households": no_income,
                    "why": "no income per person (no column, or the cell is blank)"})
    if "deprivation_count" in f:
        no_deprivations = int((listed & f["deprivation_count"].isna()).sum())
        if no_deprivations:
            out.append({"check": "poor or near-poor by deprivations", "households": no_deprivations,
                        "why": "no deprivation count and no indicator marks"})
    no_area = int((listed & ~f["area"].isin(["urban", "rural"])).sum()) if "area" in f else 0
    if no_area:
        out.append({"check": "the poverty line of the household's area", "households": no_area,
                    "why": "no urban/rural area: no column, and the commune's type is unknown"})
    return out
