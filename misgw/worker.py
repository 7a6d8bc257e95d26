"""Airflow's name for the machine a task ran on: MISGW_WORKER_NAME when set (one per Celery worker), else the host's.

    AIRFLOW__CORE__HOSTNAME_CALLABLE=misgw.worker.hostname

Two workers on one machine then show as two names in the task instances, and in the UI.
"""
from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("MISGW_WORKER_NAME") or socket.getfqdn()
