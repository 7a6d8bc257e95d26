"""Streams one .xlsx sheet row by row with expat (bounded decompression), so a huge sheet never sits whole in memory."""
from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import Iterator
from xml.parsers import expat

from connectors.cells import SourceFileError, cell_value
from connectors.xlsx_dates import _BUILTIN_FORMATS, _format_kind, _int
from connectors.xlsx_parts import _Bounded, _col_index, _local, _parse_bytes, _short, _Stop
from connectors.xlsx_rows import CHUNK as CHUNK
from connectors.xlsx_rows import _rows
from connectors.xlsx_text import _Text, _unescape

MAX_UNCOMPRESSED = 2 * 1024**3   # no honest district workbook part unpacks to more than 2 GB
MAX_RATIO = 200                  # real sheet XML compresses ~10:1; zip bombs compress thousands to one
RATIO_FLOOR = 100 * 1024**2      # below this size a high ratio is harmless (a sheet of blanks compresses well)
HEAD_LIMIT = 256 * 1024          # sheet_sizes reads at most this much of a sheet part, looking for <dimension>
_REL_OFFICE_DOC = "/officeDocument"


# ---------------------------------------------------------------------------------------------------------------
# The package: parts, relationships, sheets
# ---------------------------------------------------------------------------------------------------------------

class _Package:
    """An open .xlsx: case-insensitive part lookup (as Excel and calamine do) and size-checked reads."""

    def __init__(self, path):
        self.path = Path(path)
        self.zf = zipfile.ZipFile(self.path)
        self.names = {n.replace("\\", "/").lower(): n for n in self.zf.namelist()}

    def close(self) -> None:
        self.zf.close()

    def find(self, part: str) -> str | None:
        return self.names.get(part.lstrip("/").lower())

    def check(self, name: str | zipfile.ZipInfo) -> zipfile.ZipInfo:
        """Refuse a part whose declared size is absurd, or whose compression ratio says zip bomb."""
        info = name if isinstance(name, zipfile.ZipInfo) else self.zf.getinfo(name)
        name = info.filename
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_UNCOMPRESSED:
            raise SourceFileError(f"{self.path.name}: part {name} of the workbook would unpack to "
                                  f"{info.file_size / 1024**3:.1f} GB: refused, no district workbook is that big.")
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise SourceFileError(f"{self.path.name}: part {name} of the workbook would unpack to "
                                  f"{info.file_size // 1024**2} MB from {info.compress_size // 1024} KB "
                                  f"({ratio:.0f}:1): refused as a zip bomb.")
        return info

    def open(self, name: str) -> "_Bounded":
        info = self.check(name)
        return _Bounded(self.zf.open(info), info.file_size, f"{self.path.name}: part {name}")

    def read(self, name: str) -> bytes:
        with self.open(name) as fh:
            return fh.read()

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Id -> (Type, absolute target part) from the part's .rels."""
        folder, base = posixpath.split(part)
        rels = self.find(posixpath.join(folder, "_rels", base + ".rels"))
        out: dict[str, tuple[str, str]] = {}
        if rels is None:
            return out

        def start(tag, attrs):
            if _local(tag) == "Relationship" and "Id" in attrs:
                target = attrs.get("Target", "")
                if attrs.get("TargetMode") != "External":
                    target = (target.lstrip("/") if target.startswith("/")
                              else posixpath.normpath(posixpath.join(folder, target)))
                out[attrs["Id"]] = (attrs.get("Type", ""), target)

        _parse_bytes(self.read(rels), start)
        return out

    def workbook(self) -> tuple[str, dict[str, str], bool]:
        """(workbook part, sheet name -> sheet part, 1904 date system)."""
        root = self.relationships("")
        wb_part = next((t for typ, t in root.values() if typ.endswith(_REL_OFFICE_DOC)), "xl/workbook.xml")
        wb_name = self.find(wb_part)
        if wb_name is None:
            raise KeyError(f"no workbook part {wb_part}")
        rels = self.relationships(wb_part)
        sheets: dict[str, str] = {}
        date1904 = [False]

        def start(tag, attrs):
            local = _local(tag)
            if local == "sheet":
                rid = next((v for k, v in attrs.items() if _local(k) == "id"), None)
                if rid in rels and attrs.get("name") is not None:
                    sheets[attrs["name"]] = rels[rid][1]
            elif local == "workbookPr":
                date1904[0] = attrs.get("date1904") in ("1", "true")

        _parse_bytes(self.read(wb_name), start)
        self.rels = rels
        self.wb_part = wb_part
        return wb_part, sheets, date1904[0]

    def related(self, kind: str, default: str) -> str | None:
        """The part of the workbook's relationship of this kind (sharedStrings, styles), else the usual name."""
        for typ, target in self.rels.values():
            if typ.endswith("/" + kind) and self.find(target):
                return self.find(target)
        return self.find(posixpath.join(posixpath.dirname(self.wb_part), default))


# ---------------------------------------------------------------------------------------------------------------
# The package check, and sheet sizes from <dimension>
# ---------------------------------------------------------------------------------------------------------------

def check_package(path) -> None:
    """Refuse (SourceFileError) a workbook any part of which the zip directory shows to be absurd or a zip bomb.

    Reads only the zip directory. Call it before a reader that unpacks whole parts (calamine reads the
    shared strings and styles when it opens a workbook, and a whole sheet when asked for one)."""
    try:
        pkg = _Package(path)
    except zipfile.BadZipFile as exc:
        raise SourceFileError(f"{Path(path).name}: the file is damaged or not an Excel workbook "
                              f"({_short(exc)}).") from None
    try:
        for info in pkg.zf.infolist():
            pkg.check(info)
    finally:
        pkg.close()


def sheet_sizes(path) -> dict[str, tuple[int, int] | None]:
    """Sheet name -> (last row, last column) from each sheet's <dimension>, None when it has none.

    Only the start of each sheet part is decompressed (up to its <sheetData>, at most HEAD_LIMIT bytes): rows are
    never counted. Any part that the zip directory shows to be a bomb raises SourceFileError (see check_package);
    a package that cannot be read raises ValueError, or KeyError for a missing part.
    """
    try:
        pkg = _Package(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a zip package ({_short(exc)})") from None
    try:
        for info in pkg.zf.infolist():
            pkg.check(info)
        _, sheets, _ = pkg.workbook()
        return {name: _dimension(pkg, part) for name, part in sheets.items()}
    except (expat.ExpatError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"unreadable workbook part ({_short(exc)})") from None
    finally:
        pkg.close()


_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\s(?=[^>]*\bt="e")([^>]*)>(.*?)</(?:\w+:)?c>', re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_CELL_VALUE = re.compile(rb'<(?:\w+:)?v>([^<]*)</')


def error_cells(path) -> dict[str, dict[tuple[int, int], str]]:
    """Sheet name -> {(Excel row, 0-based column): "#REF!"} of the cells whose formula evaluates to an error.

    calamine reads such a cell as blank, which would hide a broken formula behind "missing"; the
    streaming path keeps the text. A sheet with none costs one pass over its bytes.
    """
    pkg = _Package(path)
    try:
        _, sheets, _ = pkg.workbook()
        out: dict[str, dict[tuple[int, int], str]] = {}
        for sheet, part in sheets.items():
            name = pkg.find(part) if part else None
            if name is None or not _has_error_cell(pkg, name):
                continue
            found = {}
            for attrs, body in _ERROR_CELL.findall(pkg.read(name)):
                ref, value = _CELL_REF.search(attrs), _CELL_VALUE.search(body)
                if ref and value:
                    found[(int(ref.group(2)), _col_index(ref.group(1).decode()))] = _unescape(value.group(1).decode())
            if found:
                out[sheet] = found
        return out
    finally:
        pkg.close()


def _has_error_cell(pkg: _Package, name: str) -> bool:
    tail = b""
    with pkg.open(name) as fh:
        while chunk := fh.read(1 << 22):
            if b't="e"' in tail + chunk[:8] or b't="e"' in chunk:
                return True
            tail = chunk[-8:]
    return False


def _dimension(pkg: _Package, part: str) -> tuple[int, int] | None:
    name = pkg.find(part)
    if name is None:
        return None
    found: list[str] = []

    def start(tag, attrs):
        local = _local(tag)
        if local == "dimension":
            found.append(attrs.get("ref", ""))
            raise _Stop
        if local == "sheetData":
            raise _Stop

    p = expat.ParserCreate()
    p.StartElementHandler = start
    read = 0
    try:
        with pkg.open(name) as fh:
            while read < HEAD_LIMIT:
                chunk = fh.read(4096)
                read += len(chunk)
                p.Parse(chunk, not chunk)
                if not chunk:
                    break
    except _Stop:
        pass
    except (expat.ExpatError, zipfile.BadZipFile, EOFError, OSError):
        return None
    if not found:
        return None
    last = found[0].split(":")[-1].replace("$", "").upper()
    m = re.fullmatch(r"([A-Z]{1,3})([0-9]+)", last)
    if not m:
        return None
    return int(m.group(2)), _col_index(m.group(1)) + 1


# ---------------------------------------------------------------------------------------------------------------
# Shared strings and styles
# ---------------------------------------------------------------------------------------------------------------

def _shared_strings(pkg: _Package) -> list:
    """The shared-strings table, each entry already as the calamine path's cell (blank -> None)."""
    name = pkg.related("sharedStrings", "sharedStrings.xml")
    if name is None:
        return []
    strings: list = []
    item: list[_Text | None] = [None]

    def start(tag, attrs):
        local = _local(tag)
        if local == "si":
            item[0] = _Text()
        elif item[0] is not None:
            item[0].start(local, attrs)

    def end(tag):
        local = _local(tag)
        if item[0] is None:
            return
        if local == "si":
            strings.append(cell_value(item[0].value()))
            item[0] = None
        else:
            item[0].end(local)

    def text(data):
        if item[0] is not None:
            item[0].text(data)

    p = expat.ParserCreate()
    p.buffer_text = True
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    with pkg.open(name) as fh:
        p.ParseFile(fh)
    return strings


def _styles(pkg: _Package) -> dict[str, int]:
    """Cell style index (the s attribute, as written) -> _DATE or _DURATION, for the styles that show one."""
    name = pkg.related("styles", "styles.xml")
    if name is None:
        return {}
    custom: dict[str, str] = {}
    xfs: list[str | None] = []
    where = {"cellXfs": False}

    def start(tag, attrs):
        local = _local(tag)
        if local == "numFmt" and "numFmtId" in attrs and "formatCode" in attrs:
            custom[attrs["numFmtId"]] = attrs["formatCode"]
        elif local == "cellXfs":
            where["cellXfs"] = True
        elif local == "xf" and where["cellXfs"]:
            xfs.append(attrs.get("numFmtId"))

    def end(tag):
        if _local(tag) == "cellXfs":
            where["cellXfs"] = False

    p = expat.ParserCreate()
    p.StartElementHandler, p.EndElementHandler = start, end
    p.Parse(pkg.read(name), True)
    out = {}
    for i, fmt_id in enumerate(xfs):
        if fmt_id is None:
            continue
        # A custom numFmt wins over the built-in one of the same id, as in calamine.
        kind = _format_kind(custom[fmt_id]) if fmt_id in custom else _BUILTIN_FORMATS.get(_int(fmt_id), 0)
        if kind:
            out[str(i)] = kind
    return out


# ---------------------------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------------------------

def iter_rows(path, sheet_name: str) -> Iterator[tuple[int, list]]:
    """(Excel row number, cells) for each non-empty row of one sheet, streamed: the sheet is never held whole.

    Cells are converted exactly as the calamine path converts them (spreadsheet._cell), except that an error cell
    keeps its text ("#REF!") where calamine gives None. A row ends at its last non-empty cell.
    Raises SourceFileError (naming the file and sheet) for a damaged workbook or a zip bomb.
    """
    path = Path(path)
    label = f"{path.name}, sheet '{sheet_name}'"
    try:
        pkg = _Package(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceFileError(f"{path.name}: the file is damaged or not an Excel workbook ({_short(exc)}).") from None
    try:
        try:
            _, sheets, date1904 = pkg.workbook()
            part = sheets.get(sheet_name)
            name = pkg.find(part) if part else None
            if name is None:
                raise SourceFileError(f"{path.name}: there is no sheet '{sheet_name}' in this workbook.")
            stream = pkg.open(name)   # size check before anything else is read
            shared = _shared_strings(pkg)
            styles = _styles(pkg)
        except SourceFileError:
            raise
        except (expat.ExpatError, zipfile.BadZipFile, KeyError, ValueError, EOFError, OSError) as exc:
            raise SourceFileError(f"{label}: cannot be read, the workbook is damaged ({_short(exc)}).") from None
        try:
            with stream:
                yield from _rows(stream, shared, styles, date1904)
        except SourceFileError:
            raise
        except zipfile.BadZipFile as exc:
            # zipfile stops at the size the directory declares; a part that goes on fails its CRC here.
            raise SourceFileError(f"{label}: refused, its data does not match what the zip directory declares "
                                  f"(damaged, or a part that unpacks to more than it says: {_short(exc)}).") from None
        except (expat.ExpatError, KeyError, ValueError, IndexError, EOFError, OSError) as exc:
            raise SourceFileError(f"{label}: cannot be read, the sheet is damaged ({_short(exc)}).") from None
    finally:
        pkg.close()
