"""The expat loop that turns a sheet part's XML into rows, each cell converted as the calamine path converts it."""
from __future__ import annotations

from typing import Iterator
from xml.parsers import expat

from connectors.cells import cell_value
from connectors.xlsx_dates import _date_value, _iso_value
from connectors.xlsx_parts import _col_index, _local
from connectors.xlsx_text import _Text, _unescape

CHUNK = 1 << 20                  # bytes of sheet XML parsed between two batches of rows

# Element kinds inside a sheet, keyed by tag name as written (with or without a namespace prefix).
_ROW, _C, _V, _F, _IS, _OTHER = range(6)
_KINDS = {"row": _ROW, "c": _C, "v": _V, "f": _F, "is": _IS}


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
