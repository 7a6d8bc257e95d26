"""Map stage, before the rules: every sheet of the raw read to MIS fields, the assessment year of each
sheet, returned fix-up workbooks in place of the rows they fix, and the count of every row read."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from common.errors import UserError
from mappings import assessment_year
from mappings.roster import household_groups, map_sheet
from mappings.vocabulary import Mapping, MappingError
from mis import units
from misgw.stages import fixup_return

log = logging.getLogger("misgw")

# Per file and sheet: what happened to every non-empty row read.
ACCOUNT_COLUMNS = ["file", "sheet", "read", "skipped", "superseded", "unchanged", "stopped"]


@dataclass
class MappedRoster:
    frame: pd.DataFrame                        # one row per member row, raw field values, years filled
    reports: list[dict]                        # the mapping report, one entry per sheet
    fixups: dict                               # returned fix-up workbooks: file -> lineage
    stopped: dict[str, str] = field(default_factory=dict)     # file -> the sentence that stopped it
    notes: list[str] = field(default_factory=list)             # how each file's year was read
    accounts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ACCOUNT_COLUMNS))
    fixup_notes: list[str] = field(default_factory=list)       # what a returned workbook's editing changed
    fixed_present: set[str] = field(default_factory=set)       # MIS households listed, as fixed before


@dataclass
class SettledRows:
    """The rows a narrowed read left out (mis.snapshot.narrow_rows: file, sheet, row, household), and how
    each sheet was read when its records last loaded (mis.runs.sheet_reports)."""
    rows: pd.DataFrame
    reports: dict

    def numbers(self, file: str, sheet: str):
        part = self.rows[(self.rows["file"] == file) & (self.rows["sheet"] == sheet)]
        return np.sort(part["row"].astype(int).to_numpy())


class NotNarrowed(Exception):
    """The rows read of a narrowed workbook do not read as they did: the source is mapped in full."""


def map_roster(raw: pd.DataFrame, mapping: Mapping, source, configured_year: int | None,
               province_code: str | None, bare: dict | None, read_counts: dict | None = None,
               describe: str = "the source", fixed: pd.DataFrame | None = None,
               settled: SettledRows | None = None) -> MappedRoster:
    """Map every sheet of the run's raw table. Raises MappingError when no sheet can be read as a roster,
    or a sheet cannot go on without a person (unknown headers, two fields competing for a column).

    read_counts: (file, sheet) -> records read, for a keyed source whose unchanged records were left out
    of the raw table already (mis.snapshot.narrow): the difference counts as unchanged.
    fixed: the records returned fix-up workbooks fixed before (mis.fixups.fixed_origins).
    settled: the rows a narrowed read left out: each sheet's rows read are mapped as the sheet was read
    then, and must make the households they made then (raises NotNarrowed otherwise).
    """
    from misgw.fixup_format import FIX_SHEET

    fixups = fixup_return.read_returns(raw, source.id)
    frames, reports, accounts, fixup_notes, stopped = [], [], [], [], {}
    for (file, sheet), part in raw.groupby(["file", "sheet"], sort=False):
        delivered = int(len(part))
        if file in fixups and sheet != FIX_SHEET:
            # A returned fix-up workbook: only its records to fix are read back; its instructions, its
            # list of missing households and its hidden sheet are not records.
            accounts.append((file, sheet, delivered, delivered, 0, 0, 0))
            continue
        keys = dict(zip(part["row"].astype(int), part["key"])) if part["key"].notna().any() else None
        left = settled.numbers(file, sheet) if settled is not None else np.array([], dtype=int)
        # A keyed source's records as listed, by number: made dense, the few of a night with little new
        # (the rest left out as unchanged) became 133,000 blank rows to lay out. So are a narrowed sheet's.
        rows, numbers = _listed_rows(part) if keys or len(left) else (_dense_rows(part), None)
        digests = fixup_return.digests(part)
        rows_at = part["row"].astype(int)
        contexts = dict(zip(rows_at, part["context"]))
        placed = dict(zip(rows_at, part["placed_household"])) if len(left) else {}
        repaired = None
        if file in fixups:
            repaired = fixup_return.repair(fixups[file], rows)
            fixup_notes += repaired.notes
            if repaired.stop:
                stopped[file] = repaired.stop
                log.warning("[%s] %s", source.id, repaired.stop)
                accounts.append((file, sheet, delivered, 0, 0, 0, delivered))
                continue
            rows = repaired.rows
        mapped, report = map_sheet(file, sheet, rows, mapping, keys, province_code=province_code, bare=bare,
                                   numbers=numbers)
        del rows, part  # a province-sized sheet: its cells as Python lists are the largest thing held
        read = delivered + (repaired.restored_rows if repaired else 0)
        unchanged = 0
        if len(left):
            _check_narrowed(file, sheet, mapped, report, placed, left, settled.reports.get((file, sheet)))
            unchanged, read = len(left), delivered + len(left)
            report.rows_read += len(left)
            report.data_rows += len(left)
        if read_counts and (file, sheet) in read_counts:
            # Keyed records read but left out as unchanged (plus the header row, which is delivered).
            unchanged = int(read_counts[(file, sheet)]) - (delivered - 1)
            read = delivered + unchanged
        data = 0 if mapped is None else int(len(mapped))
        accounts.append((file, sheet, read, read - unchanged - data, 0, unchanged, 0))
        if mapped is not None:
            _origin(mapped, repaired, digests, contexts)
            if repaired is not None:
                # A returned fix-up workbook is read in its rows' original sheets: a roster with one sheet
                # per commune names the commune by its sheet.
                # A row its key does not tie to a record is read in the sheet most of the file's rows came from.
                usual = mapped["origin_sheet"].mode()
                mapped["source_sheet"] = mapped["origin_sheet"].fillna(usual.iloc[0] if len(usual) else
                                                                       mapped["source_sheet"])
                report.reason = "fix-up workbook returned by the district: its rows replace the rows they fix"
            mapped["read_sheet"] = sheet
        reports.append(report.as_dict())
        if mapped is not None and len(mapped):
            frames.append(mapped)
    accounts = pd.DataFrame(accounts, columns=ACCOUNT_COLUMNS)
    stopping = [r for r in reports if r["missing_fields"] or r.get("stop")]
    if not frames and not stopping and settled is not None and len(settled.rows):
        # Every household as last loaded: nothing to map, and what is gone is found by the snapshot.
        empty = pd.DataFrame(columns=["source_file", "source_sheet", "source_row", "source_key", "read_sheet",
                                      "household_code", *fixup_return.ROW_INFO], dtype=object)
        return MappedRoster(empty, reports, fixups, stopped, [], pd.DataFrame(accounts, columns=ACCOUNT_COLUMNS),
                            fixup_notes)
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
    frame, year_stopped, notes = _years(frame, reports, source.id, configured_year)
    if year_stopped:
        stopped.update(year_stopped)
        gone = frame["source_file"].isin(list(year_stopped))
        accounts = _add(accounts, count_rows(frame, ~gone), "stopped")
        frame = frame[~gone].reset_index(drop=True)
        if frame.empty:
            raise MappingError(" ".join(stopped.values()))
    frame, superseded, fixed_present = _supersede(frame, fixed)
    accounts = _add(accounts, superseded, "superseded")
    return MappedRoster(frame, reports, fixups, stopped, notes, accounts, fixup_notes, fixed_present)


def _check_narrowed(file: str, sheet: str, mapped: pd.DataFrame | None, report, placed: dict,
                    left: np.ndarray, then: dict | None) -> None:
    """A narrowed sheet's rows read, mapped: read as the sheet was when its records loaded (then: its
    mapping report), and each row found in its place (placed: row -> its household then) in the household
    it was in. Marks where rows were left out (block_break). Raises NotNarrowed when not."""
    if mapped is None or then is None or _decisions(report.as_dict()) != _decisions(then):
        raise NotNarrowed(f"{file} / {sheet}: the rows read do not read as the sheet did when it last loaded")
    numbers = mapped["source_row"].astype(int).to_numpy()
    before = np.concatenate([[0], numbers])[:-1]
    mapped["block_break"] = np.searchsorted(left, numbers) > np.searchsorted(left, before)
    then_in = pd.Series(numbers, index=mapped.index).map(placed).astype("string")
    groups = household_groups(mapped).astype("string")
    moved = then_in.notna() & (groups != then_in).fillna(True)
    if moved.any():
        raise NotNarrowed(f"{file} / {sheet}: {int(moved.sum())} row(s) found in their place read into another "
                          "household")


def _decisions(report: dict) -> dict:
    """What a sheet's whole column of values decides: which field each column is, which columns do not
    fit, which years the sheet names (mappings.roster.map_sheet)."""
    years = report.get("years") or {}
    return {"roster": report.get("roster"), "stop": report.get("stop"),
            "columns": [(c["column"], c["field"]) for c in report.get("columns") or []],
            "unfit": sorted((u["column"], u["field"]) for u in report.get("unfit") or []),
            "years": [years.get("title"), years.get("sheet"), years.get("column"), bool(years.get("rows_without"))]}


def _origin(mapped: pd.DataFrame, repaired, digests: dict[int, str], contexts: dict[int, str]) -> None:
    """Each row's place in the district's own roster and the round it came in (0: the roster itself); a
    roster row's context (misgw.stages.extract), by which the next read finds it in its place."""
    rows = mapped["source_row"].astype(int)
    if repaired is None:
        mapped["origin_file"], mapped["origin_sheet"] = mapped["source_file"], mapped["source_sheet"]
        mapped["origin_row"] = rows
        mapped["origin_digest"] = rows.map(digests)
        mapped["origin_household"] = None
        mapped["fixup_round"], mapped["fixup_run"], mapped["fixup_problem"] = 0, "", None
        mapped["origin_context"] = rows.map(contexts)
        return
    info = repaired.info.reindex(rows)
    for column in fixup_return.ROW_INFO:
        mapped[column] = info[column].to_numpy()
    mapped["fixup_round"] = mapped["fixup_round"].fillna(0).astype(int)
    mapped["origin_row"] = pd.to_numeric(mapped["origin_row"], errors="coerce").astype("Int64")
    mapped["origin_context"] = None       # a returned row is found again by its fix, not by its place


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


def _supersede(frame: pd.DataFrame, fixed: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """Drop the rows a later version replaces (misgw.stages.fixup_return.supersede). Returns the frame,
    the count of rows dropped per file and sheet, and the MIS households the dropped rows stand for."""
    if not (frame["fixup_round"] > 0).any() and (fixed is None or fixed.empty):
        return frame, pd.DataFrame(columns=["file", "sheet", "n"]), set()
    old, present = fixup_return.supersede(frame, household_groups(frame), fixed)
    if old.any():
        log.info("%d rows give way to a later version (returned fix-up workbooks)", int(old.sum()))
    counts = frame[old].groupby(["source_file", "read_sheet"]).size().reset_index()
    counts.columns = ["file", "sheet", "n"]
    return frame[~old].reset_index(drop=True), counts, present


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


def _listed_rows(part: pd.DataFrame) -> tuple[list[list], list[int]]:
    """The part's rows in order and their numbers, without the numbers between them."""
    part = part.sort_values("row", key=lambda r: r.astype(int))
    return [json.loads(cells) for cells in part["cells"]], part["row"].astype(int).tolist()


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
    return {"files_stopped": roster.stopped, "year_notes": roster.notes, "fixup_notes": roster.fixup_notes,
            "not_stored": not_stored,
            "unfit_columns": unfit, "matched_by_expansion": expanded,
            "checks_not_run": checks_not_run(mapped, indicators), "household_scope": scope_note}
