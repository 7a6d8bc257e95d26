"""Reads one ODBC table or query in a process of its own, so that a driver that crashes takes only this process.

    python -m connectors.odbc_worker    (a JSON job on stdin; JSON lines on stdout)

The parent (connectors/odbc.py) writes the job: the connection string, what to read, chunk size and
timeouts. This process answers, one JSON object per line:

    {"columns": [...]}                 the column names, once
    {"rows": [[...], ...]}             a chunk of rows, values already plain (text, numbers, ISO dates)
    {"done": N, "watermark": ...}      N rows read; the largest watermark value seen
    {"error": {"kind": ..., "state": ..., "message": ...}}   and exit code 3

kind is "connect" (the database did not answer: worth a retry), "refused" (the database answered and
refused the login: never retried, since retries can lock the account), "timeout", "driver" (the
driver is not installed) or "query" (the table, columns or SQL are wrong: retrying cannot help).
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import struct
import sys
import unicodedata


def main() -> int:
    job = json.loads(sys.stdin.read())
    # The answer goes out on a descriptor of its own: whatever a driver prints goes to stderr, so every line
    # the parent reads is one of ours, and a line it cannot read is damage, never noise.
    out = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        import pyodbc
    except ImportError as exc:  # pragma: no cover - pyodbc is a dependency
        _send(out, {"error": {"kind": "driver", "state": "", "message": f"pyodbc cannot load: {exc}"}})
        return 3
    try:
        conn = pyodbc.connect(job["connection"], timeout=job.get("login_timeout", 15), autocommit=True)
    except pyodbc.Error as exc:
        state = _state(exc)
        kind = "driver" if state.startswith("IM") else "refused" if _refused(state, exc) else "connect"
        _send(out, {"error": {"kind": kind, "state": state, "message": _message(exc)}})
        return 3
    if any(name in job.get("driver", "").lower() for name in ("maria", "mysql")):
        # MariaDB's Connector/ODBC sends wide text as UTF-8 and miscounts it (the last letter of "Hộ nghèo" is
        # lost): read text as UTF-8. The SQL itself stays wide (UTF-16): sent as narrow text, the driver
        # reads it in the process's locale, and under a locale that is not UTF-8 a Vietnamese column or
        # table name arrives as mojibake.
        conn.setdecoding(pyodbc.SQL_CHAR, encoding="utf-8")
        conn.setdecoding(pyodbc.SQL_WCHAR, encoding="utf-8")
    for sql_type, convert in ((pyodbc.SQL_TYPE_TIMESTAMP, _timestamp), (pyodbc.SQL_TYPE_DATE, _date),
                              (pyodbc.SQL_TYPE_TIME, _time)):
        # Legacy databases hold impossible dates (Access writes 1900-01-00): read the parts as they are,
        # never let one value abort the read; the rules then name the bad date on its record.
        conn.add_output_converter(sql_type, convert)
    try:
        return _read(conn, job, out)
    except pyodbc.Error as exc:
        state = _state(exc)
        kind = "timeout" if state.startswith("HYT") else "connect" if state.startswith("08") else "query"
        _send(out, {"error": {"kind": kind, "state": state, "message": _message(exc)}})
        return 3


# Login refused: SQLSTATE 28xxx (MariaDB, psqlODBC 28P01, SQL Server), or a driver that reports it
# under a general state with the server's own words.
_REFUSED_WORDS = ("access denied", "password authentication failed", "login failed", "authentication failed",
                  "invalid password", "not authorized")


def _refused(state: str, exc: Exception) -> bool:
    return state.startswith("28") or any(w in _message(exc).lower() for w in _REFUSED_WORDS)


def _read(conn, job: dict, out) -> int:
    quote = _quote(conn, job)
    cursor = conn.cursor()
    if job.get("query_timeout"):
        try:
            cursor.timeout = int(job["query_timeout"])
        except Exception:  # some drivers (MDBTools) cannot set it; the parent's watchdog still applies
            pass
    watermark, household = job.get("watermark_column"), job.get("household_column")
    after = job.get("after")
    limited = job.get("limited_sql", False)  # MDBTools: no WHERE parameters, no ORDER BY, no aliases
    if job.get("query"):
        sql = job["query"]
    else:
        sql = f"SELECT * FROM {quote(job['table'])}"
    households = None
    if watermark and after is not None and household:
        if limited:
            households = _households_after_client_side(cursor, sql, watermark, household, after)
        else:
            cursor.execute(f"SELECT DISTINCT {quote(household)} FROM ({sql}) changed WHERE {quote(watermark)} > ?"
                           if job.get("query") else
                           f"SELECT DISTINCT {quote(household)} FROM {quote(job['table'])} "
                           f"WHERE {quote(watermark)} > ?", _param(after))
            households = {_plain(r[0], job) for r in cursor.fetchall()}
        if not households:
            _send(out, {"columns": []})
            _send(out, {"done": 0, "watermark": after})
            return 0
    cursor.execute(sql)
    columns = [d[0] for d in cursor.description]
    _send(out, {"columns": columns})

    def without_converters():
        # PostgreSQL, whose dates are always real, through a driver that will not hand them over raw.
        conn.clear_output_converters()
        cursor.execute(sql)
    at_household = columns.index(household) if household in columns else None
    at_watermark = columns.index(watermark) if watermark in columns else None
    chunk = int(job.get("chunk_rows", 5000))
    n, high = 0, after
    for batch in _batches(cursor, chunk, without_converters):
        rows = []
        for values in _plain_rows(batch, job):
            if households is not None and at_household is not None and values[at_household] not in households:
                continue
            if at_watermark is not None and values[at_watermark] is not None and \
                    (high is None or _later(values[at_watermark], high)):
                high = values[at_watermark]
            rows.append(values)
        n += len(rows)
        if rows:
            _send(out, {"rows": rows})
    _send(out, {"done": n, "watermark": high})
    return 0


def _households_after_client_side(cursor, sql: str, watermark: str, household: str, after) -> set:
    """The households with a row changed after the watermark, found by reading (for drivers with no WHERE ?)."""
    cursor.execute(sql)
    columns = [d[0] for d in cursor.description]
    at_h, at_w = columns.index(household), columns.index(watermark)
    found = set()
    for batch in _batches(cursor, 5000, lambda: (cursor.connection.clear_output_converters(), cursor.execute(sql))):
        for record in batch:
            value = _plain(record[at_w], {})
            if value is not None and _later(value, after):
                found.add(_plain(record[at_h], {}))
    return found


def _batches(cursor, size: int, again=None):
    """fetchmany until the end. A batch shorter than asked is the last one: MDBTools does not stop at the
    end of a table but starts it again, so "until an empty batch" would never end.

    again: called when the driver cannot hand dates over raw (psqlODBC: SQLSTATE 07006) before the
    first batch; it runs the query again without the date converters.
    """
    import pyodbc

    first = True
    while True:
        try:
            batch = cursor.fetchmany(size)
        except pyodbc.Error as exc:
            if not (first and again and _state(exc) == "07006"):
                raise
            again()
            first = False
            continue
        first = False
        if batch:
            yield batch
        if len(batch) < size:
            return


def _later(a, b) -> bool:
    try:
        return a > b
    except TypeError:
        return str(a) > str(b)


def _param(value):
    """A watermark as the driver should compare it: ISO text back to a datetime, numbers as they are."""
    if isinstance(value, str):
        for parse in (dt.datetime.fromisoformat, dt.date.fromisoformat):
            try:
                return parse(value)
            except ValueError:
                continue
    return value


def _quote(conn, job: dict):
    import pyodbc

    try:
        q = conn.getinfo(pyodbc.SQL_IDENTIFIER_QUOTE_CHAR) or '"'
    except pyodbc.Error:
        q = "[" if job.get("limited_sql") else '"'
    if q == "[":
        return lambda name: "[" + name.replace("]", "]]") + "]"
    return lambda name: q + name.replace(q, q + q) + q


_AS_IS = (type(None), bool, int, float)


def _plain_rows(batch, job: dict) -> list[list]:
    """The batch's rows with plain values (_plain), a column at a time: a column whose values are all
    numbers or blanks is kept as it is, and text without a code page to fix needs only its blank check."""
    columns: list = []
    for column in zip(*batch):
        kinds = set(map(type, column))
        if kinds.issubset(_AS_IS):
            columns.append(column)
        elif kinds.issubset({str, type(None)}) and job.get("encoding") != "windows-1258":
            columns.append([v if v is None or v.strip() else None for v in column])
        else:
            columns.append([_plain(v, job) for v in column])
    return [list(values) for values in zip(*columns)]


def _plain(value, job: dict):
    """A value as the raw batch holds it: text, int, float, bool, an ISO date, or None."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        text = _recode(value, job.get("encoding"))
        return text if text.strip() else None
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        encoding = job.get("encoding") or "utf-8"
        try:
            text = data.decode("cp1258" if encoding == "windows-1258" else encoding)
        except (UnicodeDecodeError, LookupError):
            text = data.decode("cp1258", errors="replace")
        return unicodedata.normalize("NFC", text) or None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _recode(text: str, encoding: str | None) -> str:
    """Windows-1258 text that a driver handed over as Windows-1252 (MySQL's "latin1") gets its letters back."""
    if encoding != "windows-1258" or text.isascii():
        return text
    try:
        return unicodedata.normalize("NFC", text.encode("cp1252").decode("cp1258"))
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text            # already real Unicode


def _timestamp(raw):
    if raw is None:
        return None
    if _is_text(raw):
        return _text_stamp(raw)
    y, mo, d, h, mi, s, _ = struct.unpack("<hHHHHHI", raw[:16])
    return _iso(y, mo, d, h, mi, s)


def _date(raw):
    if raw is None:
        return None
    if _is_text(raw):
        return _text_stamp(raw)
    y, mo, d = struct.unpack("<hHH", raw[:6])
    return _iso(y, mo, d)


def _time(raw):
    if raw is None:
        return None
    if _is_text(raw):
        return raw.decode("ascii")
    h, mi, s = struct.unpack("<HHH", raw[:6])
    return f"{h:02d}:{mi:02d}:{s:02d}"


def _is_text(raw: bytes) -> bool:
    """Some drivers (MariaDB, SQLite) hand dates over as text, others (MDBTools, psqlODBC) as the ODBC struct."""
    return len(raw) >= 8 and raw[:4].isdigit() and raw[4:5] in (b"-", b"/")


def _text_stamp(raw: bytes) -> str:
    text = raw.decode("ascii", "replace").strip().replace(" ", "T")
    date, _, time_part = text.partition("T")
    time_part = time_part.split(".")[0]
    return date if time_part in ("", "00:00:00", "00:00") else f"{date}T{time_part}"


def _iso(y, mo, d, h=0, mi=0, s=0) -> str:
    """ISO text of the parts, a real datetime or not (so 1900-01-00 reaches the rules as written)."""
    try:
        stamp = dt.datetime(y, mo, d, h, mi, s)
        return stamp.date().isoformat() if (h, mi, s) == (0, 0, 0) else stamp.isoformat()
    except ValueError:
        return f"{y:04d}-{mo:02d}-{d:02d}" + ("" if (h, mi, s) == (0, 0, 0) else f"T{h:02d}:{mi:02d}:{s:02d}")


def _state(exc) -> str:
    return str(exc.args[0]) if exc.args else ""


def _message(exc) -> str:
    text = str(exc.args[1] if len(exc.args) > 1 else exc)
    return " ".join(text.split())[:500]


def _send(out: int, message: dict) -> None:
    """One JSON line, written whole with os.write. Not through sys.stdout: when a signal interrupts the write
    of a large chunk to the pipe (a profiler or debugger attached, a handler installed), Python's buffered
    text stream lost or repeated parts of lines (measured: of 40 one-megabyte lines, 33 arrived, 5 of them damaged)."""
    data = memoryview((json.dumps(message, ensure_ascii=False, default=str) + "\n").encode("utf-8"))
    while data:
        data = data[os.write(out, data):]


if __name__ == "__main__":
    sys.exit(main())
