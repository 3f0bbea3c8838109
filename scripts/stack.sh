#!/usr/bin/env bash
# stack.sh up | down | destroy: the whole service — private PostgreSQL and Redis, the
# API as PM2 cluster workers, nginx in front. `npm start` and `npm stop` call
# it with the run settings; the tests call it with their own ports and folder.
#
# Settings (environment): STACK_DIR, PG_PORT, REDIS_PORT, CACHE_REDIS_PORT,
# CACHE_REDIS_MAXMEMORY, APP_PORT,
# APP_INTERNAL_PORT, HTTP_PORT, INTERNAL_HTTP_PORT,
# HTTPS_PORT, WEB_CONCURRENCY, PM2_HOME; DATABASE_URL / REDIS_URL / CACHE_REDIS_URL to use
# servers that already run instead of starting private ones; nginx's
# TRUSTED_PROXIES, HTTPS_REDIRECT, CORS_ORIGINS and NGINX_LIMIT_* (render_nginx);
# PROMETHEUS=1 for a private Prometheus (PROMETHEUS_PORT, PROMETHEUS_SCRAPE_INTERVAL).
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
ENV_FILE=$STACK_DIR/stack.env
RELEASE_DIR=''
export TODO_STACK_ENV=$ENV_FILE HTTP_PORT HTTPS_PORT APP_PORT APP_INTERNAL_PORT INTERNAL_HTTP_PORT

# PM2 runs from the release once there is one: its daemon, and so the workers
# it starts, then use files the service user can read (a fork-mode app loads
# PM2's process container as that user). What the daemon writes (its own log,
# a fork-mode app's logs, a dump with the apps' settings) is not for others.
pm2() {
  if [ -n "$RELEASE_DIR" ] && [ -x "$RELEASE_DIR/node_modules/.bin/pm2" ]; then
    (umask 027 && PATH="$RELEASE_DIR/node_modules/.bin:$PATH" "$RELEASE_DIR/node_modules/.bin/pm2" "$@")
  else
    npx --no-install pm2 "$@"
  fi
}

# PM2 runs cluster workers on its daemon's Node.js, not on the app's
# interpreter setting: a daemon that runs from anywhere but the release (a
# global pm2, the checkout, another Node.js) is moved there first, its
# processes with it. A daemon started from an earlier release is fine: the
# release's path stays, and the earlier one shows as release.next.*.old.
ensure_pm2_node() {
  local pidfile=${PM2_HOME:-$HOME/.pm2}/pm2.pid pid exe theirs release
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 0
  theirs=$("/proc/$pid/exe" --version 2>/dev/null) || return 0
  release="$(cd "$(dirname "$RELEASE_DIR")" && pwd -P)/$(basename "$RELEASE_DIR")"
  if [ "$theirs" = "$(node --version)" ] && [[ $exe == "$release"/* || $exe == "$release".next.* ]]; then return 0; fi
  log "PM2's daemon runs ${exe% (deleted)} ($theirs); restarting it from the release (pm2 update)"
  pm2 update >/dev/null
}

# The log folder is root's (nginx's master and PM2's daemon write there as
# root, and must not follow a link the service planted), open to the
# service's group only. Cluster workers open their own log files after
# becoming the service user, so those files are made for them.
prepare_logs() {
  local user=$1 file
  mkdir -p "$LOG_DIR"
  if [ "$(id -u)" = 0 ]; then chown "root:$(id -gn "$user")" "$LOG_DIR"; fi
  chmod 750 "$LOG_DIR"
  node -e 'for (const a of require(process.argv[1]).apps) for (const f of [a.out_file, a.error_file]) if (f) console.log(f)' \
    "$ROOT/ecosystem.config.js" | while read -r file; do
    (umask 027 && touch "$file")
    if [ "$(id -u)" = 0 ]; then chown "$user:" "$file"; fi
  done
  # Files an earlier version made readable by all.
  chmod -R o-rwx "$LOG_DIR"
}

up() {
  ensure_node_modules
  # A malformed CORS_ORIGINS fails the start before anything starts or reloads.
  cors_map >/dev/null
  ensure_packages nginx openssl curl
  mkdir -p "$STACK_DIR"
  local user; user=$(service_user)
  LOG_DIR=$(reachable_dir "$user" "$STACK_DIR/logs")
  RELEASE_DIR=$(reachable_dir "$user" "$STACK_DIR/release")
  STATIC_ROOT=$RELEASE_DIR/dist/web
  export LOG_DIR STATIC_ROOT
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
DATA_DIR=$STACK_DIR
RELEASE_DIR=$RELEASE_DIR
ENV
  # As root, the apps run as the service user (ecosystem.config.js).
  if [ "$(id -u)" = 0 ]; then echo "SERVICE_USER=$user" >>"$ENV_FILE"; fi
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
  make_release "$RELEASE_DIR"
  # PM2's folder holds its log and any `pm2 save` dump, the apps' settings
  # (passwords) among them; an earlier daemon left it open to all.
  mkdir -p "${PM2_HOME:-$HOME/.pm2}" && chmod -R o-rwx "${PM2_HOME:-$HOME/.pm2}"
  ensure_pm2_node
  prepare_logs "$user"
  # Starts the apps, or reloads them one worker at a time if they run.
  pm2 startOrReload ecosystem.config.js --update-env >/dev/null
  drop_old_releases "$RELEASE_DIR"
  render_nginx "$STACK_DIR"
  start_nginx "$STACK_DIR"
  wait_http "http://127.0.0.1:$HTTP_PORT/health/ready" 30 || die "the stack did not become ready; see $LOG_DIR"
  if [ "${PROMETHEUS:-}" = 1 ]; then
    ensure_packages prometheus
    start_prometheus "$STACK_DIR/prometheus" "${PROMETHEUS_PORT:-9090}" "127.0.0.1:$INTERNAL_HTTP_PORT" "${PROMETHEUS_SCRAPE_INTERVAL:-15s}"
  fi
  log "ready: http://127.0.0.1:$HTTP_PORT  https://127.0.0.1:$HTTPS_PORT  (internal: http://127.0.0.1:$INTERNAL_HTTP_PORT/metrics; logs: $LOG_DIR; stop: npm stop)"
}

down() {
  if [ -f "$ENV_FILE" ]; then
    pm2 delete ecosystem.config.js >/dev/null 2>&1 || true
    # The PM2 daemon goes too when it has nothing else to run.
    # (grep reads it all: with -q, its early exit could fail the pipe under
    # pipefail and kill a daemon that still runs other apps.)
    if ! pm2 jlist 2>/dev/null | grep '"name"' >/dev/null; then pm2 kill >/dev/null 2>&1 || true; fi
  fi
  stop_prometheus "$STACK_DIR/prometheus"
  stop_nginx "$STACK_DIR"
  stop_redis "$STACK_DIR/redis" "$REDIS_PORT"
  stop_redis "$STACK_DIR/cache-redis" "$CACHE_REDIS_PORT"
  stop_postgres "$STACK_DIR/pg"
  log "stopped"
}

# destroy: down, then remove the stack's folder and data (the benchmark's
# throw-away stack), with the private folders made for it elsewhere.
destroy() {
  down
  local record dir
  for record in "$STACK_DIR"/*.location "$STACK_DIR/pg.socket"; do
    dir=$(cat "$record" 2>/dev/null) || continue
    case $dir in /var/tmp/todo-stack-*|/tmp/todo-stack-*) rm -rf "$dir" ;; esac
  done
  rm -rf "$STACK_DIR"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  destroy) destroy ;;
  *) die "usage: stack.sh up|down|destroy" ;;
esac
