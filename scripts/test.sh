#!/usr/bin/env bash
# Install what the tests need, start a throwaway PostgreSQL server, and run the whole
# suite twice (SQLite, then PostgreSQL), plus ruff and mypy. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. Python packages, pinned in pyproject.toml.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'

# 2. A PostgreSQL server from Debian's packages.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ]; then
  echo "installing PostgreSQL from Debian's packages"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql >/dev/null
fi
PGBIN="$(pg_bin)"

# 3. Debian's Chromium for the Mini App's browser tests (tests/browser), driven by Playwright
# (its pip wheel carries its driver: no browser download, no chromium-driver), and CJK fonts so
# that its Chinese screenshots show Chinese.
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  echo "installing Chromium and CJK fonts from Debian's packages"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium fonts-noto-cjk >/dev/null
fi
PGDATA="$(mktemp -d /tmp/salesbot-pg.XXXXXX)"
RUN=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root; Debian's package created the 'postgres' user.
  chown postgres "$PGDATA"
  RUN=(runuser -u postgres --)
fi
PORT="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${RUN[@]}" "$PGBIN/initdb" -D "$PGDATA/data" -U salesbot --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
PG_CTL=("${RUN[@]}" "$PGBIN/pg_ctl" -D "$PGDATA/data")
PG_START=("${PG_CTL[@]}" -l "$PGDATA/server.log" -w
  -o "-p $PORT -k $PGDATA -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start)
"${PG_START[@]}" >/dev/null
stop_pg() { "${PG_CTL[@]}" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGDATA"; }
trap stop_pg EXIT
"$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U salesbot salesbot_test

# 4. Lint and types.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy bot botapi_standin

# 5. The suite on SQLite, then on PostgreSQL.
echo "== tests on SQLite =="
.venv/bin/pytest -q -p no:cacheprovider "$@"
echo "== tests on PostgreSQL =="
# The outage tests (tests/e2e/test_database_outage.py, tests/integration/test_transient_errors.py)
# stop this server mid-conversation and start it again, with exactly these two commands
# (shell-quoted; `pg_ctl start` needs its options again, only `restart` reads them back).
# Tests run one at a time and each disposes its engine, so the tests after them only see
# a server that is up. Without these variables those tests are skipped.
SALESBOT_TEST_DATABASE_URL="postgresql+asyncpg://salesbot@127.0.0.1:$PORT/salesbot_test" \
SALESBOT_TEST_PG_STOP="$(printf '%q ' "${PG_CTL[@]}" -m fast -w stop)" \
SALESBOT_TEST_PG_START="$(printf '%q ' "${PG_START[@]}")" \
  .venv/bin/pytest -q -p no:cacheprovider "$@"
