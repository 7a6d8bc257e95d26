"""One DAG per source in misgw.yaml, and one province DAG on their Assets (misgw.airflow.dags builds them).

Parsing this file reads the sources file once and nothing else. A missing or invalid sources file builds
no DAGs and logs one line naming the problem; the DAG processor goes on with its other files.
"""
from __future__ import annotations

import os
from pathlib import Path

from misgw.airflow.dags import all_dags

CONFIG = os.environ.get("MISGW_CONFIG") or str(Path(__file__).resolve().parents[1] / "misgw.yaml")

globals().update(all_dags(CONFIG))
