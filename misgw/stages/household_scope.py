"""Household identity: within which unit a source's household codes are unique, decided once from its roster.

A commune template numbers its households 001, 002, … on each commune's sheet, so "001" is a
different household in every commune; a district's legacy database numbers them once for the
district. A household's key is its code qualified by that unit (mappings.roster.household_keys).
The scope is decided from the source's whole roster on its first load, kept in the MIS, and changed
only on purpose (`misgw households scope`): a later delivery cannot flip it.
"""
from __future__ import annotations

import logging

import pandas as pd

from mappings.roster import household_keys
from mis import db, households
from mis import load as mis_load

log = logging.getLogger("misgw")


def decide(mapped: pd.DataFrame, era: str) -> tuple[str, dict]:
    """(scope, evidence) from a translated roster (mappings.roster.translate with the commune scope).

    commune: some local code names households in two communes (codes restart per commune), or the
    roster covers one commune only (nothing proves a wider numbering; the commune never merges).
    district (province, for a roster in the current units, which have no districts): the roster covers
    several communes and no local code repeats across them.
    """
    own = mapped["household_code"].astype("string") != mapped["local_code"].astype("string")
    commune = mapped["commune_code_pre2025"].astype("string").fillna(mapped["commune_code"].astype("string"))
    rows = pd.DataFrame({"local": mapped["local_code"].astype("string"), "commune": commune})[own.fillna(False)]
    rows = rows.dropna().drop_duplicates()
    communes = int(rows["commune"].nunique())
    shared = rows.groupby("local")["commune"].nunique()
    repeated = shared[shared > 1]
    evidence = {"households": int(len(rows)), "communes": communes, "codes_in_several_communes": int(len(repeated)),
                "examples": {k: int(v) for k, v in repeated.head(5).items()}}
    if len(repeated) or communes <= 1:
        return "commune", evidence
    return ("province" if era == "current" else "district"), evidence


def rekey(mapped: pd.DataFrame, scope: str, province_code: str, communes: set[str] | None = None) -> pd.Series:
    """The roster's household keys under `scope` (communes: mappings.roster.unit_codes of its units)."""
    return household_keys(mapped["local_code"], mapped["commune_code"], mapped["commune_code_pre2025"],
                          mapped["district_code_pre2025"], province_code, scope,
                          unknown_place=mapped.get("raw_commune_any"), communes=communes)


def apply(run_id: str, run: dict, config, source, mapped: pd.DataFrame, communes: set[str], operator: str
          ) -> tuple[pd.DataFrame, dict | None]:
    """Qualify the roster's local household codes by the source's scope (misgw.stages.household_scope).

    The scope is decided on the source's first full read and kept; a dry run or a partial read uses the
    decision without keeping it. Households the source loaded before keys were qualified are re-keyed
    once, when the scope is first kept, before this run is reconciled against them.
    """
    with db.get_engine().connect() as conn:
        scope = households.get_scope(conn, source.id)
    note = None
    if scope is None:
        scope, evidence = decide(mapped, source.unit_era)
        options = run["options"]
        whole = not (options.get("files") or options.get("partial"))
        note = {"scope": scope, "decided": bool(whole and not run["dry_run"]), **evidence}
        if whole and not run["dry_run"]:
            local = pd.DataFrame({"local_code": mapped["local_code"].astype("string"),
                                  "commune": mapped["commune_code_pre2025"].astype("string")
                                  .fillna(mapped["commune_code"].astype("string"))}).dropna().drop_duplicates()
            shared = local.groupby("local_code")["commune"].agg(lambda c: ", ".join(sorted(c)))
            shared = shared[local.groupby("local_code")["commune"].nunique() > 1]
            with db.get_engine().begin() as conn:
                mis_load.lock(conn, source.id)
                households.set_scope(conn, source.id, scope, run_id, evidence)
                note.update(households.rekey(conn, source.id, scope, config.province_code_current, run_id,
                                             operator, shared.reset_index(name="communes")))
            log.info("[%s] household codes are unique within each %s: kept for the source (%s)", source.id, scope,
                     ", ".join(f"{k} {v}" for k, v in note.items() if k not in ("examples", "scope")))
    if scope != "commune":
        mapped["household_code"] = rekey(mapped, scope, config.province_code_current, communes)
    return mapped, note
