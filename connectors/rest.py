"""Reads a district web service: paged JSON records (households, or their members) with retries and timeouts.

One requests Session with urllib3 retries (429 and 5xx, honouring Retry-After, with backoff) and a
timeout on every call. Pages follow one of four styles: page numbers, offsets, a cursor, or a next
link. Auth comes from an Airflow connection: basic (login and password), a bearer token, or an API
key header. A page that is not the JSON it should be fails the source with the page named; nothing
of it is loaded, since the run loads only after everything was read.
"""
from __future__ import annotations

from typing import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from connectors.base import Connector, Option, Plan, RawSheet, SourceError

STYLES = ("none", "page", "offset", "cursor", "next")
RETRY_STATUSES = (429, 500, 502, 503, 504)


def _check_paging(value: dict) -> str | None:
    style = value.get("style", "page")
    if style not in STYLES:
        return f"style must be one of {', '.join(STYLES)}"
    if style in ("cursor", "next") and not value.get("next"):
        return f"with style {style} needs 'next': where the page says what comes next (e.g. links.next)"
    unknown = set(value) - {"style", "param", "size_param", "size", "start", "next"}
    return f"takes style, param, size_param, size, start, next (not {', '.join(sorted(unknown))})" if unknown else None


class RestSource(Connector):
    """A web service returning JSON pages. Bookmark: the largest `incremental_field` value read."""
    kind = "rest"
    OPTIONS = {
        "url": Option(str, "the address of the records (the first page)", required=True,
                      check=lambda v: None if v.startswith(("http://", "https://")) else "must start with http(s)://"),
        "conn_id": Option(str, "the Airflow connection with the credentials (basic, bearer token or API key)"),
        "records": Option(str, "where each page holds its list of records, dot-separated (e.g. data.items); "
                               "empty when the page is the list", default="data"),
        "members": Option(str, "where a household record holds its list of members, when it does"),
        "paging": Option(dict, "how pages follow: {style: page|offset|cursor|next|none, param, size_param, size, "
                               "start, next}", default={"style": "none"}, check=_check_paging),
        "params": Option(dict, "fixed query parameters sent with every call", default={}),
        "key": Option((str, list), "the field or fields that identify a record"),
        "household_column": Option(str, "the field that holds the household code"),
        "incremental_param": Option(str, "the query parameter that asks for records changed after a value"),
        "incremental_field": Option(str, "the record field holding that value (a modified time)"),
        "timeout": Option((int, float), "seconds to wait for each call", default=30),
        "retries": Option(int, "attempts again after a timeout, a 429 or a 5xx, with backoff", default=5),
        "backoff": Option((int, float), "seconds of the first backoff; it doubles each time", default=0.5),
        "max_pages": Option(int, "pages at most: a service that never stops paging is an error", default=100_000),
    }

    @classmethod
    def check_options(cls, raw: dict, where: str) -> dict:
        options = super().check_options(raw, where)
        if bool(options["incremental_param"]) != bool(options["incremental_field"]):
            raise SourceError(f"{where}: 'incremental_param' and 'incremental_field' go together.")
        if options["incremental_param"] and not options["members"]:
            raise SourceError(f"{where}: an incremental read needs household records with their 'members', so "
                              "that a changed member brings its whole household.")
        if isinstance(options["key"], str):
            options["key"] = [options["key"]]
        return options

    def plan(self, bookmark: dict | None, full: bool = False, only: list[str] | None = None) -> Plan:
        o = self.options
        watermark = None if full or not bookmark else bookmark.get("watermark")
        return Plan(items=[o["url"]], partial=bool(o["incremental_param"] and watermark is not None),
                    bookmark={"watermark": watermark}, keys=list(o["key"] or []), household=o["household_column"],
                    describe=f"{_public(o['url'])}" + (f" changed after {watermark}" if watermark is not None else ""))

    def read(self, plan: Plan) -> Iterator[RawSheet]:
        url = self.options["url"]
        resource = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or "records"
        yield RawSheet(_public(url).split("?")[0], resource, self._rows(plan))

    def _rows(self, plan: Plan) -> Iterator[tuple[int, list]]:
        o = self.options
        session = _session(o, self.options.get("conn_id"))
        columns: list[str] | None = None
        number, high = 1, plan.bookmark.get("watermark")
        extra_fields: set[str] = set()
        for page_no, page in enumerate(self._pages(session, plan), start=1):
            records = _records(page, o["records"], page_no, o["url"])
            rows = [row for record in records for row in _flatten(record, o["members"], page_no, o["url"])]
            if columns is None:
                if not rows:
                    continue
                columns = _columns(rows, plan.keys, plan.household)
                yield 1, columns
            for row in rows:
                extra_fields.update(set(row) - set(columns))
                number += 1
                yield number, [row.get(c) for c in columns]
                value = row.get(o["incremental_field"]) if o["incremental_field"] else None
                if value is not None and (high is None or str(value) > str(high)):
                    high = value
        if extra_fields:
            import logging

            logging.getLogger("misgw").warning("%s: fields %s appear only after the first page and are not read",
                                               _public(o["url"]), ", ".join(sorted(extra_fields)))
        if o["incremental_field"]:
            plan.bookmark = {"watermark": high}

    def _pages(self, session, plan: Plan) -> Iterator:
        o = self.options
        paging = {"style": "none", **(o["paging"] or {})}
        style = paging["style"]
        params = dict(o["params"] or {})
        if o["incremental_param"] and plan.bookmark.get("watermark") is not None:
            params[o["incremental_param"]] = plan.bookmark["watermark"]
        size = int(paging.get("size", 100))
        if style in ("page", "offset"):
            params[paging.get("size_param", "page_size" if style == "page" else "limit")] = size
        position = int(paging.get("start", 1 if style == "page" else 0))
        url: str = o["url"]
        for count in range(1, o["max_pages"] + 1):
            if style == "page":
                params[paging.get("param", "page")] = position
            elif style == "offset":
                params[paging.get("param", "offset")] = position
            page = _get(session, url, params if style != "next" or count == 1 else None, o, count)
            yield page
            records = _records(page, o["records"], count, o["url"])
            if style == "none":
                return
            if style in ("page", "offset"):
                if len(records) < size:
                    return
                position += 1 if style == "page" else len(records)
            else:
                following = _at(page, paging["next"])
                if not following:
                    return
                if style == "cursor":
                    params[paging.get("param", "cursor")] = following
                else:
                    url = following if following.startswith("http") else _join(o["url"], following)
        raise SourceError(f"{_public(o['url'])}: more than {o['max_pages']} pages; the service does not stop paging.")


def _session(o: dict, conn_id: str | None):
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    retry = Retry(total=o["retries"], connect=o["retries"], read=o["retries"], status=o["retries"],
                  backoff_factor=o["backoff"], status_forcelist=RETRY_STATUSES, allowed_methods=frozenset(["GET"]),
                  respect_retry_after_header=True, raise_on_status=False)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.headers["Accept"] = "application/json"
    if conn_id:
        from connectors.credentials import airflow_connection

        c = airflow_connection(conn_id)
        auth = str(c.extra.get("auth") or ("basic" if c.login else "bearer")).lower()
        if auth == "basic":
            session.auth = (c.login or "", c.password or "")
        elif auth == "bearer":
            session.headers["Authorization"] = f"Bearer {c.extra.get('token') or c.password}"
        elif auth in ("api_key", "apikey", "header"):
            session.headers[c.extra.get("header", "X-API-Key")] = str(c.extra.get("key") or c.password)
        else:
            raise SourceError(f"Connection '{conn_id}': auth must be basic, bearer or api_key (got {auth!r}).")
    return session


def _get(session, url: str, params: dict | None, o: dict, page_no: int):
    import requests

    where = f"{_public(url)} (page {page_no})"
    try:
        response = session.get(url, params=params, timeout=o["timeout"])
    except requests.exceptions.RetryError as exc:
        raise SourceError(f"{where}: the service kept refusing after {o['retries']} retries ({_reason(exc)}).") from None
    except requests.exceptions.Timeout:
        raise SourceError(f"{where}: no answer within {o['timeout']} s, {o['retries']} retries included.") from None
    except requests.exceptions.ConnectionError as exc:
        raise SourceError(f"{where}: cannot connect ({_reason(exc)}), {o['retries']} retries included.") from None
    if response.status_code in (401, 403):
        raise SourceError(f"{where}: refused ({response.status_code}): check the credentials of the Airflow "
                          f"connection '{o.get('conn_id')}'.")
    if response.status_code >= 400:
        raise SourceError(f"{where}: the service answered {response.status_code} {response.reason}"
                          + (f" after {o['retries']} retries" if response.status_code in RETRY_STATUSES else "") + ".")
    try:
        return response.json()
    except ValueError:
        sample = " ".join(response.content[:240].decode("utf-8", "replace")[:120].split())
        raise SourceError(f"{where}: the page is not valid JSON (it begins «{sample}»); nothing of this source "
                          "is loaded.") from None


def _records(page, path: str, page_no: int, url: str) -> list:
    records = _at(page, path) if path else page
    if not isinstance(records, list) or any(not isinstance(r, dict) for r in records):
        raise SourceError(f"{_public(url)} (page {page_no}): expected a list of records at "
                          f"'{path or '(the page)'}', found {type(records).__name__}; nothing of this source "
                          "is loaded.")
    return records


def _flatten(record: dict, members: str | None, page_no: int, url: str) -> list[dict]:
    """One row per member (household fields repeated on each), or the record itself; nested objects as a.b."""
    def flat(obj: dict, prefix: str = "") -> dict:
        out = {}
        for k, v in obj.items():
            name = f"{prefix}{k}"
            if isinstance(v, dict):
                out.update(flat(v, name + "."))
            elif not isinstance(v, list):
                out[name] = v
        return out

    if not members:
        return [flat(record)]
    people = _at(record, members)
    if people is None:
        people = []
    if not isinstance(people, list) or any(not isinstance(p, dict) for p in people):
        raise SourceError(f"{_public(url)} (page {page_no}): a record's '{members}' is not a list of members.")
    household = flat(record)
    return [{**household, **flat(p)} for p in people] or [household]


def _columns(rows: list[dict], keys: list[str], household: str | None) -> list[str]:
    seen: dict[str, None] = {}
    for name in [*keys, *([household] if household else [])]:
        seen[name] = None
    for row in rows:
        for name in row:
            seen.setdefault(name, None)
    return list(seen)


def _at(obj, path: str):
    for part in path.split(".") if path else []:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _join(base: str, relative: str) -> str:
    parts = urlsplit(base)
    path, _, query = relative.partition("?")
    return urlunsplit((parts.scheme, parts.netloc, path if path.startswith("/") else parts.path, query, ""))


def _public(url: str) -> str:
    """The address without credentials or secret-looking query values, for messages and lineage."""
    parts = urlsplit(url)
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else parts.netloc
    query = urlencode([(k, "***" if any(s in k.lower() for s in ("key", "token", "secret", "pass")) else v)
                       for k, v in parse_qsl(parts.query)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _reason(exc) -> str:
    text = str(exc.args[0] if exc.args else exc)
    if "Max retries exceeded" in text and "caused by" in text:
        text = text.split("caused by", 1)[1]
    return " ".join(text.split())[:200]
