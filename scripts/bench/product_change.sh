#!/usr/bin/env bash
# Benchmark of the Product-Change Service through the gateway: getCustomerInfo with a warm
# cache while KOS answers every call 50 ms late, in requests per second; and, for contrast,
# validateProductChange, which reads the line fresh from KOS on every call.
#
# Standalone: builds the release binary, starts `platform all` on free ports with embedded
# storage (SQLite + in-process cache) in a temporary data dir, logs in as user001, runs wrk
# (installed from Debian if missing), prints the figures and stops everything.
#
# Knobs: BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_KOS_LATENCY_MS (50).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
KOS_LATENCY_MS=${BENCH_KOS_LATENCY_MS:-50}
LINE=01012345678

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)…"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi

cargo build --release -p platform --bin platform
BIN="${CARGO_TARGET_DIR:-target}/release/platform"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
WORK=$(mktemp -d)
PC_PORT=$(free_port); USER_PORT=$(free_port)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

env -u DATABASE_URL -u REDIS_URL \
  DATA_DIR="$WORK/data" HTTP_HOST=127.0.0.1 GRPC_HOST=127.0.0.1 RUST_LOG=warn \
  PRODUCT_CHANGE_HTTP_PORT="$PC_PORT" USER_HTTP_PORT="$USER_PORT" \
  EVENT_HTTP_PORT="$(free_port)" CONTENT_HTTP_PORT="$(free_port)" TICKETING_HTTP_PORT="$(free_port)" \
  USER_GRPC_PORT="$(free_port)" PRODUCT_CHANGE_GRPC_PORT="$(free_port)" KOS_GRPC_PORT="$(free_port)" \
  KOS_FAULT_LATENCY_MS="$KOS_LATENCY_MS" \
  "$BIN" all >"$WORK/platform.log" 2>&1 &
PID=$!

BASE="http://127.0.0.1:$PC_PORT/v1/product-change"
for _ in $(seq 1 120); do
  curl -s -o /dev/null "http://127.0.0.1:$USER_PORT/.well-known/jwks.json" && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/platform.log"; exit 1; }
  sleep 0.5
done

TOKEN=$(curl -s -X POST "http://127.0.0.1:$USER_PORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"user001","password":"P@ssw0rd123!"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')

# Warm the cache (the first read waits for KOS), and check the answer.
curl -sf "$BASE/products/customer/$LINE" -H "authorization: Bearer $TOKEN" >/dev/null

cat >"$WORK/validate.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"lineNumber":"$LINE","currentProductCode":"PLAN001","targetProductCode":"PLAN003"}'
wrk.headers["content-type"] = "application/json"
LUA

run() {
  local label=$1; shift
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "authorization: Bearer $TOKEN" "$@")
  echo "$out" >"$WORK/$label.txt"
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $4}' <<<"$out")
  printf '%-62s %10s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$label" "$rps" "$p50" "$p99" "${errors:-0}"
}

echo
echo "Product-Change through the gateway: $THREADS threads, $CONNECTIONS connections, $DURATION each, KOS latency ${KOS_LATENCY_MS} ms"
run "getCustomerInfo (warm cache, KOS ${KOS_LATENCY_MS} ms)" "$BASE/products/customer/$LINE"
run "validateProductChange (fresh KOS read each call, KOS ${KOS_LATENCY_MS} ms)" -s "$WORK/validate.lua" "$BASE/products/change/validation"
