#!/usr/bin/env bash
# npm run lint: every static check, failing on any finding. npm test runs it
# first. `npm run format` fixes what Prettier can.
#   - the type checker (app, the browser UI, tests, benchmark and scripts);
#   - ESLint with typescript-eslint's type-aware rules (eslint.config.mjs);
#   - Prettier's formatting (.prettierrc.json);
#   - shellcheck on every shell script;
#   - nginx -t on the config as the run command renders it;
#   - promtool on the alert rules (checked, and their unit tests in ops/prometheus/tests);
#   - redocly lint on the API description (/api/openapi.json).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_node_modules
ensure_packages nginx openssl shellcheck prometheus

failed=()
check() {
  local name=$1; shift
  log "lint: $name"
  "$@" || failed+=("$name")
}

check "types" bash -c 'tsc --noEmit -p . && tsc --noEmit -p app/web && tsc --noEmit -p tests'
check "eslint" eslint --max-warnings 0 .
check "prettier" prettier --check --log-level warn .
check "shellcheck" shellcheck -x --source-path=SCRIPTDIR scripts/*.sh .ci/run

# nginx's config as the run command renders it, in a throw-away folder.
nginx_check() {
  local tmp; tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand $tmp now: it is local.
  trap "rm -rf '$tmp'" RETURN
  # nginx's workers (the service user) must reach the UI and their folders.
  chmod 711 "$tmp"
  mkdir -p "$tmp/web" && touch "$tmp/web/index.html"
  HTTP_PORT=1 HTTPS_PORT=2 APP_PORT=3 INTERNAL_HTTP_PORT=4 APP_INTERNAL_PORT=5 STATIC_ROOT="$tmp/web" LOG_DIR="$tmp/logs" \
    CORS_ORIGINS=https://app.example.com,http://127.0.0.1:5173 render_nginx "$tmp/run"
  nginx -t -q -c "$tmp/run/nginx/nginx.conf" -p "$tmp/run"
}
check "nginx -t" nginx_check
check "alert rules" promtool check rules ops/prometheus/alerts.yml
check "alert rule tests" bash -c 'cd ops/prometheus && promtool test rules tests/*.test.yml'

# The API description as the build makes it, under redocly's recommended
# rules (redocly.yaml), warnings failing too. No telemetry: nothing leaves.
api_lint() {
  local tmp; tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand $tmp now: it is local.
  trap "rm -rf '$tmp'" RETURN
  tsx scripts/openapi.ts "$tmp/openapi.json"
  local out rc=0
  out=$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true redocly lint --max-problems 20 "$tmp/openapi.json" 2>&1) || rc=$?
  echo "$out" | grep -vE '^(validating|$)'
  # redocly passes a description with warnings; here they fail it too.
  [ "$rc" -eq 0 ] && ! grep -qE 'You have [0-9]+ warnings?' <<<"$out"
}
check "redocly lint" api_lint

if [ ${#failed[@]} -gt 0 ]; then die "lint failed: ${failed[*]}"; fi
log "lint: all checks passed"
