#!/usr/bin/env bash
# Event/Content benchmarks (release build):
#   1. rendering the 9 images of one image job (3 styles x 3 platforms) on one core: goal < 1 s;
#   2. getEventList through the gateway with 10,000 events of one owner: p99 goal < 20 ms
#      (wrk: one query repeated = the 1-minute list cache; rotating pages/sorts/keywords = mostly
#      database).
# Runs the platform on its own ports and data dir under a temp directory; needs wrk and sqlite3.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${CARGO_TARGET_DIR:-target}"
cargo build --release -p platform --bin platform -p content-service --bin render-bench >/dev/null

echo "== render: 9 images of one job, one core"
taskset -c 0 "$TARGET/release/render-bench"

WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
EVENT_PORT=$(free_port); USER_PORT=$(free_port)
env -u DATABASE_URL -u REDIS_URL DATA_DIR="$WORK" HTTP_HOST=127.0.0.1 GRPC_HOST=127.0.0.1 RUST_LOG=warn \
  EVENT_HTTP_PORT=$EVENT_PORT USER_HTTP_PORT=$USER_PORT CONTENT_HTTP_PORT=$(free_port) \
  TICKETING_HTTP_PORT=$(free_port) PRODUCT_CHANGE_HTTP_PORT=$(free_port) CDN_HTTP_PORT=$(free_port) \
  USER_GRPC_PORT=$(free_port) EVENT_GRPC_PORT=$(free_port) CONTENT_GRPC_PORT=$(free_port) \
  "$TARGET/release/platform" all >"$WORK/platform.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$USER_PORT/" && break; sleep 0.2; done

TOKEN=$(curl -s -X POST "http://127.0.0.1:$USER_PORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"user001","password":"P@ssw0rd123!"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["accessToken"])')

echo "== seeding 10,000 events of user001"
python3 - "$WORK/event_service.db" <<'PY'
import sqlite3, sys, uuid, random, datetime
db = sqlite3.connect(sys.argv[1])
base = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
words = ["가을", "겨울", "신규", "재방문", "커피", "SNS", "리뷰", "스탬프", "할인", "추첨"]
statuses = ["DRAFT", "APPROVED", "ACTIVE", "COMPLETED"]
rows = []
for i in range(10000):
    t = (base + datetime.timedelta(minutes=i)).isoformat(timespec="microseconds")
    title = f"{random.choice(words)} {random.choice(words)} 이벤트 {i}"
    rows.append((str(uuid.uuid4()), "user001", random.choice(statuses), "NEW_CUSTOMER", "홍길동 카페", "카페", "서울",
                 title, "경품 / 참여 방법", random.randint(50, 900), round(random.uniform(80, 320), 1), t, t))
db.executemany("""INSERT INTO events (event_id, owner_id, status, objective, store_name, industry, region, title,
  description, participant_count, roi, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
db.commit()
PY

URL="http://127.0.0.1:$EVENT_PORT/api/events"
echo "== getEventList, same query (list cache), 4 connections, 10 s"
wrk -t1 -c4 -d10s --latency -H "authorization: Bearer $TOKEN" "$URL?page=3&size=20" | grep -E "Requests/sec|50%|90%|99%"

cat >"$WORK/rotate.lua" <<'LUA'
local sorts = {"createdAt,desc", "participantCount,desc", "roi,desc"}
local keywords = {"", "&keyword=%EA%B0%80%EC%9D%84", "&keyword=SNS", "&status=ACTIVE"}
request = function()
  local path = string.format("/api/events?page=%d&size=20&sort=%s%s", math.random(0, 400),
    sorts[math.random(1, 3)], keywords[math.random(1, 4)])
  return wrk.format("GET", path)
end
LUA
echo "== getEventList, rotating pages/sorts/filters (mostly uncached), 4 connections, 10 s"
wrk -t1 -c4 -d10s --latency -s "$WORK/rotate.lua" -H "authorization: Bearer $TOKEN" "$URL" | grep -E "Requests/sec|50%|90%|99%"
