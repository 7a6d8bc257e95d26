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

# The browser tests drive Debian's Chromium through its ChromeDriver (no browser download).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "test: installing chromium and chromium-driver for the browser tests"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# The fix-up workbook is rendered as district staff print it: LibreOffice Calc to PDF, poppler to text and PNG.
if ! command -v soffice >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
  echo "test: installing libreoffice-calc and poppler-utils for the workbook rendering test"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    libreoffice-calc poppler-utils >/dev/null
fi
# The Celery tests use the local Redis as broker (it keeps nothing on disk).
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if ! command -v redis-server >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
  fi
  echo "test: starting the local Redis server"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
fi

# The ODBC tests use a real MariaDB server (Debian's mariadb service): start it, or install it.
if ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    echo "test: installing mariadb-server for the ODBC tests"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mariadb-server >/dev/null
  fi
  echo "test: starting the local MariaDB server"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd 2>/dev/null \
    || $SUDO service mariadb start || true
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 1; done
  # The tests sign in as root over TCP with no password (as on the CI machines); a fresh Debian
  # install lets root in over its socket only.
  $SUDO mariadb -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')" \
    2>/dev/null || true
fi

# The habits that help the next person: ruff (lint and import order) on everything, mypy on the layers
# below the orchestrator (pyproject.toml says which). Either failing fails the run.
echo "test: ruff and mypy"
.venv/bin/ruff check . || exit 1
.venv/bin/mypy || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
