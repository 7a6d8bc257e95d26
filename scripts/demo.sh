#!/usr/bin/env bash
# The demo: installs what is needed, then generates a demo province (Cần Thơ) and syncs it into
# the MIS. With MISGW_DATABASE_URL unset the MIS is an embedded PostgreSQL in ~/.local/share/misgw.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/misgw demo "$@"
