#!/usr/bin/env bash
# stack.sh up | down | destroy: the whole service — private PostgreSQL and Redis, the
# API as PM2 cluster workers, nginx in front. `npm start` and `npm stop` call
# it with the run settings; the tests call it with their own ports and folder.
#
# Settings (environment): STACK_DIR, PG_PORT, REDIS_PORT, CACHE_REDIS_PORT,
# CACHE_REDIS_MAXMEMORY, APP_PORT,
# APP_INTERNAL_PORT, HTTP_PORT, INTERNAL_HTTP_PORT,
# HTTPS_PORT, WEB_CONCURRENCY, PM2_HOME; DATABASE_URL / REDIS_URL / CACHE_REDIS_URL to use
# servers that already run instead of starting private ones.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

STACK_DIR=${STACK_DIR:-$ROOT/.data/run}
PG_PORT=${PG_PORT:-54329}
REDIS_PORT=${REDIS_PORT:-63799}
# The app cache's own Redis: it may evict, the other never does.
CACHE_REDIS_PORT=${CACHE_REDIS_PORT:-63798}
APP_PORT=${APP_PORT:-3000}
HTTP_PORT=${HTTP_PORT:-8080}
# Internal listeners, loopback only: the workers' (metrics) and nginx's
# (purges, metrics). Users reach neither.
APP_INTERNAL_PORT=${APP_INTERNAL_PORT:-3001}
INTERNAL_HTTP_PORT=${INTERNAL_HTTP_PORT:-8090}
HTTPS_PORT=${HTTPS_PORT:-8443}
LOG_DIR=$STACK_DIR/logs
STATIC_ROOT=$ROOT/dist/web
ENV_FILE=$STACK_DIR/stack.env
export TODO_STACK_ENV=$ENV_FILE LOG_DIR STATIC_ROOT HTTP_PORT HTTPS_PORT APP_PORT APP_INTERNAL_PORT INTERNAL_HTTP_PORT

pm2() { npx --no-install pm2 "$@"; }

# PM2 runs cluster workers on its daemon's Node.js, not on the app's
# interpreter setting: a daemon that another Node.js started (a global pm2,
# an older checkout) is moved to ours first, its processes with it.
ensure_pm2_node() {
  local pidfile=${PM2_HOME:-$HOME/.pm2}/pm2.pid exe theirs
  [ -f "$pidfile" ] || return 0
  exe=$(readlink "/proc/$(cat "$pidfile")/exe" 2>/dev/null) || return 0
  theirs=$("$exe" --version 2>/dev/null) || return 0
  [ "$theirs" = "$(node --version)" ] && return 0
  log "PM2's daemon runs Node.js $theirs; restarting it on $(node --version) (pm2 update)"
  pm2 update >/dev/null
}

up() {
  ensure_node_modules
  ensure_packages nginx openssl curl
  mkdir -p "$STACK_DIR" "$LOG_DIR"
  # Settings already chosen by an earlier `up` (or given by the caller) win.
  local saved_db='' saved_redis='' saved_cache=''
  if [ -f "$ENV_FILE" ]; then
    saved_db=$(node scripts/stack-env.js "$ENV_FILE" EXTERNAL_DATABASE_URL)
    saved_redis=$(node scripts/stack-env.js "$ENV_FILE" EXTERNAL_REDIS_URL)
    saved_cache=$(node scripts/stack-env.js "$ENV_FILE" EXTERNAL_CACHE_REDIS_URL)
  fi
  local external_db=${DATABASE_URL:-$saved_db} external_redis=${REDIS_URL:-$saved_redis} external_cache=${CACHE_REDIS_URL:-$saved_cache}
  if [ -n "$external_db" ]; then DATABASE_URL=$external_db; else
    ensure_packages postgres
    DATABASE_URL=$(start_postgres "$STACK_DIR/pg" "$PG_PORT" todo)
  fi
  if [ -n "$external_redis" ]; then REDIS_URL=$external_redis; else
    ensure_packages redis
    REDIS_URL=$(start_redis "$STACK_DIR/redis" "$REDIS_PORT")
  fi
  if [ -n "$external_cache" ]; then CACHE_REDIS_URL=$external_cache; else
    ensure_packages redis
    CACHE_REDIS_URL=$(start_redis "$STACK_DIR/cache-redis" "$CACHE_REDIS_PORT" cache)
  fi

  # Secrets (passwords in the URLs, the cache's signing key) are never
  # readable by others, not even for a moment.
  local signing_key=$STACK_DIR/cache-signing-key
  [ -f "$signing_key" ] || (umask 077 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' >"$signing_key")
  rm -f "$ENV_FILE"
  (umask 077 && cat >"$ENV_FILE") <<ENV
# Written by scripts/stack.sh up; read by ecosystem.config.js.
DATABASE_URL=$DATABASE_URL
REDIS_URL=$REDIS_URL
CACHE_REDIS_URL=$CACHE_REDIS_URL
EXTERNAL_DATABASE_URL=$external_db
EXTERNAL_REDIS_URL=$external_redis
EXTERNAL_CACHE_REDIS_URL=$external_cache
CACHE_SIGNING_KEY=$(cat "$signing_key")
HOST=127.0.0.1
PORT=$APP_PORT
INTERNAL_PORT=$APP_INTERNAL_PORT
LOG_DIR=$LOG_DIR
LOG_LEVEL=${LOG_LEVEL:-info}
WEB_CONCURRENCY=${WEB_CONCURRENCY:-$(nproc)}
PG_POOL_MAX=${PG_POOL_MAX:-10}
EDGE_PURGE_URL=http://127.0.0.1:$INTERNAL_HTTP_PORT/_edge/purge
ENV
  # Optional app settings given to `up` are passed on to the workers.
  local name
  for name in RATE_LIMIT_PER_MINUTE LOGIN_LIMIT_PER_EMAIL LOGIN_LIMIT_PER_EMAIL_AND_IP LOGIN_LIMIT_PER_IP SIGNUP_LIMIT_PER_IP \
              CACHE_TTL_SECONDS CACHE_HARD_TTL_SECONDS EDGE_PRIVATE_TTL_SECONDS PG_STATEMENT_TIMEOUT_MS SESSION_TTL_DAYS \
              PASSWORD_SCRYPT_LOG_N PASSWORD_SCRYPT_P JOB_CONCURRENCY CLEANUP_EVERY_SECONDS; do
    [ -n "${!name:-}" ] && echo "$name=${!name}" >>"$ENV_FILE"
  done
  chmod 600 "$ENV_FILE"

  DATABASE_URL=$DATABASE_URL npx --no-install tsx app/cli/migrate.ts up >&2
  log "building"
  npm run --silent build >/dev/null
  ensure_pm2_node
  # Starts the apps, or reloads them one worker at a time if they run.
  pm2 startOrReload ecosystem.config.js --update-env >/dev/null
  render_nginx "$STACK_DIR"
  start_nginx "$STACK_DIR"
  wait_http "http://127.0.0.1:$HTTP_PORT/health/ready" 30 || die "the stack did not become ready; see $LOG_DIR"
  log "ready: http://127.0.0.1:$HTTP_PORT  https://127.0.0.1:$HTTPS_PORT  (internal: http://127.0.0.1:$INTERNAL_HTTP_PORT/metrics; logs: $LOG_DIR; stop: npm stop)"
}

down() {
  if [ -f "$ENV_FILE" ]; then
    pm2 delete ecosystem.config.js >/dev/null 2>&1 || true
    # The PM2 daemon goes too when it has nothing else to run.
    if ! pm2 jlist 2>/dev/null | grep -q '"name"'; then pm2 kill >/dev/null 2>&1 || true; fi
  fi
  stop_nginx "$STACK_DIR"
  stop_redis "$STACK_DIR/redis" "$REDIS_PORT"
  stop_redis "$STACK_DIR/cache-redis" "$CACHE_REDIS_PORT"
  stop_postgres "$STACK_DIR/pg"
  log "stopped"
}

# destroy: down, then remove the stack's folder and data (the benchmark's
# throw-away stack).
destroy() {
  down
  rm -rf "$(pg_datadir "$STACK_DIR/pg")" "$STACK_DIR"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  destroy) destroy ;;
  *) die "usage: stack.sh up|down|destroy" ;;
esac
