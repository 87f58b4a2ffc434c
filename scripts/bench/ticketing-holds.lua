-- wrk script: POST /api/bookings holds. Environment (read by the shell script):
--   mode "spread": every request holds one fresh seat of a large event (no contention);
--   mode "contend": every request asks for 1-4 random seats out of a small shared pool.
local event_id = os.getenv("BENCH_EVENT")
local token = os.getenv("BENCH_TOKEN")
local mode = os.getenv("BENCH_MODE") or "spread"
local pool = tonumber(os.getenv("BENCH_POOL") or "40")
local stride = tonumber(os.getenv("BENCH_THREADS") or "2")

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  ok, rejected, other = 0, 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
  math.randomseed(os.time() + tid * 7919)
end

-- Sections A, B and C of the spread event hold 30,000 seats each, in rows of 20.
local sections = { {"A", 300000}, {"B", 200000}, {"C", 100000} }

function request()
  local body
  if mode == "spread" then
    local k = tid + counter * stride
    counter = counter + 1
    local section = sections[(k % 3) + 1]
    local j = math.floor(k / 3)
    local seat = string.format("%s-%d-%d", section[1], math.floor(j / 20) + 1, (j % 20) + 1)
    body = string.format('{"event_id":"%s","seat_ids":["%s"],"total_amount":%d}', event_id, seat, section[2])
  else
    local n = math.random(1, 4)
    local seats, used = {}, {}
    while #seats < n do
      local s = math.random(1, pool)
      if not used[s] then
        used[s] = true
        -- The contention event's C section: C-<row>-<n>, all at 100,000.
        table.insert(seats, string.format('"C-%d-%d"', math.floor((s - 1) / 20) + 1, ((s - 1) % 20) + 1))
      end
    end
    body = string.format('{"event_id":"%s","seat_ids":[%s],"total_amount":%d}', event_id, table.concat(seats, ","), n * 100000)
  end
  return wrk.format(nil, "/api/bookings", nil, body)
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 elseif status == 400 then rejected = rejected + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local ok_total, rejected_total, other_total = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    rejected_total = rejected_total + thread:get("rejected")
    other_total = other_total + thread:get("other")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT mode=%s requests=%d answered_per_s=%.0f held=%d held_per_s=%.0f rejected_400=%d other=%d p50_ms=%.2f p99_ms=%.2f\n",
    mode, summary.requests, summary.requests / seconds, ok_total, ok_total / seconds, rejected_total, other_total,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
