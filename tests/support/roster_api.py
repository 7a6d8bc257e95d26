"""A district's roster web service for tests: a real HTTP server on 127.0.0.1, with faults on demand.

    with RosterApi(households) as api:      # api.url("/households"), api.hits, api.faults
        api.faults[("/households", 2)] = ["slow", "ok"]     # page 2: too slow the first time, then fine

Endpoints (JSON, households with their members under "ThanhVien", accent-free field names):
    /households?page=N&page_size=S      page numbers           {"data": [...]}
    /offset?offset=K&limit=S            offsets                {"data": [...]}
    /cursor?cursor=C                    a cursor               {"data": [...], "meta": {"next_cursor": C}}
    /linked                             next links             {"data": [...], "links": {"next": "/linked?p=2"}}
Every endpoint takes updated_since (ISO time): only households changed after it. Faults per call:
"slow" (sleeps longer than the client's timeout), "503", "429" (Retry-After: 1), "malformed" (HTML).
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import legacy_db


def households_from(rows: list[tuple], updated: str = "2025-06-01T08:00:00") -> list[dict]:
    """The legacy table's rows (legacy_db.COLUMNS) as household records with their members."""
    out: dict[str, dict] = {}
    for r in rows:
        rec = dict(zip(legacy_db.COLUMNS, r))
        h = out.setdefault(rec["MaHo"], {"MaHo": rec["MaHo"], "MaXa": rec["MaXa"], "PhanLoai": rec["PhanLoai"],
                                         "NamRaSoat": rec["NamRaSoat"], "ThuNhap": rec["ThuNhap"],
                                         "updated_at": updated, "ThanhVien": []})
        h["ThanhVien"].append({"ID": rec["ID"], "HoTen": rec["HoTen"], "QuanHe": rec["QuanHe"],
                               "GioiTinh": rec["GioiTinh"], "NgaySinh": rec["NgaySinh"], "DanToc": rec["DanToc"],
                               "SoCCCD": rec["SoCMND"]})
    return list(out.values())


class RosterApi:
    def __init__(self, households: list[dict], slow_seconds: float = 2.5, auth: dict | None = None):
        self.households, self.slow_seconds, self.auth = households, slow_seconds, auth
        self.faults: dict[tuple[str, int], list[str]] = {}
        self.hits: list[tuple[float, str, int, int]] = []     # (time, path, page, status)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                api._answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def _answer(self, req) -> None:
        parts = urlsplit(req.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self.auth and not self._authorised(req):
            return self._send(req, 401, {"error": "unauthorised"}, parts.path, 0)
        records = [h for h in self.households if not q.get("updated_since") or h["updated_at"] > q["updated_since"]]
        path = parts.path
        if path == "/households":
            size, page = int(q.get("page_size", 100)), int(q.get("page", 1))
            chunk, body = records[(page - 1) * size: page * size], {}
        elif path == "/offset":
            size, start = int(q.get("limit", 100)), int(q.get("offset", 0))
            page = start // size + 1
            chunk, body = records[start:start + size], {}
        elif path == "/cursor":
            size, page = 50, int(q.get("cursor", 1))
            chunk = records[(page - 1) * size: page * size]
            body = {"meta": {"next_cursor": str(page + 1) if page * size < len(records) else None}}
        elif path == "/linked":
            size, page = 70, int(q.get("p", 1))
            chunk = records[(page - 1) * size: page * size]
            body = {"links": {"next": f"/linked?p={page + 1}" if page * size < len(records) else None}}
        else:
            return self._send(req, 404, {"error": "no such resource"}, path, 0)
        todo = self.faults.get((path, page))
        fault = todo.pop(0) if todo else "ok"
        if fault == "slow":
            time.sleep(self.slow_seconds)
        elif fault == "503":
            return self._send(req, 503, {"error": "busy"}, path, page)
        elif fault == "429":
            return self._send(req, 429, {"error": "slow down"}, path, page, {"Retry-After": "1"})
        elif fault == "malformed":
            return self._send(req, 200, "<html><body>Lỗi máy chủ</body></html>", path, page)
        self._send(req, 200, {"data": chunk, **body}, path, page)

    def _authorised(self, req) -> bool:
        kind, value = self.auth["kind"], self.auth["value"]
        if kind == "bearer":
            return req.headers.get("Authorization") == f"Bearer {value}"
        if kind == "basic":
            import base64

            return req.headers.get("Authorization") == "Basic " + base64.b64encode(value.encode()).decode()
        return req.headers.get(self.auth.get("header", "X-API-Key")) == value

    def _send(self, req, status: int, body, path: str, page: int, headers: dict | None = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)).encode()
        self.hits.append((time.monotonic(), path, page, status))
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/html")
            req.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                req.send_header(k, v)
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the client gave up waiting (a slow page): it will ask again
