#!/usr/bin/env bash
# Watch the demo in the Airflow UI: `airflow standalone` with one DAG per demo district.
# Open http://localhost:8080; the admin password is printed at start-up and kept in
# var/airflow/simple_auth_manager_passwords.json.generated.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"   # standalone starts its components as `airflow ...`
export AIRFLOW_HOME="$PWD/var/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export MISGW_CONFIG="$PWD/var/demo/misgw.yaml"
# Task processes do not share our working directory: name the embedded database's folder.
export MISGW_EMBEDDED_PG_DIR="$PWD/var/pgdata"
[ -f "$MISGW_CONFIG" ] || .venv/bin/misgw demo
exec .venv/bin/airflow standalone
