"""Tells people when a sync needs them: a run failed, or a run waits for approval. E-mail and a JSON webhook."""
from __future__ import annotations

import datetime as dt
import logging

log = logging.getLogger("misgw")


def send(alerts: dict, event: str, subject: str, text: str, payload: dict) -> list[str]:
    """Send to every configured channel; return which ones were reached. Never raises: an alert that
    cannot be delivered is logged, and must not turn a failed run into a crashed one."""
    reached = []
    body = {"event": event, "subject": subject, "text": text,
            "sent_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **payload}
    if alerts.get("email"):
        try:
            _email(alerts, subject, text)
            reached.append("email")
        except Exception as exc:  # noqa: BLE001 - any delivery fault is reported the same way
            log.warning("MIS Gateway: alert e-mail to %s not sent: %s", ", ".join(alerts["email"]), _short(exc))
    if alerts.get("webhook"):
        try:
            _webhook(alerts, body)
            reached.append("webhook")
        except Exception as exc:  # noqa: BLE001
            log.warning("MIS Gateway: alert webhook not delivered: %s", _short(exc))
    return reached


def _email(alerts: dict, subject: str, text: str) -> None:
    """Through the Airflow SMTP connection (the SMTP provider's hook): host, port, login live there."""
    from html import escape

    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=alerts.get("smtp_conn_id") or "smtp_default") as hook:
        hook.send_email_smtp(to=alerts["email"], subject=subject,
                             html_content="<pre>" + escape(text) + "</pre>")


def _webhook(alerts: dict, body: dict) -> None:
    """POST the alert as JSON, with a bearer token from an Airflow connection when one is named."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    headers = {}
    if alerts.get("webhook_conn_id"):
        from connectors.credentials import airflow_connection

        headers["Authorization"] = f"Bearer {airflow_connection(alerts['webhook_conn_id']).password}"
    session = requests.Session()
    session.mount("http", HTTPAdapter(max_retries=Retry(total=3, backoff_factor=0.5,
                                                        status_forcelist=(429, 500, 502, 503, 504),
                                                        allowed_methods=frozenset(["POST"]))))
    response = session.post(alerts["webhook"], json=body, headers=headers, timeout=10)
    response.raise_for_status()


def _short(exc: Exception) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]
