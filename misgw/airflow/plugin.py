"""The MIS Gateway inside Airflow: a page in the UI's navigation, its FastAPI app, and the DAG run notes."""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from misgw.airflow import listener
from misgw.airflow.page import app


class MisgwPlugin(AirflowPlugin):
    name = "misgw"
    fastapi_apps = [{"app": app, "url_prefix": "/misgw", "name": "MIS Gateway"}]
    # href has no leading slash, so that the page works behind a reverse proxy too.
    external_views = [{"name": "MIS Gateway", "href": "misgw/", "destination": "nav", "url_route": "misgw"}]
    listeners = [listener]
