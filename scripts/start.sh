#!/usr/bin/env bash
# npm start: installs what is missing, starts private PostgreSQL and Redis,
# migrates, builds and serves the API until Ctrl-C, then stops what it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

RUN_DATA="$ROOT/.data/run"
PG_PORT=${PG_PORT:-54329}
REDIS_PORT=${REDIS_PORT:-63799}
started_pg= started_redis= server=

cleanup() {
  trap - EXIT INT TERM
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -INT "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  [ -n "$started_pg" ] && stop_postgres "$RUN_DATA/pg"
  [ -n "$started_redis" ] && stop_redis "$RUN_DATA/redis" "$REDIS_PORT"
  exit 0
}
trap cleanup EXIT INT TERM

ensure_node_modules
if [ -z "${DATABASE_URL:-}" ]; then
  ensure_packages postgres
  started_pg=1
  DATABASE_URL=$(start_postgres "$RUN_DATA/pg" "$PG_PORT" todo)
fi
if [ -z "${REDIS_URL:-}" ]; then
  ensure_packages redis
  started_redis=1
  REDIS_URL=$(start_redis "$RUN_DATA/redis" "$REDIS_PORT")
fi
export DATABASE_URL REDIS_URL NODE_ENV=${NODE_ENV:-production}

npx --no-install tsx app/cli/migrate.ts up >&2
log "building"
npx --no-install tsc -p .
log "serving http://${HOST:-127.0.0.1}:${PORT:-3000} (Ctrl-C stops everything)"
node dist/server.js &
server=$!
wait "$server"
