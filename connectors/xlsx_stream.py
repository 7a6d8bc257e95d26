"""Streams one .xlsx sheet row by row with expat (bounded decompression), so a huge sheet never sits whole in memory."""
from __future__ import annotations

import datetime as dt
import math
import posixpath
import re
import zipfile
from pathlib import Path
from typing import Iterator
from xml.parsers import expat

from connectors.cells import SourceFileError, cell_value

MAX_UNCOMPRESSED = 2 * 1024**3   # no honest district workbook part unpacks to more than 2 GB
MAX_RATIO = 200                  # real sheet XML compresses ~10:1; zip bombs compress thousands to one
RATIO_FLOOR = 100 * 1024**2      # below this size a high ratio is harmless (a sheet of blanks compresses well)
HEAD_LIMIT = 256 * 1024          # sheet_sizes reads at most this much of a sheet part, looking for <dimension>
CHUNK = 1 << 20                  # bytes of sheet XML parsed between two batches of rows

_EPOCH = dt.datetime(1899, 12, 30)
_DAY_MS = 86_400_000.0
_DATE, _DURATION = 1, 2
# Built-in number formats that show a date or time (14-22, 45, 47, and the East Asian 27-36, 50-58) or an elapsed
# time (46, [h]:mm:ss): the ids python-calamine 0.9 (calamine 0.37) reads as dates, found by trying every id.
_BUILTIN_FORMATS = {**{i: _DATE for i in (*range(14, 23), *range(27, 37), 45, 47, *range(50, 59))}, 46: _DURATION}
# Excel writes a control character as _x000D_ (and a literal "_x000D_" as "_x005F_x000D_"); calamine undoes it.
_EXCEL_ESCAPE = re.compile(r"_x00([0-9A-Fa-f]{2}|\+[0-9A-Fa-f])_")
_XML_SPACE = " \t\r\n"
_REL_OFFICE_DOC = "/officeDocument"


class _Stop(Exception):
    """Ends a parse early once the wanted element has been seen."""


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


class _Bounded:
    """A part's stream that refuses to give more bytes than the part declares: the header cannot lie about a bomb."""

    def __init__(self, stream, declared: int, label: str):
        self.stream, self.declared, self.label, self.seen = stream, declared, label, 0

    def read(self, n: int = -1) -> bytes:
        # One byte beyond the declared size is asked for, so a part that keeps going is caught.
        room = self.declared + 1 - self.seen
        data = self.stream.read(room if n < 0 else min(n, room) or 1)
        self.seen += len(data)
        if self.seen > self.declared:
            raise SourceFileError(f"{self.label} unpacks to more than the {self.declared} bytes it declares: "
                                  f"refused as a zip bomb.")
        return data

    def close(self) -> None:
        self.stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _local(tag: str) -> str:
    return tag.rpartition(":")[2]


def _parse_bytes(data: bytes, start) -> None:
    p = expat.ParserCreate()
    p.StartElementHandler = start
    p.Parse(data, True)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


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


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


# ---------------------------------------------------------------------------------------------------------------
# Shared strings and styles
# ---------------------------------------------------------------------------------------------------------------

class _Text:
    """Collects one string item (<si> or <is>) the way calamine does: the <t> of every run, phonetic runs left out,
    each <t> trimmed of XML whitespace unless xml:space="preserve", Excel's _x00HH_ escapes undone."""

    __slots__ = ("parts", "t", "preserve", "rph")

    def __init__(self):
        self.parts: list[str] = []
        self.t: list[str] | None = None
        self.preserve = False
        self.rph = False

    def start(self, local: str, attrs) -> None:
        if local == "t" and not self.rph:
            self.t = []
            self.preserve = attrs.get("xml:space") == "preserve"
        elif local == "rPh":
            self.rph = True

    def end(self, local: str) -> None:
        if local == "t" and self.t is not None:
            text = "".join(self.t)
            if not self.preserve:
                text = text.strip(_XML_SPACE)
            self.parts.append(_unescape(text))
            self.t = None
        elif local == "rPh":
            self.rph = False

    def text(self, data: str) -> None:
        if self.t is not None:
            self.t.append(data)

    def value(self) -> str:
        return "".join(self.parts)


def _unescape(text: str) -> str:
    if "_x00" in text:
        return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


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


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


def _format_kind(code: str) -> int:
    """calamine's reading of a custom number format: a date/time, an elapsed duration ([h]:mm), or neither.

    Only the first section counts; quoted text, escaped (\\x), padded (_x) and fill (*x) characters are literals;
    [colours] and [conditions] are skipped; a d, m, y, h or s outside them makes a date, as does "AM/PM"."""
    escaped = quoted = ap = hms = False
    brackets = 0
    prev = " "
    for ch in code:
        if escaped:
            escaped = False
        elif ch in "_\\*":
            escaped = True
        elif quoted:
            if ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == ";":
            return 0
        elif ch == "[":
            brackets += 1
        elif ch == "]" and brackets == 1 and hms:
            return _DURATION
        elif ch == "]":
            brackets = max(brackets - 1, 0)
        elif ch in "aA" and not ap and brackets == 0:
            ap = True
        elif ch in "pm/PM" and ap and brackets == 0:
            return _DATE
        elif ch in "dmhysDMHYS" and not ap and brackets == 0:
            return _DATE
        else:
            if not (hms and ch.lower() == prev.lower()):
                hms = prev == "[" and ch in "mhsMHS"
        prev = ch
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Serial numbers to dates, as python-calamine does
# ---------------------------------------------------------------------------------------------------------------

def _serial_to_datetime(value: float, date1904: bool) -> dt.datetime | None:
    """calamine's ExcelDateTime::as_datetime: the 1900 leap-year bug, millisecond rounding; None out of range."""
    if not math.isfinite(value):
        return None
    f = value + 1462 if date1904 else value
    if f < 60:
        f += 1
    ms = f * _DAY_MS
    ms = int(ms + 0.5) if ms >= 0 else -int(-ms + 0.5)
    try:
        moment = _EPOCH + dt.timedelta(milliseconds=ms)
    except OverflowError:
        return None
    return moment


def _date_value(number: float, kind: int, date1904: bool):
    """The Python value python-calamine gives a date- or duration-formatted number (then cell_value makes it text)."""
    if kind == _DURATION:
        if not math.isfinite(number):
            return number
        ms = number * _DAY_MS
        try:
            return dt.timedelta(milliseconds=int(ms + 0.5) if ms >= 0 else -int(-ms + 0.5))
        except OverflowError:
            return number
    moment = _serial_to_datetime(number, date1904)
    if moment is None:
        return number
    if number < 1.0:
        return moment.time()
    if number == float(int(number)):
        return moment.date()
    return moment


def _iso_value(text: str):
    """A t="d" cell (an ISO 8601 date, time or date-time), as python-calamine reads it."""
    try:
        if "T" in text:
            return dt.datetime.fromisoformat(text)
        if ":" in text:
            return dt.time.fromisoformat(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        return text


# ---------------------------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------------------------

# Element kinds inside a sheet, keyed by tag name as written (with or without a namespace prefix).
_ROW, _C, _V, _F, _IS, _OTHER = range(6)
_KINDS = {"row": _ROW, "c": _C, "v": _V, "f": _F, "is": _IS}


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


def _rows(stream, shared: list, styles: dict[str, int], date1904: bool) -> Iterator[tuple[int, list]]:
    """The expat loop. Its handlers are the hot path (five calls per cell): the usual cases are written inline."""
    kinds = dict(_KINDS)
    columns: dict[str, int] = {}
    done: list[tuple[int, list]] = []
    cells: list = []
    # The cell being read: its column, type and style; the last of its <v>, <f>, <is> (calamine keeps the value of
    # the last one); the <v> text; the inline string.
    row = 0
    col = 0
    next_col = 0
    ctype = None
    cstyle = None
    last = _OTHER
    in_c = False
    in_v = False
    vtext = ""
    inline: _Text | None = None

    def kind_of(tag: str) -> int:
        k = kinds[tag] = _KINDS.get(_local(tag), _OTHER)
        return k

    def start(tag, attrs):
        nonlocal row, col, next_col, ctype, cstyle, last, in_c, in_v, vtext, inline, cells
        k = kinds.get(tag)
        if k is None:
            k = kind_of(tag)
        if k == _C:
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                col = columns.get(letters)
                if col is None:
                    col = columns[letters] = _col_index(letters.upper().replace("$", ""))
            else:
                col = next_col
            next_col = col + 1
            ctype = attrs.get("t")
            cstyle = attrs.get("s")
            last = _OTHER
            in_c = True
            inline = None
        elif k == _V:
            if in_c:
                in_v = True
                vtext = ""
                last = _V
        elif k == _ROW:
            r = attrs.get("r")
            row = int(r) if r else row + 1
            next_col = 0
            if cells:
                cells = []
        elif k == _IS:
            if in_c:
                inline = _Text()
                last = _IS
        elif k == _F:
            if in_c:
                last = _F
        elif inline is not None:
            inline.start(_local(tag), attrs)

    def end(tag):
        nonlocal in_c, in_v, inline, cells
        k = kinds.get(tag)
        if k is None:
            k = kind_of(tag)
        if k == _V:
            in_v = False
        elif k == _C:
            in_c = False
            if last == _V:
                if not vtext:
                    return
                t = ctype
                if t == "s":
                    value = shared[int(vtext)]
                elif t is None or t == "n":
                    try:
                        number = float(vtext)
                    except ValueError:
                        if t is not None:
                            raise
                        number = None
                    if number is None:      # no type: calamine keeps text that is not a number as text
                        value = cell_value(vtext)
                    elif cstyle is not None and cstyle in styles:
                        value = cell_value(_date_value(number, styles[cstyle], date1904))
                    elif number.is_integer() and -1e15 < number < 1e15:
                        value = int(number)
                    else:
                        value = number
                else:
                    value = _typed_value(vtext, t)
            elif last == _IS:
                value = cell_value(inline.value())
                inline = None
            else:
                return
            if value is None:
                return
            n = len(cells)
            if col == n:
                cells.append(value)
            elif col > n:
                cells.extend([None] * (col - n))
                cells.append(value)
            else:
                cells[col] = value
        elif k == _ROW:
            if cells:
                done.append((row, cells))
                cells = []
        elif inline is not None and k == _OTHER:
            inline.end(_local(tag))

    def text(data):
        nonlocal vtext
        if in_v:
            vtext += data
        elif inline is not None:
            inline.text(data)

    p = expat.ParserCreate()
    p.buffer_text = True
    p.buffer_size = 1 << 16
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    while True:
        chunk = stream.read(CHUNK)
        p.Parse(chunk, not chunk)
        if done:
            yield from done
            done.clear()
        if not chunk:
            break


def _typed_value(raw: str, t: str):
    """A <v> of the less common cell types, as the calamine path gives it."""
    if t == "str":
        return cell_value(_unescape(raw))
    if t == "b":
        return raw != "0"
    if t == "e":
        return raw          # calamine gives None: the error text is kept, so a broken formula stays visible
    if t == "d":
        return cell_value(_iso_value(raw))
    if t == "inlineStr":    # calamine ignores a <v> in an inline-string cell
        return None
    return cell_value(raw)
