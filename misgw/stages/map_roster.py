"""Map stage, before the rules: every sheet of the raw read to MIS fields, the assessment year of each
sheet, returned fix-up workbooks in place of the rows they fix, and the count of every row read."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import pandas as pd

from mappings import assessment_year
from mappings.roster import household_groups, map_sheet
from mappings.vocabulary import Mapping, MappingError
from mis import units
from misgw.errors import UserError

log = logging.getLogger("misgw")

# Per file and sheet: what happened to every non-empty row read.
ACCOUNT_COLUMNS = ["file", "sheet", "read", "skipped", "superseded", "unchanged", "stopped"]


@dataclass
class MappedRoster:
    frame: pd.DataFrame                        # one row per member row, raw field values, years filled
    reports: list[dict]                        # the mapping report, one entry per sheet
    fixups: dict                               # returned fix-up workbooks: file -> lineage
    stopped: dict[str, str] = field(default_factory=dict)     # file -> the sentence that stopped it
    notes: list[str] = field(default_factory=list)
    accounts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ACCOUNT_COLUMNS))


def map_roster(raw: pd.DataFrame, mapping: Mapping, source, configured_year: int | None,
               province_code: str | None, bare: dict | None, read_counts: dict | None = None,
               describe: str = "the source") -> MappedRoster:
    """Map every sheet of the run's raw table. Raises MappingError when no sheet can be read as a roster,
    or a sheet cannot go on without a person (unknown headers, two fields competing for a column).

    read_counts: (file, sheet) -> records read, for a keyed source whose unchanged records were left out
    of the raw table already (mis.snapshot.narrow): the difference counts as unchanged.
    """
    from misgw.reports import FIX_SHEET, fixup_lineage

    fixups = fixup_lineage(raw, source.id)
    frames, reports, accounts = [], [], []
    for (file, sheet), part in raw.groupby(["file", "sheet"], sort=False):
        delivered = int(len(part))
        if file in fixups and sheet != FIX_SHEET:
            # A returned fix-up workbook: only its records to fix are read back; its instructions, its
            # list of missing households and its hidden sheet are not records.
            accounts.append((file, sheet, delivered, delivered, 0, 0, 0))
            continue
        rows = _dense_rows(part)
        keys = dict(zip(part["row"].astype(int), part["key"])) if part["key"].notna().any() else None
        mapped, report = map_sheet(file, sheet, rows, mapping, keys, province_code=province_code, bare=bare)
        del rows, part  # a province-sized sheet: its cells as Python lists are the largest thing held
        read = delivered
        unchanged = 0
        if read_counts and (file, sheet) in read_counts:
            # Keyed records read but left out as unchanged (plus the header row, which is delivered).
            unchanged = int(read_counts[(file, sheet)]) - (delivered - 1)
            read = delivered + unchanged
        data = 0 if mapped is None else int(len(mapped))
        accounts.append((file, sheet, read, delivered - data, 0, unchanged, 0))
        if file in fixups and mapped is not None:
            # A returned fix-up workbook is read in its rows' original sheets: a roster with one sheet
            # per commune names the commune by its sheet.
            lineage = fixups[file].set_index(fixups[file]["fixup_row"].astype(int))
            mapped["source_sheet"] = mapped["source_row"].map(lineage["sheet"]).fillna(mapped["source_sheet"])
            report.reason = "fix-up workbook returned by the district: its rows replace the rows they fix"
        if mapped is not None:
            mapped["read_sheet"] = sheet
        reports.append(report.as_dict())
        if mapped is not None and len(mapped):
            frames.append(mapped)
    accounts = pd.DataFrame(accounts, columns=ACCOUNT_COLUMNS)
    stopping = [r for r in reports if r["missing_fields"] or r.get("stop")]
    if not reports:
        raise MappingError(f"Source '{source.id}': nothing to read: no sheet of {describe} holds any data. Check "
                           "that the right file was sent.")
    if stopping or not frames:
        problems = "; ".join(f"{r['file']} / {r['sheet']}: {r['reason']}" for r in (stopping or reports))
        what = ("cannot go on without a person" if any(r.get("stop") for r in stopping) else
                "the headers are not recognised" if stopping else "no sheet holds a roster")
        raise MappingError(f"Source '{source.id}': {what} ({problems}). Add the wordings to a mapping YAML; "
                           f"`misgw mapping suggest {'FILE' if source.kind == 'spreadsheet' else '--source ' + source.id}` "
                           "proposes one.")
    frame = pd.concat(frames, ignore_index=True)
    del frames
    frame, stopped, notes = _years(frame, reports, source.id, configured_year)
    if stopped:
        gone = frame["source_file"].isin(list(stopped))
        accounts = _add(accounts, count_rows(frame, ~gone), "stopped")
        frame = frame[~gone].reset_index(drop=True)
        if frame.empty:
            raise MappingError(" ".join(stopped.values()))
    frame, superseded = _supersede(frame, fixups)
    accounts = _add(accounts, superseded, "superseded")
    return MappedRoster(frame, reports, fixups, stopped, notes, accounts)


def _years(frame: pd.DataFrame, reports: list[dict], source_id: str, configured: int | None
           ) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Fill each sheet's blank year cells with its year (mappings.assessment_year); drop the files whose
    year is unclear, with the sentence that says why."""
    stopped, notes, years = {}, [], {}
    by_file: dict[str, dict] = {}
    for r in reports:
        if r["roster"] and r.get("years"):
            by_file.setdefault(r["file"], {})[r["sheet"]] = assessment_year.SheetYears(**r["years"])
    for file, sheets in by_file.items():
        chosen, stop, said = assessment_year.decide(file, sheets, source_id, configured)
        notes += said
        if stop:
            stopped[file] = stop
            log.warning("[%s] %s", source_id, stop)
        for sheet, year in chosen.items():
            years[(file, sheet)] = year
    for r in reports:
        if (r["file"], r["sheet"]) in years:
            r["assessment_year"] = years[(r["file"], r["sheet"])]
    if "assessment_year" not in frame:
        frame["assessment_year"] = None
    sheet_year = pd.Series([years.get(k) for k in zip(frame["source_file"], frame["read_sheet"])],
                           index=frame.index, dtype="object")
    blank = frame["assessment_year"].map(lambda v: v is None or (isinstance(v, float) and pd.isna(v))
                                         or (isinstance(v, str) and not v.strip()))
    if configured is not None:
        frame["assessment_year"] = sheet_year.where(sheet_year.notna(), frame["assessment_year"])
    else:
        frame["assessment_year"] = frame["assessment_year"].where(~blank, sheet_year)
    return frame, stopped, notes


def _supersede(frame: pd.DataFrame, fixups: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop the roster rows a returned fix-up workbook replaces: the rows its lineage names, and the other
    rows of those rows' households. Returns the frame and the count of rows dropped per file and sheet."""
    if not fixups:
        return frame, pd.DataFrame(columns=["file", "sheet", "n"])
    lineage = pd.concat(fixups.values(), ignore_index=True)
    replaced = set(zip(lineage["file"], lineage["sheet"], lineage["row"].astype(int)))
    is_fix = frame["source_file"].isin(list(fixups))
    keys = pd.MultiIndex.from_arrays([frame["source_file"], frame["source_sheet"], frame["source_row"].astype(int)])
    named = pd.Series(keys.isin(list(replaced)), index=frame.index) & ~is_fix
    groups = household_groups(frame)
    old = ~is_fix & (named | groups.isin(set(groups[named].dropna())).fillna(False))
    log.info("fix-up workbook(s) %s replace %d roster rows", ", ".join(fixups), int(old.sum()))
    counts = frame[old].groupby(["source_file", "read_sheet"]).size().reset_index()
    counts.columns = ["file", "sheet", "n"]
    return frame[~old].reset_index(drop=True), counts


def _add(accounts: pd.DataFrame, counts: pd.DataFrame, column: str) -> pd.DataFrame:
    """Add per-(file, sheet) counts to one column of the accounts."""
    if counts.empty:
        return accounts
    extra = dict(zip(zip(counts["file"], counts["sheet"]), counts["n"]))
    accounts[column] = [int(v) + int(extra.get(k, 0)) for v, k in zip(accounts[column],
                                                                      zip(accounts["file"], accounts["sheet"]))]
    return accounts


def count_rows(frame: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    """(file, sheet, n) of the rows of frame NOT kept: what a narrowing left out."""
    gone = frame[~keep.to_numpy()]
    counts = gone.groupby(["source_file", "read_sheet"]).size().reset_index()
    counts.columns = ["file", "sheet", "n"]
    return counts


def _dense_rows(part: pd.DataFrame) -> list[list]:
    numbers = part["row"].astype(int).to_numpy()
    rows: list[list] = [[] for _ in range(int(numbers.max()))]
    for n, cells in zip(numbers, part["cells"]):
        rows[n - 1] = json.loads(cells)
    return rows


def placement_for(engine, config, source) -> tuple[pd.DataFrame, str | None]:
    """The units a source's records are placed in, and its pre-2025 province. A merged province's sources
    come from districts of several old provinces: each district's own old province is read."""
    if source.unit_era == "current":
        placement = units.current_communes(engine, config.province_code_current)
        province = source.district_code and units.province_of_district(engine, source.district_code)
        return placement, province or config.province_code
    if source.district_code:
        province = units.province_of_district(engine, source.district_code)
        if province is None and not units.current_communes(engine, config.province_code_current).empty:
            raise UserError(f"Source '{source.id}': district_code {source.district_code} is no pre-2025 district "
                            "in the MIS's unit tables. Check the code (3 digits, before 1 July 2025).")
        provinces = [province or config.province_code]
    else:
        provinces = sorted({config.province_code, *units.old_provinces(engine, config.province_code_current)})
    placement = units.placement(engine, provinces)
    if placement.empty:
        raise UserError("The MIS has no administrative units for province "
                        f"{config.province_code}: run `misgw admin-units import` first.")
    return placement, provinces[0] if len(provinces) == 1 else config.province_code


def notices(reports: list[dict], roster, mapped: pd.DataFrame, indicators: set[str], scope_note) -> dict:
    """What the run could not store or check, named with its count, for the summary and `runs show`."""
    from expectations.domain import checks_not_run

    not_stored = [{"file": r["file"], "sheet": r["sheet"], **c} for r in reports for c in r.get("not_stored") or []]
    unfit = [{"file": r["file"], "sheet": r["sheet"], **{k: v for k, v in c.items() if k != "why"}, "why": c["why"]}
             for r in reports for c in r.get("unfit") or []]
    expanded = [{"file": r["file"], "sheet": r["sheet"], "column": c["column"], "header": c["header"],
                 "field": c["field"], "how": c["how"]}
                for r in reports if r["roster"] for c in r["columns"] if c["how"] not in ("vocabulary", "yaml")]
    return {"files_stopped": roster.stopped, "year_notes": roster.notes, "not_stored": not_stored,
            "unfit_columns": unfit, "matched_by_expansion": expanded,
            "checks_not_run": checks_not_run(mapped, indicators), "household_scope": scope_note}
