#!/usr/bin/env bash
# npm test [-- FILE_OR_FOLDER...]: every test against real servers. Starts
# private PostgreSQL and Redis on test ports with throw-away data (unless
# DATABASE_URL / REDIS_URL name running ones), and stops them afterwards.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

TEST_DATA="$ROOT/.data/test"
PG_PORT=${TEST_PG_PORT:-54339}
REDIS_PORT=${TEST_REDIS_PORT:-63809}
started_pg= started_redis=

cleanup() {
  local rc=$?
  [ -n "$started_pg" ] && stop_postgres "$TEST_DATA/pg"
  [ -n "$started_redis" ] && stop_redis "$TEST_DATA/redis" "$REDIS_PORT"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_node_modules
if [ -z "${DATABASE_URL:-}" ]; then
  ensure_packages postgres
  stop_postgres "$TEST_DATA/pg"
  rm -rf "$(pg_datadir "$TEST_DATA/pg")" "$TEST_DATA/pg-password"
  started_pg=1
  DATABASE_URL=$(start_postgres "$TEST_DATA/pg" "$PG_PORT" todo_test fast)
fi
if [ -z "${REDIS_URL:-}" ]; then
  ensure_packages redis
  stop_redis "$TEST_DATA/redis" "$REDIS_PORT"
  started_redis=1
  REDIS_URL=$(start_redis "$TEST_DATA/redis" "$REDIS_PORT" fast)
fi
export DATABASE_URL REDIS_URL NODE_ENV=test LOG_LEVEL=${LOG_LEVEL:-silent}

log "type-checking"
npx --no-install tsc --noEmit -p tests
log "migrating the test database"
npx --no-install tsx app/cli/migrate.ts up >&2

mapfile -t files < <(find "${@:-tests}" -name '*.test.ts' | sort)
[ ${#files[@]} -gt 0 ] || die "no test files under: ${*:-tests}"
log "running ${#files[@]} test files"
node --import tsx --test --test-concurrency=2 --test-timeout=120000 --test-reporter=spec "${files[@]}"
