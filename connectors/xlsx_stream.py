"""Streams the rows of a huge .xlsx sheet with expat, so memory stays flat where calamine would load it whole."""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import PurePosixPath
from typing import Iterator
from xml.parsers import expat

from connectors.spreadsheet import SourceFileError

MAX_UNCOMPRESSED = 2 * 1024**3          # no honest district sheet is bigger
MAX_RATIO = 200                          # zip bombs compress thousands to one
RATIO_FLOOR = 100 * 1024**2              # small parts may compress very well
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DATE_FORMAT_IDS = set(range(14, 23)) | {45, 46, 47}
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def _check(zf: zipfile.ZipFile, name: str, path) -> zipfile.ZipInfo:
    info = zf.getinfo(name)
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > MAX_UNCOMPRESSED or (info.file_size > RATIO_FLOOR and ratio > MAX_RATIO):
        raise SourceFileError(f"{path.name}: a part of the workbook ({name}) unpacks to "
                              f"{info.file_size // 1024**2} MB ({ratio:.0f}:1): refused as a zip bomb.")
    return info


class _Bounded:
    """A zip member stream that stops at its declared size: the header cannot lie about a bomb."""

    def __init__(self, stream, limit: int, label: str):
        self.stream, self.left, self.label = stream, limit + 1, label

    def read(self, n: int = 1 << 16) -> bytes:
        data = self.stream.read(min(n, max(self.left, 0)) or 1)
        self.left -= len(data)
        if self.left < 0:
            raise SourceFileError(f"{self.label}: unpacks to more than it declares: refused.")
        return data


def _workbook_sheets(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the part that holds it."""
    rels, names = {}, {}

    def rel_start(tag, attrs):
        if tag.endswith("Relationship"):
            rels[attrs.get("Id")] = attrs.get("Target")

    def wb_start(tag, attrs):
        if tag.endswith("}sheet") or tag == "sheet":
            names[attrs.get("name")] = attrs.get(f"{_NS_REL} id") or attrs.get("r:id")

    for part, handler in (("xl/_rels/workbook.xml.rels", rel_start), ("xl/workbook.xml", wb_start)):
        p = expat.ParserCreate(namespace_separator=" ")
        p.StartElementHandler = lambda tag, attrs, h=handler: h(tag.replace(" ", "}"), attrs)
        p.Parse(zf.read(part), True)
    out = {}
    for name, rid in names.items():
        target = rels.get(rid, "")
        target = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        out[name] = target
    return out


def sheet_sizes(path) -> dict[str, tuple[int, int] | None]:
    """Rows and columns of each sheet from its <dimension>, read from the start of the part only."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for name, part in _workbook_sheets(zf).items():
            with zf.open(part) as fh:
                head = fh.read(4096).decode("utf-8", "replace")
            m = re.search(r'<(?:\w+:)?dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"', head)
            if not m:
                out[name] = None
                continue
            last_col, last_row = (m.group(3), m.group(4)) if m.group(3) else (m.group(1), m.group(2))
            out[name] = (int(last_row), _col_index(last_col) + 1)
    return out


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _shared_strings(zf: zipfile.ZipFile, path) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    info = _check(zf, "xl/sharedStrings.xml", path)
    strings: list[str] = []
    parts: list[str] = []
    state = {"in_si": False, "in_t": False, "in_rph": False}

    def start(tag, attrs):
        local = tag.rsplit(" ", 1)[-1]
        if local == "si":
            state["in_si"] = True
            parts.clear()
        elif local == "t" and state["in_si"] and not state["in_rph"]:
            state["in_t"] = True
        elif local == "rPh":
            state["in_rph"] = True

    def end(tag):
        local = tag.rsplit(" ", 1)[-1]
        if local == "si":
            strings.append("".join(parts))
            state["in_si"] = False
        elif local == "t":
            state["in_t"] = False
        elif local == "rPh":
            state["in_rph"] = False

    def text(data):
        if state["in_t"]:
            parts.append(data)

    p = expat.ParserCreate(namespace_separator=" ")
    p.buffer_text = True
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    with zf.open("xl/sharedStrings.xml") as fh:
        p.ParseFile(_Bounded(fh, info.file_size, path.name))
    return strings


def _date_styles(zf: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles whose number format shows a date."""
    if "xl/styles.xml" not in zf.namelist():
        return set()
    custom: dict[int, str] = {}
    xfs: list[int] = []
    state = {"in_cellxfs": False}

    def start(tag, attrs):
        local = tag.rsplit(" ", 1)[-1]
        if local == "numFmt":
            custom[int(attrs["numFmtId"])] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            state["in_cellxfs"] = True
        elif local == "xf" and state["in_cellxfs"]:
            xfs.append(int(attrs.get("numFmtId", 0)))

    def end(tag):
        if tag.endswith("cellXfs"):
            state["in_cellxfs"] = False

    p = expat.ParserCreate(namespace_separator=" ")
    p.StartElementHandler, p.EndElementHandler = start, end
    p.Parse(zf.read("xl/styles.xml"), True)

    def is_date(fmt_id: int) -> bool:
        # A custom format is a date when, quoted text and [colours] aside, it has a day or year token.
        code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", custom.get(fmt_id, "")).lower()
        return fmt_id in _DATE_FORMAT_IDS or bool(re.search(r"[dy]", code))

    return {i for i, fmt in enumerate(xfs) if is_date(fmt)}


def iter_rows(path, sheet_name: str) -> Iterator[tuple[int, list]]:
    """(Excel row number, cells) of each non-empty row, cells converted as the calamine path does."""
    with zipfile.ZipFile(path) as zf:
        part = _workbook_sheets(zf).get(sheet_name)
        if part is None:
            raise SourceFileError(f"{path.name}: no sheet '{sheet_name}'.")
        info = _check(zf, part, path)
        shared = _shared_strings(zf, path)
        dates = _date_styles(zf)
        rows: list[tuple[int, list]] = []
        cur: dict = {"row": 0, "cells": {}, "col": 0, "type": None, "style": 0, "text": [], "in_v": False,
                     "in_is": False, "next_col": 0}

        def start(tag, attrs):
            local = tag.rsplit(" ", 1)[-1]
            if local == "row":
                cur["row"] = int(attrs.get("r", cur["row"] + 1))
                cur["cells"] = {}
                cur["next_col"] = 0
            elif local == "c":
                ref = attrs.get("r")
                cur["col"] = _col_index(_CELL_REF.match(ref).group(1)) if ref else cur["next_col"]
                cur["next_col"] = cur["col"] + 1
                cur["type"] = attrs.get("t", "n")
                cur["style"] = int(attrs.get("s", 0))
                cur["text"] = []
            elif local == "v" or (local == "t" and cur["type"] == "inlineStr"):
                cur["in_v"] = True

        def end(tag):
            local = tag.rsplit(" ", 1)[-1]
            if local in ("v", "t"):
                cur["in_v"] = False
            elif local == "c":
                value = _value("".join(cur["text"]), cur["type"], cur["style"], shared, dates)
                if value is not None:
                    cur["cells"][cur["col"]] = value
            elif local == "row" and cur["cells"]:
                width = max(cur["cells"]) + 1
                rows.append((cur["row"], [cur["cells"].get(i) for i in range(width)]))

        def text(data):
            if cur["in_v"]:
                cur["text"].append(data)

        p = expat.ParserCreate(namespace_separator=" ")
        p.buffer_text = True
        p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
        with zf.open(part) as fh:
            stream = _Bounded(fh, info.file_size, path.name)
            while True:
                chunk = stream.read(1 << 20)
                p.Parse(chunk, not chunk)
                yield from rows
                rows.clear()
                if not chunk:
                    break


def _value(raw: str, kind: str, style: int, shared: list[str], dates: set[int]):
    if kind == "s":
        text = shared[int(raw)] if raw else ""
        return text if text.strip() else None
    if kind in ("inlineStr", "str"):
        return raw if raw.strip() else None
    if kind == "b":
        return raw == "1"
    if kind == "e":
        return raw or None
    if not raw:
        return None
    number = float(raw)
    if style in dates:
        moment = _EXCEL_EPOCH + dt.timedelta(days=number)
        return moment.date().isoformat() if moment.time() == dt.time(0) else moment.isoformat()
    if number.is_integer() and abs(number) < 1e15:
        return int(number)
    return number
