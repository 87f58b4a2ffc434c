//! Lua scripts of the Redis backend. Each state change is one script, so it is atomic with
//! respect to every other process: a delayed job is moved to its stream exactly once, and a
//! claim, heartbeat, completion or failure checks the job's fencing token and changes the
//! hash, the stream and the delayed set together.
//!
//! Job hashes are addressed by a key prefix passed as an argument (keys computed inside a
//! script), which is fine on a single Redis or a primary with replicas, not on Redis Cluster.

use std::sync::LazyLock;

use redis::Script;

/// KEYS: job hash, queue stream, delayed set.
/// ARGV: id, queue, payload, max_attempts, run_at_ms, now_ms. Returns 1 if created.
pub(crate) static ENQUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'queue', ARGV[2], 'state', 'PENDING', 'payload', ARGV[3],
  'attempts', 0, 'max_attempts', ARGV[4], 'run_at', ARGV[5], 'created_at', ARGV[6], 'updated_at', ARGV[6])
if tonumber(ARGV[5]) > tonumber(ARGV[6]) then
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
else
  redis.call('XADD', KEYS[2], '*', 'job', ARGV[1])
end
return 1
"#,
    )
});

/// KEYS: queue stream, delayed set.
/// ARGV: group, consumer, now_ms, lease_ms, count, job key prefix, token prefix.
/// Returns a list of {id, token, attempts, max_attempts, payload}.
///
/// Order: due delayed jobs join the stream; entries idle longer than a lease (their worker
/// died or stopped heartbeating) are taken over with XAUTOCLAIM; then new entries. The job
/// hash decides: only a due PENDING job or a PROCESSING job whose lease lapsed is claimed.
pub(crate) static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local stream, delayed = KEYS[1], KEYS[2]
local group, consumer = ARGV[1], ARGV[2]
local now, lease, count = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  redis.call('ZREM', delayed, id)
  redis.call('XADD', stream, '*', 'job', id)
end
redis.pcall('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
local entries = {}
local stale = redis.call('XAUTOCLAIM', stream, group, consumer, lease, '0-0', 'COUNT', count)
for _, e in ipairs(stale[2]) do
  if type(e) == 'table' and type(e[2]) == 'table' then table.insert(entries, e) end
end
if #entries < count then
  local fresh = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count - #entries, 'STREAMS', stream, '>')
  if fresh then
    for _, e in ipairs(fresh[1][2]) do table.insert(entries, e) end
  end
end
local out = {}
for i, e in ipairs(entries) do
  local eid, fields, id = e[1], e[2], nil
  for j = 1, #fields, 2 do if fields[j] == 'job' then id = fields[j + 1] end end
  local done = true
  if id then
    local key = ARGV[6] .. id
    local st = redis.call('HMGET', key, 'state', 'run_at', 'lease_until', 'attempts', 'max_attempts', 'payload')
    local state = st[1]
    if (state == 'PENDING' and tonumber(st[2]) <= now) or (state == 'PROCESSING' and tonumber(st[3]) < now) then
      local token = ARGV[7] .. ':' .. i
      local attempts = tonumber(st[4]) + 1
      redis.call('HSET', key, 'state', 'PROCESSING', 'attempts', attempts, 'token', token,
        'lease_until', now + lease, 'updated_at', now, 'entry', eid)
      table.insert(out, {id, token, tostring(attempts), st[5], st[6]})
      done = false
    elseif state == 'PROCESSING' then
      -- A live worker holds the lease: leave the entry pending for it.
      done = false
    elseif state == 'PENDING' then
      -- Not due yet: it belongs in the delayed set, not the stream.
      redis.call('ZADD', delayed, st[2], id)
    end
  end
  if done then
    redis.call('XACK', stream, group, eid)
    redis.call('XDEL', stream, eid)
  end
end
return out
"#,
    )
});

/// KEYS: job hash, queue stream. ARGV: group, consumer, token, now_ms, lease_ms.
/// Extends the lease and resets the entry's idle time (XCLAIM) so XAUTOCLAIM leaves it alone.
pub(crate) static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local st = redis.call('HMGET', KEYS[1], 'state', 'token', 'entry')
if st[1] ~= 'PROCESSING' or st[2] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'lease_until', tonumber(ARGV[4]) + tonumber(ARGV[5]), 'updated_at', ARGV[4])
redis.call('XCLAIM', KEYS[2], ARGV[1], ARGV[2], 0, st[3], 'JUSTID')
return 1
"#,
    )
});

/// KEYS: job hash, queue stream. ARGV: group, token, now_ms, result.
pub(crate) static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local st = redis.call('HMGET', KEYS[1], 'state', 'token', 'entry')
if st[1] ~= 'PROCESSING' or st[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'COMPLETED', 'result', ARGV[4], 'token', '', 'updated_at', ARGV[3])
redis.call('XACK', KEYS[2], ARGV[1], st[3])
redis.call('XDEL', KEYS[2], st[3])
return 1
"#,
    )
});

/// KEYS: job hash, queue stream, delayed set. ARGV: group, token, now_ms, error, retry_at_ms
/// ('' = dead letter), id.
pub(crate) static FAIL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local st = redis.call('HMGET', KEYS[1], 'state', 'token', 'entry')
if st[1] ~= 'PROCESSING' or st[2] ~= ARGV[2] then return 0 end
if ARGV[5] == '' then
  redis.call('HSET', KEYS[1], 'state', 'FAILED', 'last_error', ARGV[4], 'token', '', 'updated_at', ARGV[3])
else
  redis.call('HSET', KEYS[1], 'state', 'PENDING', 'last_error', ARGV[4], 'token', '', 'run_at', ARGV[5],
    'updated_at', ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
end
redis.call('XACK', KEYS[2], ARGV[1], st[3])
redis.call('XDEL', KEYS[2], st[3])
return 1
"#,
    )
});

/// KEYS: topic stream, the group's delivery queue stream.
/// ARGV: group, consumer, now_ms, count, job key prefix, queue, max_attempts.
/// Turns each new event of the group into a delivery job (id `<queue>:<event id>`, so a
/// re-published event id is delivered once) and acknowledges it, all in one step: nothing
/// is left pending if the process dies.
pub(crate) static PUMP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local fresh = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[4], 'STREAMS', KEYS[1], '>')
if not fresh then return 0 end
local created = 0
for _, e in ipairs(fresh[1][2]) do
  local eid, fields, event_id, body = e[1], e[2], nil, nil
  for j = 1, #fields, 2 do
    if fields[j] == 'event_id' then event_id = fields[j + 1] elseif fields[j] == 'body' then body = fields[j + 1] end
  end
  if event_id and body then
    local id = ARGV[6] .. ':' .. event_id
    local key = ARGV[5] .. id
    if redis.call('EXISTS', key) == 0 then
      redis.call('HSET', key, 'id', id, 'queue', ARGV[6], 'state', 'PENDING', 'payload', body, 'attempts', 0,
        'max_attempts', ARGV[7], 'run_at', ARGV[3], 'created_at', ARGV[3], 'updated_at', ARGV[3])
      redis.call('XADD', KEYS[2], '*', 'job', id)
      created = created + 1
    end
  end
  redis.call('XACK', KEYS[1], ARGV[1], eid)
end
return created
"#,
    )
});
