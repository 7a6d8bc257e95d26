#!/usr/bin/env bash
# The test suite: installs what is needed, makes sure a real PostgreSQL answers, runs pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

# Tests use $MISGW_TEST_DATABASE_URL, else the server on 127.0.0.1:5432, else an embedded one.
if [ -z "${MISGW_TEST_DATABASE_URL:-}" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    echo "test: starting the local PostgreSQL cluster"
    for v in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || pg_ctlcluster "$v" main start || true
    done
  fi
fi

.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
