"""Which number formats show a date or a duration, and serial numbers to dates, as python-calamine reads them."""
from __future__ import annotations

import datetime as dt
import math

_EPOCH = dt.datetime(1899, 12, 30)
_DAY_MS = 86_400_000.0
_DATE, _DURATION = 1, 2
# Built-in number formats that show a date or time (14-22, 45, 47, and the East Asian 27-36, 50-58) or an elapsed
# time (46, [h]:mm:ss): the ids python-calamine 0.9 (calamine 0.37) reads as dates, found by trying every id.
_BUILTIN_FORMATS = {**{i: _DATE for i in (*range(14, 23), *range(27, 37), 45, 47, *range(50, 59))}, 46: _DURATION}


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
