"""Judges a mapped roster: the GX suite plus domain rules; every failure names its row, rule and reason."""
from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from common.yaml_data import load_yaml
from expectations import domain, gx_process, gx_suite

log = logging.getLogger(__name__)
FAILURE_COLUMNS = ["pos", "rule", "field", "value"]


@lru_cache(maxsize=None)
def rule_book() -> dict:
    return load_yaml(resources.files("expectations").joinpath("rules.yaml").read_text(encoding="utf-8"))["rules"]


def effective_rules(overrides: dict | None) -> dict:
    """rules.yaml with the province's overrides (severity, enabled) from misgw.yaml applied."""
    rules = copy.deepcopy(rule_book())
    for rule_id, change in (overrides or {}).items():
        if rule_id in rules and isinstance(change, dict):
            rules[rule_id].update(change)
    return rules


def _gx_failures(frame: pd.DataFrame, docs: tuple[str, str] | None = None):
    """The GX suite with COMPLETE results on a RangeIndex (positions come back without index columns): a
    function that returns its failures (pos, rule, column). It runs in the run's GX process when one was
    started (expectations.gx_process), from now until the function is called; else here, when it is.

    docs: (Data Docs folder, run name). The checkpoint then also renders the run into GX Data Docs.
    """
    spec = gx_suite.suite_spec()
    data = frame[[c for c in {e["kwargs"]["column"] for e in spec["expectations"]}]].reset_index(drop=True)
    if "id_number" in data:
        # GX keeps and renders the values it finds unexpected: it sees each ID's shape (every digit a 9), which
        # its regex judges exactly as the number, and never the number itself.
        data["id_number"] = data["id_number"].astype("string").str.replace(r"\d", "9", regex=True)
    answer = gx_process.submit(data, docs)

    def failures() -> pd.DataFrame:
        done, found = answer()
        if not done:
            found, render = gx_suite.run(data, docs)
            render()
        return found
    return failures


def find_failures(frame: pd.DataFrame, district_code: str | None, today: dt.date | None = None,
                  indicator_columns: set[str] | None = None, registry_ids: pd.DataFrame | None = None,
                  docs: tuple[str, str] | None = None) -> pd.DataFrame:
    """Every failed check as (pos, rule, field, value, ctx_*); pos is the row's position in frame.

    registry_ids: ID numbers already in the MIS (id_number, household_code), from the pipeline.
    """
    today = today or dt.date.today()
    suite_found = _from_gx(frame, docs)   # in the run's GX process, if it has one, while the rules run here
    checks = domain.Checks(frame)
    domain.fixup_rules(checks)
    domain.encoding_rules(checks)
    domain.formula_rules(checks)
    domain.length_rules(checks, rule_book()["format.too_long"]["limits"])
    domain.number_rules(checks)
    domain.value_rules(checks)
    domain.orthography_rules(checks)
    domain.person_rules(checks, today)
    domain.household_rules(checks, today)
    domain.unit_rules(checks, district_code)
    domain.poverty_rules(checks, indicator_columns or set())
    if registry_ids is not None and len(registry_ids):
        elsewhere = frame[["id_number", "household_code"]].merge(
            registry_ids.rename(columns={"household_code": "mis_household"}), on="id_number", how="left")
        other = elsewhere["mis_household"].notna() & (elsewhere["mis_household"] != elsewhere["household_code"])
        # A household re-coded since it loaded (its people, by ID, mostly in one MIS household under its old
        # code) is that household: the reconcile takes the new code, and its people are not elsewhere.
        ids = frame["id_number"].where(frame["id_kind"].notna())
        with_id = ids.notna().groupby(frame["household_code"]).transform("sum").to_numpy()
        same = elsewhere.assign(n=1).groupby(["household_code", "mis_household"])["n"].transform("sum")
        theirs = pd.to_numeric(elsewhere.get("ids_in_household"), errors="coerce") \
            if "ids_in_household" in elsewhere else pd.Series(np.nan, index=elsewhere.index)
        # The reconcile's rule for a household matched by its members: at least half of each side's IDs.
        recoded = other & (2 * same.fillna(0).to_numpy() >= with_id) & (2 * same.fillna(0) >= theirs).fillna(False).to_numpy()
        other = other & ~recoded
        checks.add(other.to_numpy(), "id.in_other_household", "id_number",
                   other_household=elsewhere["mis_household"].to_numpy())
    found = [suite_found(), checks.result()]
    failures = pd.concat([f for f in found if len(f)], ignore_index=True) if any(len(f) for f in found) \
        else pd.DataFrame(columns=["pos", "rule", "value"])
    rules = rule_book()
    failures["field"] = failures["rule"].map(lambda r: rules[r]["field"])
    if "ctx_field" in failures:
        failures["field"] = failures["ctx_field"].fillna(failures["field"])
    # One failure per row, rule and field (a date both the suite and the date rule find impossible).
    failures = failures.drop_duplicates(["pos", "rule", "field"]).reset_index(drop=True)
    # A relation written bare that two codes share ("Ba": the father in the south, or Bà) is named as such.
    if "raw_relation" in frame:
        from mappings.codelists import shared_forms
        from mappings.text import fold

        shared = set(shared_forms("relation"))
        bare = frame["raw_relation"].reindex(failures["pos"]).map(
            lambda v: isinstance(v, str) and v.isascii() and fold(v) in shared).to_numpy()
        failures.loc[bare & (failures["rule"] == "codelist.relation").to_numpy(), "rule"] = "codelist.relation_ambiguous"
    # A broken formula is said once, as such: not also as a missing, unreadable or impossible value.
    broken = failures["rule"] == "cell.formula_error"
    if broken.any():
        cells = pd.MultiIndex.from_frame(failures.loc[broken, ["pos", "field"]])
        again = pd.MultiIndex.from_frame(failures[["pos", "field"]]).isin(cells) & ~broken.to_numpy()
        failures = failures[~again].reset_index(drop=True)
    # A rounded (scientific notation) ID is named as such, not as a generic format error.
    rounded = (failures["rule"] == "format.id_number") & \
        frame["id_problem"].reindex(failures["pos"]).eq("scientific").to_numpy()
    failures.loc[rounded, "rule"] = "id.rounded"
    # A number cell lost the ID's leading zeros: putting them back is allowed only when the digits then
    # prove themselves (province, century, sex, year). Otherwise say why, and never guess.
    recovered = frame["id_candidate"].reindex(failures["pos"]).fillna(False).astype(bool).to_numpy()
    failures.loc[recovered & failures["rule"].str.startswith("cccd.").to_numpy(), "rule"] = "id.unprovable"
    return failures


def _from_gx(frame: pd.DataFrame, docs: tuple[str, str] | None = None):
    """The suite started (_gx_failures); a function that returns its failures as (pos, rule, value)."""
    pending = _gx_failures(frame, docs)

    def failures() -> pd.DataFrame:
        gx_found = pending()
        rules = rule_book()
        if gx_found.empty:
            return pd.DataFrame(columns=["pos", "rule", "value"])
        value_col = gx_found["rule"].map(lambda r: f"raw_{rules[r]['field']}")
        values = [frame.at[p, c] if c in frame else None for p, c in zip(gx_found["pos"], value_col)]
        return pd.DataFrame({"pos": gx_found["pos"], "rule": gx_found["rule"],
                             "value": pd.Series(values, dtype="string")})
    return failures


def judge(frame: pd.DataFrame, district_code: str | None, rule_overrides: dict | None = None,
          today: dt.date | None = None, indicator_columns: set[str] | None = None,
          registry_ids: pd.DataFrame | None = None, docs: tuple[str, str] | None = None,
          ) -> tuple[pd.DataFrame, pd.Series]:
    """(failures with severity and messages, held-back mask per row).

    A household with any reject-severity failure is held back whole: no partial household in the MIS.
    """
    frame = frame.reset_index(drop=True)   # copy-on-write (pandas 3): the caller's frame is never changed
    rules = effective_rules(rule_overrides)
    failures = find_failures(frame, district_code, today, indicator_columns, registry_ids, docs)
    enabled = failures["rule"].map(lambda r: rules[r].get("enabled", True))
    failures = failures[enabled.astype(bool)].copy()
    failures["severity"] = failures["rule"].map(lambda r: rules[r]["severity"])
    # What a message may quote of its row (_fill): only these columns become dicts, one per failure.
    rows = frame.loc[failures["pos"], [c for c in ("household_code", "birth_year", "commune_candidates") if c in frame]]
    district_text = f" của huyện {district_code}" if district_code else ""
    # ID numbers never leave the run unmasked: not in messages, the ledger, or logs.
    is_id = failures["field"] == "id_number"
    failures["value"] = failures["value"].astype("object").where(~is_id, failures["value"].map(mask_id))
    # An ID typed into another column (a name cell holding a CCCD) is masked there too.
    failures["value"] = failures["value"].map(mask_ids_in_text)
    district_en = f" of district {district_code}" if district_code else ""
    records = rows.to_dict("records")
    contexts = failures.filter(like="ctx_").rename(columns=lambda c: c[4:]).to_dict("records") \
        if failures.filter(like="ctx_").shape[1] else [{}] * len(failures)
    failures["message_vi"] = [_fill(rules[r], "vi", v, row, ctx, district_text, district_code)
                              for r, v, row, ctx in zip(failures["rule"], failures["value"], records, contexts)]
    failures["message_en"] = [_fill(rules[r], "en", v, row, ctx, district_en, district_code)
                              for r, v, row, ctx in zip(failures["rule"], failures["value"], records, contexts)]
    failures["message_vi"] = failures["message_vi"].map(mask_ids_in_text)
    failures["message_en"] = failures["message_en"].map(mask_ids_in_text)
    failures = failures.drop(columns=[c for c in failures.columns if c.startswith("ctx_")])
    failures["household_code"] = rows["household_code"].to_numpy()
    bad_households = set(failures.loc[failures["severity"] == "reject", "household_code"].dropna())
    bad_rows = set(failures.loc[(failures["severity"] == "reject") & failures["household_code"].isna(), "pos"])
    held = frame["household_code"].isin(bad_households) | frame.index.isin(list(bad_rows))
    return failures.reset_index(drop=True), held


def messages(rule_id: str, value, **context) -> tuple[str, str]:
    """(Vietnamese, English) message of one rule for one value, placeholders filled from context."""
    rule = rule_book()[rule_id]
    return _fill(rule, "vi", value, {}, context, "", None), _fill(rule, "en", value, {}, context, "", None)


def _fill(rule: dict, lang: str, value, row: dict, ctx: dict, district: str, district_code: str | None) -> str:
    blank = value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
    context = {k: _shown(k, v) for k, v in ctx.items()}
    text = rule[lang].format(value="" if blank else value, district=district, district_code=district_code,
                             candidates=row.get("commune_candidates") or "", birth_year=row.get("birth_year"),
                             household_code=row.get("household_code"), **context)
    # An approved record that fails is still reported, with the approval decision quoted.
    if context.get("decision") and rule.get(f"approved_{lang}"):
        text += " " + rule[f"approved_{lang}"].format(decision=context["decision"])
    return text


def _shown(key: str, value):
    """Context values as people read them: money with dots (1.800.000), counts and years as whole numbers."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (int, float, np.integer, np.floating)):
        n = int(value)
        return f"{n:,}".replace(",", ".") if key in ("income", "line") else str(n)
    return value


# A run of digits as long as a CMND (9), a CCCD (12) or a CCCD that lost its leading zero (11).
_ID_RUN = re.compile(r"(?<!\d)(\d{12}|\d{11}|\d{9})(?!\d)")


def mask_ids_in_text(text):
    """Every ID-length run of digits in a text masked (mask_id); anything else as it was."""
    if not isinstance(text, str) or not any(ch.isdigit() for ch in text):
        return text
    return _ID_RUN.sub(lambda m: mask_id(m.group()), text)


def mask_id(value) -> str | None:
    """Show only the last 4 digits of an ID number: 0920******45 style, enough to find the card."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    s = str(value)
    if len(s) <= 4:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 6) + s[-3:]
