#!/usr/bin/env bash
# Watch the demo in the Airflow UI: `airflow standalone` with one DAG per demo district, the province
# DAG, and the "MIS Gateway" page in the navigation. Open http://localhost:8080 and sign in as admin:
# the password is printed at start-up and kept in var/airflow/simple_auth_manager_passwords.json.generated.
# The district DAGs start unpaused and run at once; each that loads moves the province's Asset, and
# the province DAG runs after them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VAR="${MISGW_DEMO_VAR:-$PWD/var}"           # where the demo lives (tests point this elsewhere)
export PATH="$PWD/.venv/bin:$PATH"          # standalone starts its components as `airflow ...`
export AIRFLOW_HOME="$VAR/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__HOSTNAME_CALLABLE=misgw.worker.hostname
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
# Task processes report to the api-server's execution API: on the same host and port.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://${AIRFLOW__API__HOST}:${AIRFLOW__API__PORT}/execution/"
export MISGW_CONFIG="$VAR/demo/misgw.yaml"
# Task processes do not share our working directory: name the embedded database's folder.
export MISGW_EMBEDDED_PG_DIR="${MISGW_EMBEDDED_PG_DIR:-$VAR/pgdata}"
# The demo province's files and the MIS's unit tables; Airflow does the syncing.
[ -f "$MISGW_CONFIG" ] || .venv/bin/misgw demo --dir "$VAR/demo" --generate-only
.venv/bin/misgw db upgrade >/dev/null
.venv/bin/misgw admin-units import >/dev/null
.venv/bin/airflow db migrate >/dev/null
.venv/bin/misgw airflow pools --config "$MISGW_CONFIG" --apply
exec .venv/bin/airflow standalone
