"""Where alerts land in the tests: an SMTP sink (aiosmtpd) and an HTTP receiver for webhooks, both on 127.0.0.1.

    with Inbox() as inbox:
        config["alerts"] = {"email": ["ops@example.vn"], "webhook": inbox.webhook}
        env["AIRFLOW_CONN_SMTP_DEFAULT"] = inbox.smtp_connection()
        ...   # inbox.mails: {"to": [...], "data": the message as received}; inbox.hooks: each post's body
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from airflow_cluster import free_port


class Inbox:
    """An SMTP sink and an HTTP receiver on 127.0.0.1, keeping every e-mail and every webhook post."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.mails: list[dict] = []
        self.hooks: list[str] = []
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                inbox.mails.append({"to": envelope.rcpt_tos, "data": envelope.content.decode("utf-8", "replace")})
                return "250 OK"

        class Hook(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                inbox.hooks.append(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8"))
                self.send_response(204)
                self.end_headers()

        self.smtp = Controller(Handler(), hostname="127.0.0.1", port=free_port())
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)

    def __enter__(self):
        self.smtp.start()
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.smtp.stop()
        self.http.shutdown()
        self.http.server_close()

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/alerts"

    def smtp_connection(self) -> str:
        """The Airflow connection (AIRFLOW_CONN_SMTP_DEFAULT) that sends to this inbox."""
        return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": self.smtp.port,
                           "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "misgw@example.vn"}})
