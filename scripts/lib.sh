# Shared set-up for the run, stop, test and bench commands: installs what is
# missing and runs private PostgreSQL and Redis instances on the project's own
# ports and data folders, never the machine's default services.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BROTLI_MODULE=/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so
PURGE_MODULE=/usr/lib/nginx/modules/ngx_http_cache_purge_module.so
JS_MODULE=/usr/lib/nginx/modules/ngx_http_js_module.so

log() { printf '\033[1m[todo-stack]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=scripts/unprivileged.sh
source "$ROOT/scripts/unprivileged.sh"

# --- packages ----------------------------------------------------------------

APT_UPDATED=
apt_install() {
  [ "$(id -u)" = 0 ] || die "missing Debian packages ($*); run as root or install them: apt-get install $*"
  if [ -z "$APT_UPDATED" ]; then
    log "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "installing $*"
  # Keep the packages' own services from starting on the default ports: we
  # run private instances instead.
  local policy=/usr/sbin/policy-rc.d created=
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
  # Under set -e a failing install would exit here and leave the policy
  # behind, and every service installed later on this machine would refuse
  # to start: catch the status instead.
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  if [ -n "$created" ]; then rm -f "$policy"; fi
  [ $rc = 0 ] || die "apt-get install $* failed"
}

pg_bindir() { printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -n 1; }

# ensure_packages postgres redis nginx chromium wrk prometheus …: installs the ones missing.
ensure_packages() {
  local want=() what
  for what in "$@"; do
    case $what in
      postgres) [ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/postgres" ] || want+=(postgresql postgresql-contrib) ;;
      redis) command -v redis-server >/dev/null || want+=(redis-server) ;;
      nginx)
        command -v nginx >/dev/null || want+=(nginx)
        [ -f "$BROTLI_MODULE" ] || want+=(libnginx-mod-http-brotli-filter)
        [ -f "$PURGE_MODULE" ] || want+=(libnginx-mod-http-cache-purge)
        [ -f "$JS_MODULE" ] || want+=(libnginx-mod-http-js) ;;
      chromium) command -v chromium >/dev/null || want+=(chromium) ;;
      wrk) command -v wrk >/dev/null || want+=(wrk) ;;
      openssl) command -v openssl >/dev/null || want+=(openssl) ;;
      curl) command -v curl >/dev/null || want+=(curl ca-certificates) ;;
      shellcheck) command -v shellcheck >/dev/null || want+=(shellcheck) ;;
      prometheus) command -v prometheus >/dev/null && command -v promtool >/dev/null || want+=(prometheus) ;;
    esac
  done
  [ ${#want[@]} = 0 ] || apt_install "${want[@]}"
}

ensure_node_modules() {
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm packages (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  fi
  use_project_node
}

# The project runs on the Node.js it pins (the `node` package in
# package.json), whatever `node` the machine has: first on the PATH for
# everything these scripts start, PM2's daemon and workers included.
use_project_node() {
  export PATH="$ROOT/node_modules/.bin:$PATH"
  local wanted have
  wanted=$(node -p 'require(process.argv[1]).engines.node' "$ROOT/package.json")
  have=$(node --version)
  node -e '
    const [wanted, have] = process.argv.slice(1);
    const min = /^>=(\d+)/.exec(wanted);
    process.exit(min && Number(have.slice(1).split(".")[0]) >= Number(min[1]) ? 0 : 1);
  ' "$wanted" "$have" || die "Node.js $have is too old: this project needs $wanted (npm ci installs it into node_modules; is node_modules/.bin/node there?)"
}

# --- PostgreSQL ---------------------------------------------------------------

# as_postgres CMD...: PostgreSQL refuses to run as root.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The data folder must be reachable by the postgres user (reachable_dir).
pg_datadir() { reachable_dir postgres "$1"; }

# start_postgres DIR PORT DBNAME [durable|fast]: prints the DATABASE_URL.
start_postgres() {
  local dir port=$2 db=$3 mode=${4:-durable} bin
  bin=$(pg_bindir)
  dir=$(pg_datadir "$1")
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir" && chmod 700 "$dir"
  local pwfile="$dir/../pg-password"
  if [ ! -f "$dir/PG_VERSION" ]; then
    log "initialising PostgreSQL in $dir"
    (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$pwfile")
    local su_pw; su_pw=$(mktemp); head -c 18 /dev/urandom | base64 >"$su_pw"
    [ "$(id -u)" = 0 ] && chown postgres: "$su_pw"
    rm -f "$dir.initdb.log"
    (umask 077 && as_postgres "$bin/initdb" -D "$dir" -U postgres --pwfile="$su_pw" --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1) || { rm -f "$su_pw"; die "initdb failed: see $dir.initdb.log"; }
    rm -f "$su_pw"
  fi
  # An earlier version left it readable by all.
  chmod -f go-rwx "$dir.initdb.log" || true
  # Unix socket paths are limited to ~100 bytes.
  local sock=$dir
  if [ ${#sock} -ge 90 ]; then
    sock=$(private_dir "$dir/../pg.socket" /tmp/todo-stack-pg.XXXXXXXX)/s
    mkdir -p "$sock"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$sock"; chmod 700 "$sock"; fi
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    local extra=()
    # Tests throw their data away: skip the disk syncs that make writes durable.
    [ "$mode" = fast ] && extra=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    log "starting PostgreSQL on 127.0.0.1:$port"
    as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$sock -c max_connections=100 \
          -c shared_preload_libraries=pg_stat_statements ${extra[*]}" start >/dev/null \
      || die "PostgreSQL did not start: see $dir/server.log"
  fi
  local pw; pw=$(cat "$pwfile")
  as_postgres "$bin/psql" -h "$sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt >/dev/null <<SQL || die "could not create the database role"
SELECT format('CREATE ROLE todo LOGIN CREATEDB PASSWORD %L', '$pw') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'todo') \gexec
SELECT format('CREATE DATABASE %I OWNER todo', '$db') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \gexec
SET client_min_messages = warning;
\c $db
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SQL
  echo "postgres://todo:$pw@127.0.0.1:$port/$db"
}

stop_postgres() {
  local dir; dir=$(pg_datadir "$1")
  [ -f "$dir/postmaster.pid" ] || return 0
  log "stopping PostgreSQL ($dir)"
  as_postgres "$(pg_bindir)/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

# --- Redis -----------------------------------------------------------------------

# Each private Redis runs as the service user in a folder of its own (mode
# 700) with its password (redis-password, made once), a config file that
# holds it (never a command line), its log and its append-only file, all
# made by that user with mode 600. Root works in the folder only as that user.
redis_password() {
  local file=$1/redis-password
  as_service test -f "$file" || head -c 18 /dev/urandom | base64 | tr '+/' '-_' | service_write "$file"
  as_service cat "$file"
}

# redis_auth PORT PASSWORD REDIS-CLI-ARGS...
redis_auth() { REDISCLI_AUTH=$2 redis-cli --no-auth-warning -p "$1" "${@:3}" 2>/dev/null; }

# start_redis DIR PORT [durable|fast|cache]: prints the REDIS_URL.
#   durable: append-only file, never evicts (limits, copy lists, queues);
#   fast: the same without the file (tests throw their data away);
#   cache: no file; evicts only keys that expire (every cache key does),
#   within CACHE_REDIS_MAXMEMORY (256mb).
start_redis() {
  local dir port=$2 mode=${3:-durable} pw reply user owner _
  user=$(service_user)
  dir=$(reachable_dir "$user" "$1")
  service_dir "$dir"
  pw=$(redis_password "$dir")
  # A server already on the port is used only if it is this one: it must
  # ask for a password, and take ours.
  reply=$(redis-cli -p "$port" ping 2>/dev/null || true)
  [ "$reply" = PONG ] && die "a Redis on 127.0.0.1:$port answers without a password; refusing to use it (stop it, or name a server in REDIS_URL)"
  if [ -n "$reply" ] && [ "$(redis_auth "$port" "$pw" ping)" != PONG ]; then
    die "the Redis on 127.0.0.1:$port is not this stack's (it refuses $dir/redis-password)"
  fi
  # One that an earlier version started as root is started again as the
  # service user (the append-only file keeps the durable one's data).
  if [ -n "$reply" ]; then
    owner=$(stat -c %U "/proc/$(redis_auth "$port" "$pw" info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p')")
    if [ "$owner" != "$user" ]; then
      log "restarting Redis on 127.0.0.1:$port as $user (it ran as $owner)"
      redis_auth "$port" "$pw" shutdown >/dev/null || true
      for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 || break; sleep 0.1; done
      service_dir "$dir"
      reply=''
    fi
  fi
  if [ -z "$reply" ]; then
    local settings=(--appendonly yes --appendfsync everysec --maxmemory 512mb --maxmemory-policy noeviction)
    [ "$mode" = fast ] && settings=(--appendonly no --maxmemory 512mb --maxmemory-policy noeviction)
    [ "$mode" = cache ] && settings=(--appendonly no --maxmemory "${CACHE_REDIS_MAXMEMORY:-256mb}" --maxmemory-policy volatile-lru)
    printf 'requirepass %s\n' "$pw" | service_write "$dir/redis.conf"
    log "starting Redis ($mode) on 127.0.0.1:$port as $user"
    as_service sh -c 'umask 077 && exec "$@"' sh redis-server "$dir/redis.conf" --bind 127.0.0.1 --port "$port" --dir "$dir" \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' "${settings[@]}" >/dev/null \
      || die "Redis did not start: see $dir/redis.log"
    for _ in $(seq 50); do
      [ "$(redis_auth "$port" "$pw" ping)" = PONG ] && break
      sleep 0.1
    done
  fi
  echo "redis://:$pw@127.0.0.1:$port"
}

stop_redis() {
  local dir port=$2
  dir=$(reachable_dir "$(service_user)" "$1")
  [ -f "$dir/redis.pid" ] || return 0
  log "stopping Redis (127.0.0.1:$port)"
  service_dir "$dir"
  redis_auth "$port" "$(as_service cat "$dir/redis-password" 2>/dev/null)" shutdown nosave >/dev/null \
    || as_service kill "$(as_service cat "$dir/redis.pid")" 2>/dev/null || true
  as_service rm -f "$dir/redis.pid"
}

# --- Prometheus (opt-in: PROMETHEUS=1) -----------------------------------------

# start_prometheus DIR PORT TARGET INTERVAL: a private Prometheus as the
# service user, its data in DIR, scraping TARGET (nginx's internal listener,
# which merges every worker: one target, whatever PM2 scales or reloads) and
# evaluating the project's alert rules. Restarted when it runs, so a changed
# interval or rule file takes effect.
start_prometheus() {
  local dir port=$2 target=$3 interval=$4 user _
  user=$(service_user)
  dir=$(reachable_dir "$user" "$1")
  stop_prometheus "$1"
  service_dir "$dir"
  as_service mkdir -p "$dir/data"
  # The rules as this release has them; the checkout may be closed to the service user.
  service_write "$dir/alerts.yml" <"$ROOT/ops/prometheus/alerts.yml"
  service_write "$dir/prometheus.yml" <<YAML
# Written by scripts/stack.sh up (PROMETHEUS=1); see docs/visibility.md.
global:
  scrape_interval: $interval
  evaluation_interval: $interval
rule_files:
  - $dir/alerts.yml
scrape_configs:
  - job_name: todo-stack
    static_configs:
      - targets: ['$target']
YAML
  log "starting Prometheus on 127.0.0.1:$port as $user (scraping $target every $interval)"
  # shellcheck disable=SC2016 # $0 and $@ are the inner shell's.
  as_service sh -c 'umask 077 && { setsid "$@" >>"$0/prometheus.log" 2>&1 </dev/null & echo $! >"$0/prometheus.pid"; }' "$dir" \
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=15d
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "Prometheus did not start: see $dir/prometheus.log"
}

stop_prometheus() {
  local dir pid _
  # Never started here: nothing to stop, and no folder to make for it.
  [ -e "$1" ] || [ -e "$1.location" ] || return 0
  dir=$(reachable_dir "$(service_user)" "$1")
  [ -f "$dir/prometheus.pid" ] || return 0
  pid=$(as_service cat "$dir/prometheus.pid")
  if as_service kill "$pid" 2>/dev/null; then
    log "stopping Prometheus ($dir)"
    for _ in $(seq 100); do as_service kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  as_service rm -f "$dir/prometheus.pid"
}

# --- nginx ---------------------------------------------------------------------


# contract NAME: one value of app/nginx-contract.json.
contract() {
  node -e 'const v = require(process.argv[1])[process.argv[2]]; if (v === undefined) process.exit(1); console.log(v)' \
    "$ROOT/app/nginx-contract.json" "$1" || die "app/nginx-contract.json has no $1"
}

# cors_map: CORS_ORIGINS (comma-separated origins, empty by default) as the
# entries of nginx's map (snippets/cors-origins.conf); dies naming an entry
# that is not an origin, so a typo fails the start instead of a browser.
cors_map() {
  local entries
  entries=$(node "$ROOT/scripts/cors-origins.js" "${CORS_ORIGINS:-}") || die "$entries"
  printf '%s' "$entries"
}

# render_nginx RUN_DIR: fills in nginx/ for this machine into RUN_DIR/nginx.
# Reads HTTP_PORT HTTPS_PORT APP_PORT INTERNAL_HTTP_PORT APP_INTERNAL_PORT
# STATIC_ROOT LOG_DIR (and the optional settings below) from the environment.
render_nginx() {
  local run=$1 conf=$1/nginx user group modules='' brotli='' brotli_off='' tmp cache
  # The master stays root (it binds the ports and reads the TLS key); the
  # workers run as the service user, in temp and cache folders of their own.
  user=$(service_user)
  group=$(id -gn "$user")
  tmp=$(reachable_dir "$user" "$run/tmp")
  cache=$(reachable_dir "$user" "$run/cache")
  mkdir -p "$conf" "$run/tls" "$LOG_DIR"
  service_dir "$tmp"
  service_dir "$cache"
  as_service test -r "$STATIC_ROOT/index.html" || die "nginx's workers ($user) cannot read $STATIC_ROOT/index.html"
  if [ -f "$BROTLI_MODULE" ]; then
    modules="load_module $BROTLI_MODULE;"
    brotli="include $conf/snippets/brotli.conf;"
    brotli_off='brotli off;'
  fi
  [ -f "$PURGE_MODULE" ] || die "nginx's cache purge module is missing: apt-get install libnginx-mod-http-cache-purge"
  modules="$modules load_module $PURGE_MODULE;"
  [ -f "$JS_MODULE" ] || die "nginx's JavaScript module is missing: apt-get install libnginx-mod-http-js"
  modules="$modules load_module $JS_MODULE;"
  if [ ! -f "$run/tls/cert.pem" ]; then
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
      -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$run/tls/key.pem" -out "$run/tls/cert.pem" >/dev/null 2>&1) || die "could not make a TLS certificate"
  fi
  # What the app and nginx must agree on comes from one file (app/nginx-contract.ts).
  local body_limit import_limit batch_limit token_pattern private_inactive upstream_keepalive
  body_limit=$(contract bodyLimitBytes)
  import_limit=$(contract importLimitBytes)
  batch_limit=$(contract batchLimitBytes)
  token_pattern=$(contract tokenPattern)
  private_inactive=$(contract privateCopyInactiveSeconds)
  upstream_keepalive=$(contract upstreamKeepaliveSeconds)
  # HTTPS_REDIRECT=1 (with a real certificate): plain HTTP answers only with
  # a redirect to HTTPS.
  local https_redirect='' real_ip='' proxy
  if [ "${HTTPS_REDIRECT:-0}" = 1 ]; then
    local target="https://\$host"
    [ "$HTTPS_PORT" = 443 ] || target="https://\$host:$HTTPS_PORT"
    https_redirect="if (\$scheme = http) { return 308 $target\$request_uri; }"
  fi
  # TRUSTED_PROXIES: the addresses of a proxy or load balancer in front of
  # nginx; only from those is X-Forwarded-For believed for the client's
  # address (per-IP limits, logs, the app's view).
  for proxy in ${TRUSTED_PROXIES:-}; do
    [[ $proxy =~ ^[0-9a-fA-F.:/]+$ ]] || die "TRUSTED_PROXIES: '$proxy' is not an address or CIDR"
    real_ip="$real_ip set_real_ip_from $proxy;"
  done
  [ -z "$real_ip" ] || real_ip="$real_ip real_ip_header X-Forwarded-For; real_ip_recursive on;"
  # CORS_ORIGINS: pages on these origins may call the API with a token.
  local cors_origins cors_vary=''
  cors_origins=$(cors_map) || exit 1
  [ -z "$cors_origins" ] || cors_vary=Origin
  (cd "$ROOT/nginx" && find . -name '*.conf' -o -name '*.js') | while read -r f; do
    mkdir -p "$conf/$(dirname "$f")"
    sed -e "s#{{CONF_DIR}}#$conf#g" -e "s#{{RUN_DIR}}#$run#g" -e "s#{{LOG_DIR}}#$LOG_DIR#g" \
        -e "s#{{STATIC_ROOT}}#$STATIC_ROOT#g" -e "s#{{USER}}#$user $group#g" -e "s#{{TMP_DIR}}#$tmp#g" -e "s#{{CACHE_DIR}}#$cache#g" \
        -e "s#{{LOAD_MODULES}}#$modules#g" -e "s#{{BROTLI_INCLUDE}}#$brotli#g" -e "s#{{BROTLI_OFF}}#$brotli_off#g" \
        -e "s#{{LISTEN_ADDR}}#${LISTEN_ADDR:-127.0.0.1}#g" -e "s#{{EXTRA_LISTEN}}#${EXTRA_LISTEN:-}#g" \
        -e "s#{{HTTP_PORT}}#$HTTP_PORT#g" -e "s#{{HTTPS_PORT}}#$HTTPS_PORT#g" -e "s#{{APP_PORT}}#$APP_PORT#g" \
        -e "s#{{INTERNAL_HTTP_PORT}}#$INTERNAL_HTTP_PORT#g" -e "s#{{APP_INTERNAL_PORT}}#$APP_INTERNAL_PORT#g" \
        -e "s#{{LIMIT_RATE}}#${NGINX_LIMIT_RATE:-50}#g" -e "s#{{LIMIT_BURST}}#${NGINX_LIMIT_BURST:-100}#g" \
        -e "s#{{LIMIT_CONN}}#${NGINX_LIMIT_CONN:-64}#g" \
        -e "s#{{LIMIT_EXEMPT}}#${NGINX_LIMIT_EXEMPT-127.0.0.0/8 0; ::1 0;}#g" \
        -e "s#{{BODY_LIMIT}}#$body_limit#g" -e "s#{{IMPORT_LIMIT}}#$import_limit#g" -e "s#{{BATCH_LIMIT}}#$batch_limit#g" -e "s#{{TOKEN_PATTERN}}#$token_pattern#g" \
        -e "s#{{HTTPS_REDIRECT}}#$https_redirect#g" -e "s#{{REAL_IP}}#$real_ip#g" \
        -e "s#{{PRIVATE_INACTIVE}}#$private_inactive#g" -e "s#{{UPSTREAM_KEEPALIVE}}#$upstream_keepalive#g" \
        -e "s#{{CORS_ORIGINS}}#$cors_origins#g" -e "s#{{CORS_VARY}}#$cors_vary#g" \
        "$ROOT/nginx/$f" >"$conf/$f"
  done
  if grep -rn '{{' "$conf" >&2; then die "nginx config has tokens left unrendered"; fi
}

# The master makes its log files (and nginx -t its error log): not for others.
start_nginx() (
  umask 027
  local run=$1
  nginx -t -q -c "$run/nginx/nginx.conf" -p "$run" 2>&1 | grep -v 'could not open error log' >&2 || true
  nginx -t -q -c "$run/nginx/nginx.conf" -p "$run" 2>/dev/null || die "nginx -t failed on $run/nginx/nginx.conf"
  if [ -f "$run/nginx.pid" ] && kill -0 "$(cat "$run/nginx.pid")" 2>/dev/null; then
    log "reloading nginx"
    nginx -c "$run/nginx/nginx.conf" -p "$run" -s reload 2>/dev/null
  else
    log "starting nginx on http://127.0.0.1:$HTTP_PORT and https://127.0.0.1:$HTTPS_PORT"
    nginx -c "$run/nginx/nginx.conf" -p "$run" 2>/dev/null || die "nginx did not start: see $LOG_DIR/nginx-error.log"
  fi
)

stop_nginx() {
  local run=$1 pid
  [ -f "$run/nginx.pid" ] || return 0
  pid=$(cat "$run/nginx.pid")
  log "stopping nginx"
  nginx -c "$run/nginx/nginx.conf" -p "$run" -s quit 2>/dev/null || kill "$pid" 2>/dev/null || true
  local _; for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

# wait_http URL SECONDS: until URL answers 200.
wait_http() {
  local _
  for _ in $(seq $(( $2 * 10 ))); do
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
