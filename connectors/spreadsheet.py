"""Reads district workbooks (xlsx, xlsm, xls, ods, csv) cell by cell, exactly as they are, with lineage."""
from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
import zipfile
from pathlib import Path
from typing import Iterator

from connectors.base import Connector, Option, Plan, RawSheet
from connectors.cells import SourceFileError, cell_value

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
SUFFIXES = EXCEL_SUFFIXES | {".csv"}
STREAM_ROWS = 200_000   # above this many rows (from the sheet's <dimension>) an .xlsx sheet is streamed


class SpreadsheetSource(Connector):
    """A district's workbook, or a folder of workbooks. Bookmark: the content digest of every file."""
    kind = "spreadsheet"
    OPTIONS = {"path": Option(str, "a workbook, or a folder of workbooks, relative to the sources file",
                              required=True)}

    def plan(self, bookmark: dict | None, full: bool = False, only: list[str] | None = None) -> Plan:
        path = (self.base / self.options["path"]).resolve()
        files = discover(path, only)
        if not files:
            raise SourceFileError(f"Source '{self.source_id}': no spreadsheet files in {path}.")
        digests = {p.name: _digest(p) for p in files}
        unchanged = not full and not only and bookmark is not None and bookmark.get("files") == digests
        # A run of some files only never becomes the bookmark: the next full run compares with the last full one.
        return Plan(items=files, unchanged=unchanged, bookmark={} if only else {"files": digests},
                    describe=(", ".join(p.name for p in files) if len(files) <= 5 else f"{len(files)} files")
                    + f" in {path if path.is_dir() else path.parent}")

    def read(self, plan: Plan) -> Iterator[RawSheet]:
        for path in plan.items:
            yield from read_sheets(path)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def discover(path: Path, files: list[str] | None = None) -> list[Path]:
    """The spreadsheet files of a source: the file itself, or the folder's files in name order."""
    if not path.exists():
        raise SourceFileError(f"Không tìm thấy tệp hoặc thư mục nguồn / source path not found: {path}.")
    if path.is_file():
        found = [path]
    else:
        found = sorted(p for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(("~$", ".")))
    if files:
        wanted = set(files)
        found = [p for p in found if p.name in wanted]
    return found


def read_sheets(path: Path) -> Iterator[RawSheet]:
    """Yield every sheet of a workbook (or the one table of a CSV), sheet by sheet."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SourceFileError(f"{path.name}: không phải bảng tính / not a spreadsheet "
                              f"(expected one of {', '.join(sorted(SUFFIXES))}).")
    if suffix == ".csv":
        yield RawSheet(path, path.stem, _numbered(_read_csv(path)))
        return
    from python_calamine import CalamineWorkbook

    if suffix in (".xlsx", ".xlsm"):
        from connectors import xlsx_stream

        # A zip bomb is refused from the zip directory, before anything unpacks it.
        try:
            xlsx_stream.check_package(path)
        except (KeyError, ValueError, OSError):
            pass  # not a readable package: calamine below says so in its own words
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        raise SourceFileError(f"{path.name}: tệp bị hỏng hoặc không phải bảng tính Excel / "
                              f"the file is damaged or not an Excel workbook ({_short(exc)}).") from None
    sizes, errors = {}, {}
    if suffix in (".xlsx", ".xlsm"):
        from connectors import xlsx_stream

        try:
            sizes = xlsx_stream.sheet_sizes(path)
            errors = xlsx_stream.error_cells(path)
        except (KeyError, ValueError, OSError, zipfile.BadZipFile):
            pass  # calamine has read it: its sheets as calamine gives them
    for name in workbook.sheet_names:
        size = sizes.get(name)
        if size and size[0] > STREAM_ROWS:
            # calamine loads a whole sheet before the first row: a huge one is streamed instead.
            from connectors import xlsx_stream

            yield RawSheet(path, name, xlsx_stream.iter_rows(path, name))
        else:
            yield RawSheet(path, name, _calamine_rows(workbook, path, name, errors.get(name, {})))


def _calamine_rows(workbook, path: Path, name: str, errors: dict | None = None) -> Iterator[tuple[int, list]]:
    """errors: {(row, column): "#REF!"} of the sheet's formula errors, which calamine reads as blank."""
    try:
        # skip_empty_area=False keeps row numbers equal to the ones Excel shows.
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as exc:
        raise SourceFileError(f"{path.name}, sheet '{name}': cannot be read ({_short(exc)}).") from None
    by_row: dict[int, list] = {}
    for (r, col), text in (errors or {}).items():
        by_row.setdefault(r, []).append((col, text))
    for number, row in enumerate(rows, start=1):
        # Most cells are text: made plain here, without a call each (cell_value gives the same).
        cells = [(v if v.strip() else None) if type(v) is str else cell_value(v) for v in row]
        if by_row:
            for col, text in by_row.get(number, ()):
                cells.extend([None] * (col + 1 - len(cells)))
                cells[col] = text
        if cells.count(None) != len(cells):
            yield number, cells


def _numbered(rows: list[list]) -> Iterator[tuple[int, list]]:
    for number, cells in enumerate(rows, start=1):
        if any(c is not None for c in cells):
            yield number, cells


def _read_csv(path: Path) -> list[list]:
    data = path.read_bytes()
    text = None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        for encoding in ("utf-8-sig", "cp1258"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    if text is None:
        raise SourceFileError(f"{path.name}: unknown text encoding (expected UTF-8, UTF-16 or Windows-1258).")
    text = unicodedata.normalize("NFC", text)  # Windows-1258 text arrives with separate tone marks
    delimiter = _delimiter(text)
    return [[c if c.strip() else None for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _delimiter(text: str) -> str:
    """The separator most lines agree on: title rows above the table have none, so the usual sniffers fail."""
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    best, best_score = ",", -1
    for sep in (",", ";", "\t"):
        counts = [ln.count(sep) for ln in lines]
        nonzero = [c for c in counts if c]
        if not nonzero:
            continue
        mode = max(set(nonzero), key=nonzero.count)
        score = sum(1 for c in counts if c == mode) * mode
        if score > best_score:
            best, best_score = sep, score
    return best


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
