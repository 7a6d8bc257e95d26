"""What every source connector is: options it takes, what is new since its bookmark, and raw sheets with lineage.

A connector is small and shaped like the others (as a Singer/Meltano stream is):

- OPTIONS: the keys it takes in misgw.yaml, checked when the sources file is read;
- plan(bookmark, full, only): what this run reads, and the bookmark to keep if the run loads;
- read(plan): RawSheets, each with its lineage: file (workbook, database, endpoint), sheet (sheet,
  table, resource) and row; for a database or a web service row 1 is the header (the column or
  field names) and every record carries its key.

Connectors know nothing of the MIS: the pipeline stores the bookmark, and compares the rows it reads
against the last snapshot of the source (`mis/snapshot.py`) when the source has no bookmark to
narrow the read.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Iterator

from common.errors import UserError


class SourceError(UserError):
    """A source that cannot be read: the message names the source, the file or table, and what is wrong."""


@dataclass
class RawSheet:
    """One sheet or table as read: (row number, cells) for each non-empty row, streamed once.

    Cells are str, int, float, bool, an ISO date string, or None.
    """
    file: Path | str
    sheet: str
    rows: Iterable[tuple[int, list]]

    @property
    def file_name(self) -> str:
        return self.file.name if isinstance(self.file, Path) else str(self.file)

    def dense(self) -> list[list]:
        """All rows as a list where index i is row i + 1 (blank rows are empty lists)."""
        out: list[list] = []
        for number, cells in self.rows:
            out.extend([] for _ in range(number - 1 - len(out)))
            out.append(cells)
        return out


@dataclass
class Option:
    """One key a connector takes in misgw.yaml."""
    kind: type | tuple[type, ...]
    help: str
    required: bool = False
    default: Any = None
    check: Callable[[Any], str | None] | None = None   # returns a problem, or None


@dataclass
class Plan:
    """What one run of a source reads, decided from the bookmark of the last run that loaded.

    unchanged: nothing is new since the bookmark, so nothing is read (the run loads nothing).
    partial: only part of the source is read (rows after a watermark): households not read are not
             missing, they are simply not looked at.
    bookmark: what to keep if this run loads; the next run's plan starts from it.
    keys / household: column names of the record key and the household code, when the source has them:
             with them, the pipeline narrows a full read to the households whose rows changed.
    """
    items: list = field(default_factory=list)
    unchanged: bool = False
    partial: bool = False
    bookmark: dict = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    household: str | None = None
    describe: str = ""


class Connector:
    """Base of the connectors: options checked, a plan, raw sheets."""
    kind: ClassVar[str]
    OPTIONS: ClassVar[dict[str, Option]] = {}

    def __init__(self, source_id: str, options: dict, base: Path):
        self.source_id, self.options, self.base = source_id, options, base

    @classmethod
    def check_options(cls, raw: dict, where: str) -> dict:
        """The connector's options from a source's raw config, with defaults; a UserError names a bad one."""
        out: dict = {}
        for name, option in cls.OPTIONS.items():
            value = raw.get(name, option.default)
            if value is None:
                if option.required:
                    raise UserError(f"{where}: a {cls.kind} source needs '{name}' ({option.help}).")
                out[name] = None
                continue
            if not isinstance(value, option.kind) or isinstance(value, bool) and option.kind in (int, (int, float)):
                raise UserError(f"{where}: '{name}' must be {_kind_name(option.kind)} ({option.help}); "
                                f"got {value!r}.")
            problem = option.check(value) if option.check else None
            if problem:
                raise UserError(f"{where}: '{name}' {problem}.")
            out[name] = value
        return out

    def plan(self, bookmark: dict | None, full: bool = False, only: list[str] | None = None) -> Plan:
        raise NotImplementedError

    def read(self, plan: Plan) -> Iterator[RawSheet]:
        raise NotImplementedError


def _kind_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list",
             dict: "a mapping"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def fingerprint(*parts) -> str:
    """A short stable digest of JSON-able parts (what a bookmark compares)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]
