#!/usr/bin/env bash
# Gateway overhead, measured side by side in one run: the same two User API routes
# (JWKS: no auth; validate: a signed token) served
#   - straight over gRPC (h2load, the floor),
#   - through the gateway with the service in the same process (`platform all`),
#   - through the gateway with the service in another process (`serve user` + `gateway`).
# Prints req/s, p50 and p99, and each REST figure as a ratio of the gRPC floor.
#
# usage: scripts/bench/gateway.sh [PLATFORM_BINARY]   (default: builds and uses the release build)
# env:   DURATION (s, default 10), CONNECTIONS (default 50), THREADS (default 2),
#        BENCH_LOG (RUST_LOG of the platform, default info: the access log is on)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
duration=${DURATION:-10}
connections=${CONNECTIONS:-50}
threads=${THREADS:-2}
log_level=${BENCH_LOG:-info}

need() { command -v "$1" >/dev/null 2>&1 || { apt-get install -y -q "$2" >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$2" >/dev/null; }; }; }
need wrk wrk
need h2load nghttp2-client
need curl curl

binary=${1:-}
if [ -z "$binary" ]; then
  (cd "$here" && cargo build --release -q -p platform --bin platform)
  binary=${CARGO_TARGET_DIR:-$here/target}/release/platform
fi

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }

# Starts `platform ROLE…` with its own data dir and ports; extra KEY=VALUE pairs before `--`.
start() {
  local name=$1; shift
  local env=(DATA_DIR="$work/$name" HTTP_HOST=127.0.0.1 GRPC_HOST=127.0.0.1 RUST_LOG="$log_level" LOG_FORMAT=text)
  while [ "$1" != "--" ]; do env+=("$1"); shift; done; shift
  for api in EVENT CONTENT USER TICKETING PRODUCT_CHANGE; do
    local var="${api}_HTTP_PORT"; env+=("$var=${!var:-$(free_port)}")
  done
  # Embedded storage whatever the caller's environment says: the figures are the gateway's.
  env -u DATABASE_URL -u REDIS_URL "${env[@]}" "$binary" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}

# --- the two layouts -------------------------------------------------------------------------
all_http=$(free_port); all_grpc=$(free_port)
USER_HTTP_PORT=$all_http start all USER_GRPC_PORT="$all_grpc" -- all
split_grpc=$(free_port); split_http=$(free_port)
start svc USER_GRPC_PORT="$split_grpc" -- serve user
wait_port "$split_grpc"
USER_HTTP_PORT=$split_http start gw USER_GRPC_URL="http://127.0.0.1:$split_grpc" USER_GRPC_PORT="$(free_port)" -- gateway
wait_port "$all_http"; wait_port "$split_http"

login() {
  curl -sf -X POST "http://127.0.0.1:$1/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"user001","password":"P@ssw0rd123!"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'
}
token_all=$(login "$all_http")
token_split=$(login "$split_http")

# --- load ------------------------------------------------------------------------------------
# wrk: "Requests/sec" and the --latency percentiles, normalised to milliseconds.
wrk_run() { # url [token]
  local args=(-t"$threads" -c"$connections" -d"${duration}s" --latency)
  [ -n "${2:-}" ] && args+=(-H "Authorization: Bearer $2")
  wrk "${args[@]}" "$1" > "$work/wrk.out"
  python3 - "$work/wrk.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
# The distribution lines only ("     50%    1.23ms"): "+/- Stdev" columns also end in %.
pct = lambda q: ms(re.search(rf"^\s+{q}%\s+(\S+)$", text, re.M).group(1))
p50, p99 = pct(50), pct(99)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{rps:.0f} {p50:.2f} {p99:.2f} {errors.group(1) if errors else 0}")
PY
}

# h2load: a gRPC unary call with an empty request message (5-byte frame); per-request
# latencies from its log file.
printf '\x00\x00\x00\x00\x00' > "$work/empty.grpc"
h2load_run() { # path [token]
  local args=(-c"$connections" -m1 -t"$threads" -D"$duration" -d "$work/empty.grpc" --log-file="$work/h2load.log"
    -H 'content-type: application/grpc' -H 'te: trailers')
  [ -n "${2:-}" ] && args+=(-H "authorization: Bearer $2")
  rm -f "$work/h2load.log"
  h2load "${args[@]}" "http://127.0.0.1:$split_grpc$1" > "$work/h2load.out"
  python3 - "$work/h2load.out" "$work/h2load.log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text).group(1))
lat = sorted(int(line.split("\t")[2]) for line in open(sys.argv[2]) if line.strip())
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000
failed = re.search(r"(\d+) failed", text).group(1)
print(f"{rps:.0f} {pick(0.50):.2f} {pick(0.99):.2f} {failed}")
PY
}

printf '%-9s %-22s %9s %8s %8s %7s %8s\n' route path req/s p50_ms p99_ms errors vs_gRPC
row() { # route path "rps p50 p99 errors" floor
  read -r rps p50 p99 errors <<<"$3"
  printf '%-9s %-22s %9s %8s %8s %7s %8s\n' "$1" "$2" "$rps" "$p50" "$p99" "$errors" \
    "$(python3 -c "print(f'{$rps/$4:.2f}')")"
}
for route in jwks validate; do
  if [ "$route" = jwks ]; then
    grpc=$(h2load_run /user.v1.UserService/GetJwks)
    inproc=$(wrk_run "http://127.0.0.1:$all_http/.well-known/jwks.json")
    split=$(wrk_run "http://127.0.0.1:$split_http/.well-known/jwks.json")
  else
    grpc=$(h2load_run /user.v1.UserService/ValidateToken "$token_split")
    inproc=$(wrk_run "http://127.0.0.1:$all_http/api/v1/auth/validate" "$token_all")
    split=$(wrk_run "http://127.0.0.1:$split_http/api/v1/auth/validate" "$token_split")
  fi
  floor=$(cut -d' ' -f1 <<<"$grpc")
  row "$route" "gRPC direct (h2load)" "$grpc" "$floor"
  row "$route" "gateway, in-process" "$inproc" "$floor"
  row "$route" "gateway, split roles" "$split" "$floor"
done
echo "($(nproc) cores; ${connections} connections, ${threads} load threads, ${duration}s per row; platform RUST_LOG=$log_level)"
