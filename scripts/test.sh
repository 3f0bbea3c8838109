#!/usr/bin/env bash
# npm test [-- FILE_OR_FOLDER...]: every test against real servers. Starts
# private PostgreSQL and Redis on test ports with throw-away data (unless
# DATABASE_URL / REDIS_URL name running ones) and, for tests/stack and
# tests/browser, the whole stack (PM2 with its own PM2_HOME, nginx) on test
# ports; stops all of it afterwards.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

TEST_DATA=${TEST_DATA_DIR:-$ROOT/.data/test}
PG_PORT=${TEST_PG_PORT:-54339}
REDIS_PORT=${TEST_REDIS_PORT:-63809}
CACHE_REDIS_PORT=${TEST_CACHE_REDIS_PORT:-63808}
PROMETHEUS_PORT=${TEST_PROMETHEUS_PORT:-19090}
started_pg='' started_redis='' started_cache_redis='' started_stack='' lint_pid=''

# The test stack: same scripts as `npm start`, other ports and folders, so
# tests can run while the real stack is up.
stack() {
  STACK_DIR="$TEST_DATA/stack" APP_PORT=${TEST_APP_PORT:-13000} HTTP_PORT=${TEST_HTTP_PORT:-18080} \
    APP_INTERNAL_PORT=${TEST_APP_INTERNAL_PORT:-13001} INTERNAL_HTTP_PORT=${TEST_INTERNAL_HTTP_PORT:-18090} \
    HTTPS_PORT=${TEST_HTTPS_PORT:-18443} PM2_HOME="$TEST_DATA/pm2" WEB_CONCURRENCY=2 LOG_LEVEL=info \
    PROMETHEUS=$needs_prometheus PROMETHEUS_PORT=$PROMETHEUS_PORT PROMETHEUS_SCRAPE_INTERVAL=2s \
    bash "$ROOT/scripts/stack.sh" "$@"
}

cleanup() {
  local rc=$?
  [ -n "$lint_pid" ] && kill "$lint_pid" 2>/dev/null
  [ -n "$started_stack" ] && stack down
  [ -n "$started_pg" ] && stop_postgres "$TEST_DATA/pg"
  [ -n "$started_redis" ] && stop_redis "$TEST_DATA/redis" "$REDIS_PORT"
  [ -n "$started_cache_redis" ] && stop_redis "$TEST_DATA/cache-redis" "$CACHE_REDIS_PORT"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mapfile -t files < <(find "${@:-tests}" -name '*.test.ts' | sort)
full_run=''
[ $# -eq 0 ] && full_run=1
[ ${#files[@]} -gt 0 ] || die "no test files under: ${*:-tests}"
needs_stack='' needs_browser='' needs_prometheus=''
# Not `grep -q` in a pipe: under pipefail its early exit can fail the pipe.
for f in "${files[@]}"; do
  case $f in
    tests/browser/*) needs_stack=1 needs_browser=1 ;;
    tests/stack/*) needs_stack=1 ;;
  esac
  # Only the test that asks for it: its scrapes would otherwise load the others.
  if [ "$f" = tests/stack/prometheus.test.ts ]; then needs_prometheus=1; fi
done

ensure_node_modules
# Static checks (types, lint, format, shell, nginx -t) run while the servers
# start, and a finding fails the run before any test. Their packages come
# first, so two package installs never run at once.
ensure_packages nginx openssl shellcheck prometheus
mkdir -p "$TEST_DATA"
bash "$ROOT/scripts/lint.sh" >"$TEST_DATA/lint.log" 2>&1 &
lint_pid=$!
if [ -z "${DATABASE_URL:-}" ]; then
  ensure_packages postgres
  stop_postgres "$TEST_DATA/pg"
  rm -rf "$(pg_datadir "$TEST_DATA/pg")" "$TEST_DATA/pg-password"
  started_pg=1
  DATABASE_URL=$(start_postgres "$TEST_DATA/pg" "$PG_PORT" todo_test fast)
  # The import fault tests restart this private instance.
  export TEST_PG_DIR="$TEST_DATA/pg"
fi
if [ -z "${REDIS_URL:-}" ]; then
  ensure_packages redis
  stop_redis "$TEST_DATA/redis" "$REDIS_PORT"
  started_redis=1
  REDIS_URL=$(start_redis "$TEST_DATA/redis" "$REDIS_PORT" fast)
  # The Redis-outage tests stop and restart this private instance.
  export TEST_REDIS_DIR="$TEST_DATA/redis" TEST_REDIS_PORT=$REDIS_PORT
fi
if [ -z "${CACHE_REDIS_URL:-}" ]; then
  ensure_packages redis
  stop_redis "$TEST_DATA/cache-redis" "$CACHE_REDIS_PORT"
  started_cache_redis=1
  # Small, so the test that fills it (tests/stack/redis-fill.test.ts) is quick.
  CACHE_REDIS_URL=$(CACHE_REDIS_MAXMEMORY=${TEST_CACHE_REDIS_MAXMEMORY:-16mb} start_redis "$TEST_DATA/cache-redis" "$CACHE_REDIS_PORT" cache)
  export TEST_CACHE_REDIS_DIR="$TEST_DATA/cache-redis" TEST_CACHE_REDIS_PORT=$CACHE_REDIS_PORT
fi
export DATABASE_URL REDIS_URL CACHE_REDIS_URL NODE_ENV=test LOG_LEVEL=${LOG_LEVEL:-silent}
# Most tests sign up or log in, the stack's tests included: at the
# production scrypt cost each costs about 0.3 s of CPU. The tests of the
# cost itself start the app with its defaults (tests/accounts/passwords.test.ts).
export PASSWORD_SCRYPT_LOG_N=${PASSWORD_SCRYPT_LOG_N:-10} PASSWORD_SCRYPT_P=${PASSWORD_SCRYPT_P:-1}
# Hundreds of sign-ups from 127.0.0.1 and load tests from one user: the limit
# tests turn the limits on for themselves.
export RATE_LIMIT_PER_MINUTE=${RATE_LIMIT_PER_MINUTE:-0} LOGIN_LIMIT_PER_IP=${LOGIN_LIMIT_PER_IP:-1000000} \
  SIGNUP_LIMIT_PER_IP=${SIGNUP_LIMIT_PER_IP:-1000000}

log "migrating the test database"
npx --no-install tsx app/cli/migrate.ts up >&2

[ -n "$needs_browser" ] && ensure_packages chromium
if [ -n "$needs_stack" ]; then
  ensure_packages wrk
  rm -rf "$TEST_DATA/stack/logs" "$TEST_DATA/stack/stack.env"
  started_stack=1
  stack up
  export STACK_DIR="$TEST_DATA/stack" PM2_HOME="$TEST_DATA/pm2" TODO_STACK_ENV="$TEST_DATA/stack/stack.env" \
    STACK_HTTP_URL="http://127.0.0.1:${TEST_HTTP_PORT:-18080}" STACK_HTTPS_URL="https://127.0.0.1:${TEST_HTTPS_PORT:-18443}" \
    STACK_INTERNAL_URL="http://127.0.0.1:${TEST_INTERNAL_HTTP_PORT:-18090}"
  [ -n "$needs_prometheus" ] && export STACK_PROMETHEUS_URL="http://127.0.0.1:$PROMETHEUS_PORT"
fi

wait "$lint_pid" && lint_rc=0 || lint_rc=$?
lint_pid=''
cat "$TEST_DATA/lint.log" >&2
[ "$lint_rc" -eq 0 ] || die "static checks failed (above); no test was run"

log "running ${#files[@]} test files"
# Every answer the tests receive is recorded (tests/helpers/record-responses.ts)
# and, after them, held against the API description.
export API_RECORD_DIR="$TEST_DATA/api-responses"
rm -rf "$API_RECORD_DIR"
# One file at a time: load, outage and counting tests must not disturb each
# other. All in this one process: a process per file costs about 1 s of CPU
# each (Node's start and loading the app through tsx), over 90 files.
node --import tsx --import ./tests/helpers/record-responses.ts --test --test-isolation=none --test-concurrency=1 \
  --test-timeout=180000 --test-reporter=spec "${files[@]}" && tests_rc=0 || tests_rc=$?
# Only a run of every file can tell that each operation was reached.
npx --no-install tsx scripts/check-api-responses.ts ${full_run:+--full} && check_rc=0 || check_rc=$?
[ "$tests_rc" -eq 0 ] || die "tests failed"
[ "$check_rc" -eq 0 ] || die "answers differ from the API description (above)"
