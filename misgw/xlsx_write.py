"""Workbooks written straight as SpreadsheetML, a row at a time: the fix-up workbook's thousands of held rows
(openpyxl builds and serialises an element tree for every cell: 20 s for one district's 33,000 at size L)."""
from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Iterable
from xml.sax.saxutils import escape, quoteattr

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument"
# Number formats Excel knows by number; any other gets one from 164 on.
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "@": 49}
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_SPACES = frozenset(" \t\n\r")
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_MAX_TEXT = 32_767
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


@dataclass(frozen=True)
class Style:
    """How a cell looks: the few things the gateway's workbooks use."""
    bold: bool = False
    size: float | None = None             # font size in points; None: the default (11)
    fill: str | None = None               # solid fill, RGB hex ("FFF2A8")
    wrap: bool = False                    # text wrapped, aligned to the top
    number_format: str | None = None      # "DD/MM/YYYY", "#,##0", "0", "@" (text)


@dataclass
class Cell:
    """A value with a style, or a note a person sees on pointing at the cell (width, height in pixels)."""
    value: object
    style: Style | None = None
    comment: str | None = None
    comment_size: tuple[int, int] = (320, 90)


@dataclass
class Sheet:
    """One sheet. rows: (cells, height in points or None); a cell is a value, a Cell or None (empty).

    freeze: (columns, rows) that stay when the rest scrolls; autofilter: a filter over every row and column
    written;
    print_titles: rows printed on every page ("1:1"); page: pageSetup attributes (orientation, paperSize,
    fitToWidth, fitToHeight); fitting to a page width is turned on when fitToWidth is given."""
    name: str
    rows: Iterable[tuple[list, float | None]]
    widths: list[float] = field(default_factory=list)
    hidden_columns: frozenset[int] = frozenset()     # positions from 0
    hidden: bool = False
    freeze: tuple[int, int] | None = None
    autofilter: bool = False
    print_titles: str | None = None
    page: dict = field(default_factory=dict)


@lru_cache(maxsize=None)
def column_letter(i: int) -> str:
    """0 -> "A", 26 -> "AA"."""
    s, i = "", i + 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _text(value: str) -> str:
    """Text as a cell or a note holds it: characters no workbook can hold (control characters) dropped, cut
    at Excel's 32,767 characters."""
    value = _ILLEGAL.sub("", value)
    if len(value) > _MAX_TEXT:
        value = value[:_MAX_TEXT - 1] + "…"
    if value and (value[0] in _SPACES or value[-1] in _SPACES or "\n" in value):
        return f'<t xml:space="preserve">{escape(value)}</t>'
    return f"<t>{escape(value)}</t>"


class _Styles:
    """The workbook's styles, numbered as cells first use them (0: the default)."""

    def __init__(self) -> None:
        self.xfs: dict[Style, int] = {Style(): 0}
        self.fonts: dict[tuple, int] = {(False, None): 0}
        self.fills: dict[str | None, int] = {None: 0, "gray125": 1}
        self.formats: dict[str, int] = {}

    def index(self, style: Style | None) -> int:
        if style is None:
            return 0
        at = self.xfs.get(style)
        if at is None:
            self.fonts.setdefault((style.bold, style.size), len(self.fonts))
            self.fills.setdefault(style.fill, len(self.fills))
            fmt = style.number_format
            if fmt and fmt not in _BUILTIN_FORMATS:
                self.formats.setdefault(fmt, 164 + len(self.formats))
            at = self.xfs[style] = len(self.xfs)
        return at

    def xml(self) -> str:
        formats = "".join(f'<numFmt numFmtId="{n}" formatCode={quoteattr(f)}/>' for f, n in self.formats.items())
        fonts = []
        for bold, size in self.fonts:
            fonts.append("<font>" + ('<b val="1"/>' if bold else "") + f'<sz val="{size or 11}"/>'
                         '<color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>')
        fills = ["<fill><patternFill/></fill>", '<fill><patternFill patternType="gray125"/></fill>']
        fills += [f'<fill><patternFill patternType="solid"><fgColor rgb="00{rgb}"/><bgColor indexed="64"/>'
                  "</patternFill></fill>" for rgb in list(self.fills)[2:]]
        xfs = []
        for style in self.xfs:
            fmt = style.number_format
            fmt_id = _BUILTIN_FORMATS.get(fmt, 0) if fmt in _BUILTIN_FORMATS or not fmt else self.formats[fmt]
            font, fill = self.fonts[(style.bold, style.size)], self.fills[style.fill]
            attrs = (f'numFmtId="{fmt_id}" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"'
                     + (' applyNumberFormat="1"' if fmt_id else "") + (' applyFont="1"' if font else "")
                     + (' applyFill="1"' if fill else ""))
            xfs.append(f'<xf {attrs} applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
                       if style.wrap else f"<xf {attrs}/>")
        return (_XML_HEAD + f'<styleSheet xmlns="{MAIN}">'
                + (f'<numFmts count="{len(self.formats)}">{formats}</numFmts>' if self.formats else "")
                + f'<fonts count="{len(fonts)}">{"".join(fonts)}</fonts>'
                + f'<fills count="{len(fills)}">{"".join(fills)}</fills>'
                + '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                + '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                + f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
                + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                + "</styleSheet>")


def _cell(ref: str, value, style: int) -> str:
    """One cell's XML; "" for an empty cell without a style (not written at all)."""
    s = f' s="{style}"' if style else ""
    empty = f'<c r="{ref}"{s}/>' if style else ""
    if value is None or (isinstance(value, str) and not value):
        return empty
    if isinstance(value, str):
        return f'<c r="{ref}"{s} t="inlineStr"><is>{_text(value)}</is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, numbers.Integral):
        return f'<c r="{ref}"{s}><v>{int(value)}</v></c>'
    if isinstance(value, (numbers.Real, Decimal)):
        number = float(value)
        return f'<c r="{ref}"{s}><v>{number!r}</v></c>' if math.isfinite(number) else empty
    if isinstance(value, dt.date):
        return f'<c r="{ref}"{s}><v>{_serial(value)!r}</v></c>'
    text = str(value)
    if text in ("<NA>", "NaT"):
        return empty     # pandas' missing values
    return f'<c r="{ref}"{s} t="inlineStr"><is>{_text(text)}</is></c>'


def _serial(value: dt.date) -> float | int:
    """A date as Excel counts it: days since 1899-12-30, less one before 1900-03-01, where Excel counts a
    29 February 1900 that never was (as openpyxl writes it, and as readers read it back)."""
    moment = value.replace(tzinfo=None) if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    delta = moment - _EXCEL_EPOCH
    days = delta.days - (1 if 0 < delta.days <= 60 else 0)
    return days + delta.seconds / 86400 if delta.seconds else days


_DATE_STYLE = Style(number_format="yyyy-mm-dd")
_DATETIME_STYLE = Style(number_format="yyyy-mm-dd h:mm:ss")


def _sheet_rows(out, sheet: Sheet, styles: _Styles, comments: list) -> tuple[int, int]:
    """The sheet's rows into out; the comments found are added to comments as (ref, row, column, Cell).
    Returns (rows, columns): how many were written."""
    write = out.write
    n = width = 0
    for n, (cells, height) in enumerate(sheet.rows, start=1):
        row = f'<row r="{n}" ht="{height}" customHeight="1">' if height else f'<row r="{n}">'
        parts = [row]
        width = max(width, len(cells))
        for i, value in enumerate(cells):
            if value is None:
                continue
            if type(value) is str:     # most cells: plain text, no style
                if value:
                    parts.append(f'<c r="{column_letter(i)}{n}" t="inlineStr"><is>{_text(value)}</is></c>')
                continue
            ref = f"{column_letter(i)}{n}"
            cell = value if isinstance(value, Cell) else Cell(value)
            style = cell.style
            if style is None and isinstance(cell.value, dt.date):
                style = _DATETIME_STYLE if isinstance(cell.value, dt.datetime) else _DATE_STYLE
            if cell.comment:
                comments.append((ref, n - 1, i, cell))
            parts.append(_cell(ref, cell.value, styles.index(style)))
        parts.append("</row>")
        write("".join(parts).encode("utf-8"))
    return n, width


def _sheet_head(sheet: Sheet, selected: bool) -> str:
    fit = "fitToWidth" in sheet.page
    head = [_XML_HEAD, f'<worksheet xmlns="{MAIN}" xmlns:r="{DOC_REL}">',
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if fit else ""]
    view = ' tabSelected="1"' if selected else ""
    if sheet.freeze:
        x, y = sheet.freeze
        first = f"{column_letter(x)}{y + 1}"     # the first cell that scrolls
        pane = "bottomRight" if x and y else ("topRight" if x else "bottomLeft")
        split = (f' xSplit="{x}"' if x else "") + (f' ySplit="{y}"' if y else "")
        head.append(f'<sheetViews><sheetView{view} workbookViewId="0"><pane{split} topLeftCell="{first}" '
                    f'activePane="{pane}" state="frozen"/><selection pane="{pane}" activeCell="{first}" '
                    f'sqref="{first}"/></sheetView></sheetViews>')
    else:
        head.append(f'<sheetViews><sheetView{view} workbookViewId="0"/></sheetViews>')
    head.append('<sheetFormatPr defaultRowHeight="15"/>')
    if sheet.widths:
        cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"'
                       + (' hidden="1"' if i in sheet.hidden_columns else "") + "/>"
                       for i, w in enumerate(sheet.widths))
        head.append(f"<cols>{cols}</cols>")
    head.append("<sheetData>")
    return "".join(head)


def _sheet_tail(sheet: Sheet, drawing: str | None, filtered: str | None) -> str:
    tail = ["</sheetData>"]
    if filtered:
        tail.append(f'<autoFilter ref="{filtered}"/>')
    tail.append('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
    if sheet.page:
        tail.append("<pageSetup " + " ".join(f'{k}="{v}"' for k, v in sheet.page.items()) + "/>")
    if drawing:
        tail.append(f'<legacyDrawing r:id="{drawing}"/>')
    tail.append("</worksheet>")
    return "".join(tail)


def _comments_xml(comments: list) -> str:
    items = "".join(f'<comment ref="{ref}" authorId="0"><text>{_text(cell.comment)}</text></comment>'
                    for ref, _, _, cell in comments)
    return (_XML_HEAD + f'<comments xmlns="{MAIN}"><authors><author>MIS Gateway</author></authors>'
            f"<commentList>{items}</commentList></comments>")


def _vml(comments: list) -> str:
    """The legacy drawing Excel shows notes with: one hidden box per comment, anchored at its cell (shape
    ids and id map as openpyxl has written them for years)."""
    shapes = []
    for k, (_, row, col, cell) in enumerate(comments):
        width, height = cell.comment_size
        shapes.append(
            f'<v:shape id="_x0000_s{1026 + k:04d}" type="#_x0000_t202" '
            f'style="position:absolute;margin-left:59.25pt;margin-top:1.5pt;width:{width}px;height:{height}px;'
            'z-index:1;visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto">'
            '<v:fill color2="#ffffe1"/><v:shadow color="black" obscured="t"/>'
            '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"/>'
            '</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:AutoFill>False</x:AutoFill><x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData>"
            "</v:shape>")
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>'
            '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
            '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
            + "".join(shapes) + "</xml>")


def write_workbook(path: Path, sheets: list[Sheet], active: int = 0) -> None:
    """The workbook at path: its sheets in order, rows streamed to the file as they are made (a sheet's
    rows are never all in memory); active: the sheet it opens on."""
    styles = _Styles()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        overrides = [("/xl/workbook.xml", f"{CT}.spreadsheetml.sheet.main+xml"),
                     ("/xl/styles.xml", f"{CT}.spreadsheetml.styles+xml")]
        names, defined = [], []
        for number, sheet in enumerate(sheets, start=1):
            comments: list = []
            part = f"xl/worksheets/sheet{number}.xml"
            with zf.open(part, "w", force_zip64=True) as out:
                out.write(_sheet_head(sheet, number - 1 == active).encode("utf-8"))
                rows, width = _sheet_rows(out, sheet, styles, comments)
                filtered = (1, 1, width, rows) if sheet.autofilter and rows and width else None
                out.write(_sheet_tail(sheet, "rIdVml" if comments else None,
                                      filtered and _range(*filtered)).encode("utf-8"))
            overrides.append((f"/{part}", f"{CT}.spreadsheetml.worksheet+xml"))
            if comments:
                zf.writestr(f"xl/comments{number}.xml", _comments_xml(comments))
                zf.writestr(f"xl/drawings/vmlDrawing{number}.vml", _vml(comments))
                zf.writestr(f"xl/worksheets/_rels/sheet{number}.xml.rels", _rels([
                    ("rIdComments", f"{DOC_REL}/comments", f"../comments{number}.xml"),
                    ("rIdVml", f"{DOC_REL}/vmlDrawing", f"../drawings/vmlDrawing{number}.vml")]))
                overrides.append((f"/xl/comments{number}.xml", f"{CT}.spreadsheetml.comments+xml"))
            state = ' state="hidden"' if sheet.hidden else ""
            names.append(f'<sheet name={quoteattr(sheet.name)} sheetId="{number}"{state} r:id="rId{number}"/>')
            quoted = "'" + sheet.name.replace("'", "''") + "'"
            if filtered:
                defined.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{number - 1}" hidden="1">'
                               f"{escape(quoted)}!{_range(*filtered, absolute=True)}</definedName>")
            if sheet.print_titles:
                first_row, last_row = sheet.print_titles.split(":")
                defined.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{number - 1}">'
                               f"{escape(quoted)}!${first_row}:${last_row}</definedName>")
        zf.writestr("xl/styles.xml", styles.xml())
        zf.writestr("xl/workbook.xml", _XML_HEAD + f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_REL}">'
                    f'<bookViews><workbookView activeTab="{active}"/></bookViews>'
                    f'<sheets>{"".join(names)}</sheets>'
                    + (f'<definedNames>{"".join(defined)}</definedNames>' if defined else "")
                    + '<calcPr calcId="191029"/></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", _rels(
            [(f"rId{n}", f"{DOC_REL}/worksheet", f"worksheets/sheet{n}.xml") for n in range(1, len(sheets) + 1)]
            + [("rIdStyles", f"{DOC_REL}/styles", "styles.xml")]))
        zf.writestr("_rels/.rels", _rels([("rId1", f"{DOC_REL}/officeDocument", "xl/workbook.xml")]))
        zf.writestr("[Content_Types].xml", _XML_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                    f'<Default Extension="vml" ContentType="{CT}.vmlDrawing"/>'
                    + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides) + "</Types>")


def _range(first_col: int, first_row: int, last_col: int, last_row: int, absolute: bool = False) -> str:
    """"A1:H4" from positions counted from 1 ("$A$1:$H$4" absolute)."""
    d = "$" if absolute else ""
    return (f"{d}{column_letter(first_col - 1)}{d}{first_row}:"
            f"{d}{column_letter(last_col - 1)}{d}{last_row}")


def _rels(items: list[tuple[str, str, str]]) -> str:
    return (_XML_HEAD + f'<Relationships xmlns="{PKG_REL}">'
            + "".join(f'<Relationship Id="{i}" Type="{t}" Target="{target}"/>' for i, t, target in items)
            + "</Relationships>")
