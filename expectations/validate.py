"""Judges a mapped roster: the GX suite plus domain rules; every failure names its row, rule and reason."""
from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from mappings import codelists
from mappings.text import fold_series

log = logging.getLogger(__name__)
FAILURE_COLUMNS = ["pos", "rule", "field", "value"]


@lru_cache(maxsize=None)
def rule_book() -> dict:
    return yaml.safe_load(resources.files("expectations").joinpath("rules.yaml").read_text(encoding="utf-8"))["rules"]


def effective_rules(overrides: dict | None) -> dict:
    """rules.yaml with the province's overrides (severity, enabled) from misgw.yaml applied."""
    rules = copy.deepcopy(rule_book())
    for rule_id, change in (overrides or {}).items():
        if rule_id in rules and isinstance(change, dict):
            rules[rule_id].update(change)
    return rules


@lru_cache(maxsize=None)
def suite_spec() -> dict:
    spec = json.loads(resources.files("expectations").joinpath("roster_basic.json").read_text(encoding="utf-8"))
    for exp in spec["expectations"]:
        value_set = exp["kwargs"].get("value_set")
        if isinstance(value_set, str) and value_set.startswith("$codes:"):
            name = value_set.split(":", 1)[1]
            exp["kwargs"]["value_set"] = sorted(set(codelists.lookup_table(name).values()))
    return spec


def _gx_failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Run the GX suite with COMPLETE results on a RangeIndex: positions come back without index columns."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    spec = suite_spec()
    data = frame[[c for c in {e["kwargs"]["column"] for e in spec["expectations"]}]].reset_index(drop=True)
    context = _gx_context()
    batch = context.data_sources.get("roster").get_asset("members").get_batch_definition("all").get_batch(
        batch_parameters={"dataframe": data})
    result = batch.validate(ExpectationSuite(**copy.deepcopy(spec)), result_format={"result_format": "COMPLETE"})
    parts = []
    for r in result.results:
        if r.success:
            continue
        positions = r.result.get("unexpected_index_list") or []
        column = r.expectation_config.kwargs["column"]
        parts.append(pd.DataFrame({"pos": np.asarray(positions, dtype="int64"),
                                   "rule": r.expectation_config.meta["rule"], "column": column}))
    if not parts:
        return pd.DataFrame(columns=["pos", "rule", "column"])
    return pd.concat(parts, ignore_index=True)


@lru_cache(maxsize=1)
def _gx_context():
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    except Exception:  # older GX: progress bars stay on, which is harmless
        pass
    asset = context.data_sources.add_pandas("roster").add_dataframe_asset("members")
    asset.add_batch_definition_whole_dataframe("all")
    return context


def find_failures(frame: pd.DataFrame, district_code: str | None, today: dt.date | None = None) -> pd.DataFrame:
    """Every failed check as (pos, rule, field, value); pos is the row's position in frame."""
    today = today or dt.date.today()
    found = [_from_gx(frame)]
    rules = rule_book()

    def add(mask, rule, value=None):
        mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
        if mask.any():
            col = value if value is not None else f"raw_{rules[rule]['field']}"
            found.append(pd.DataFrame({"pos": frame.index[mask], "rule": rule,
                                       "value": frame.loc[mask, col].astype("string")}))

    # Dates after today.
    future = (frame["birth_date"].notna() & (frame["birth_date"] > today.isoformat())) | \
             (frame["birth_year"].notna() & (frame["birth_year"] > today.year))
    add(future, "range.birth_date")

    # CCCD digits: 1-3 province of birth, 4 century and sex, 5-6 birth year.
    ids = frame["id_number"].where(frame["id_kind"] == "cccd")
    is_cccd = ids.notna()
    province_ok = ids.str[:3].isin(codelists._load("codelists.yaml")["cccd_province_codes"])
    add(is_cccd & ~province_ok, "cccd.province", "id_number")
    digit4 = pd.to_numeric(ids.str[3], errors="coerce")
    century = 1900 + (digit4 // 2) * 100
    sex_digit = digit4 % 2
    year = frame["birth_year"].astype("Float64")
    known_year = year.notna()
    known_sex = frame["sex"].isin(["M", "F"])
    sex_bad = known_sex & (sex_digit != np.where(frame["sex"] == "F", 1, 0))
    century_bad = known_year & ((year < century) | (year >= century + 100))
    add(is_cccd & province_ok & (sex_bad | century_bad), "cccd.sex_century", "id_number")
    yy = pd.to_numeric(ids.str[4:6], errors="coerce")
    add(is_cccd & province_ok & ~(sex_bad | century_bad) & known_year & (yy != (year % 100)),
        "cccd.birth_year", "id_number")

    add(frame["id_kind"] == "cmnd", "id.legacy_cmnd", "id_number")
    listed = frame["id_number"].where(frame["id_kind"].notna())
    add(listed.notna() & listed.duplicated(keep=False), "id.duplicate_in_batch", "id_number")

    # Administrative units.
    unknown = frame["commune_code_pre2025"].isna()
    add(unknown, "unit.commune", "raw_commune_any")
    if district_code:
        add(~unknown & (frame["district_code_pre2025"] != district_code), "unit.commune_district", "raw_commune_any")
    split = ~unknown & frame["commune_code"].isna()
    add(split, "unit.commune_split", "raw_commune_any")

    # Household shape.
    has_code = frame["household_code"].notna()
    heads = (frame["relation_code"] == "01").groupby(frame["household_code"]).transform("sum")
    first_row = ~frame["household_code"].duplicated()
    frame["_head_count"] = heads.astype("string")
    add(has_code & first_row & (heads != 1), "household.head_count", "_head_count")
    member_key = fold_series(frame["full_name"]) + "|" + frame["birth_year"].astype("string").fillna("")
    dup = has_code & frame["full_name"].notna() & pd.DataFrame(
        {"h": frame["household_code"], "k": member_key}).duplicated(keep="first")
    add(dup, "household.duplicate_member", "raw_full_name")

    failures = pd.concat([f for f in found if len(f)], ignore_index=True) if any(len(f) for f in found) \
        else pd.DataFrame(columns=["pos", "rule", "value"])
    failures["field"] = failures["rule"].map(lambda r: rules[r]["field"])
    # A rounded (scientific notation) ID is named as such, not as a generic format error.
    rounded = (failures["rule"] == "format.id_number") & \
        frame["id_problem"].reindex(failures["pos"]).eq("scientific").to_numpy()
    failures.loc[rounded, "rule"] = "id.rounded"
    # A number cell lost the ID's leading zeros: putting them back is allowed only when the digits then
    # prove themselves (province, century, sex, year). Otherwise say why, and never guess.
    recovered = frame["id_candidate"].reindex(failures["pos"]).fillna(False).astype(bool).to_numpy()
    failures.loc[recovered & failures["rule"].str.startswith("cccd.").to_numpy(), "rule"] = "id.unprovable"
    return failures[FAILURE_COLUMNS]


def _from_gx(frame: pd.DataFrame) -> pd.DataFrame:
    gx_found = _gx_failures(frame)
    rules = rule_book()
    if gx_found.empty:
        return pd.DataFrame(columns=["pos", "rule", "value"])
    value_col = gx_found["rule"].map(lambda r: f"raw_{rules[r]['field']}")
    values = [frame.at[p, c] if c in frame else None for p, c in zip(gx_found["pos"], value_col)]
    return pd.DataFrame({"pos": gx_found["pos"], "rule": gx_found["rule"], "value": pd.Series(values, dtype="string")})


def judge(frame: pd.DataFrame, district_code: str | None, rule_overrides: dict | None = None,
          today: dt.date | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """(failures with severity and messages, held-back mask per row).

    A household with any reject-severity failure is held back whole: no partial household in the MIS.
    """
    frame = frame.reset_index(drop=True).copy()
    rules = effective_rules(rule_overrides)
    failures = find_failures(frame, district_code, today)
    enabled = failures["rule"].map(lambda r: rules[r].get("enabled", True))
    failures = failures[enabled.astype(bool)].copy()
    failures["severity"] = failures["rule"].map(lambda r: rules[r]["severity"])
    rows = frame.loc[failures["pos"]]
    district_text = f" của huyện {district_code}" if district_code else ""
    # ID numbers never leave the run unmasked: not in messages, the ledger, or logs.
    is_id = failures["field"] == "id_number"
    failures["value"] = failures["value"].astype("object").where(~is_id, failures["value"].map(mask_id))
    district_en = f" of district {district_code}" if district_code else ""
    records = rows.to_dict("records")
    failures["message_vi"] = [_fill(rules[r]["vi"], v, row, district_text, district_code)
                              for r, v, row in zip(failures["rule"], failures["value"], records)]
    failures["message_en"] = [_fill(rules[r]["en"], v, row, district_en, district_code)
                              for r, v, row in zip(failures["rule"], failures["value"], records)]
    failures["household_code"] = rows["household_code"].to_numpy()
    bad_households = set(failures.loc[failures["severity"] == "reject", "household_code"].dropna())
    bad_rows = set(failures.loc[(failures["severity"] == "reject") & failures["household_code"].isna(), "pos"])
    held = frame["household_code"].isin(bad_households) | frame.index.isin(list(bad_rows))
    return failures.reset_index(drop=True), held


def _fill(template: str, value, row: dict, district: str, district_code: str | None = None) -> str:
    blank = value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
    return template.format(value="" if blank else value, district_code=district_code,
                           candidates=row.get("commune_candidates") or "",
                           district=district, birth_year=row.get("birth_year"),
                           household_code=row.get("household_code"), count=row.get("_head_count"))


def mask_id(value) -> str | None:
    """Show only the last 4 digits of an ID number: 0920******45 style, enough to find the card."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    s = str(value)
    if len(s) <= 4:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 6) + s[-3:]
