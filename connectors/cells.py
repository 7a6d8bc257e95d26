"""What both spreadsheet readers share: a cell's value as the gateway reads it, and the error naming a bad file."""
from __future__ import annotations

import datetime as dt

from connectors.base import SourceError


class SourceFileError(SourceError):
    """A file that cannot be read as a spreadsheet; the message names the file."""


def cell_value(value):
    # Excel stores every number as a float; a whole number is written back as an int (2025, not 2025.0).
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return value
