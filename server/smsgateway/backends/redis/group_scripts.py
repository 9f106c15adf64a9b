"""The Lua scripts of the consumer groups (`groups.py`); key layout in `event_layout.py`.

Each is one atomic step in Redis, so members on different replicas never hold
the same event at once.
"""

from __future__ import annotations

from smsgateway.backends.redis.connection import LuaScript
from smsgateway.backends.redis.entries import LUA_HELPERS

__all__ = ["ACK", "CLAIM", "COMMIT", "DELETE", "DROP_LEASES", "JOIN", "RELEASE"]

# KEYS: positions, filters, activity, leases, holders.
# ARGV: name, start, filter key, now, max groups, activity member.
# Returns {0, position, pending} | {1} (other filter) | {2, count} (too many).
JOIN = LuaScript(
    """
local f = redis.call('HGET', KEYS[2], ARGV[1])
if f then
  if f ~= ARGV[3] then return {1} end
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[6])
  return {0, redis.call('HGET', KEYS[1], ARGV[1]) or '0', redis.call('ZCARD', KEYS[4])}
end
local count = redis.call('ZCARD', KEYS[3])
if count >= tonumber(ARGV[5]) then return {2, count} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[6])
redis.call('DEL', KEYS[4], KEYS[5])
return {0, ARGV[2], 0}
""",
    "consumer group join",
)

# KEYS: positions, activity, leases, holders, log, meta, late.
# ARGV: name, activity member, now, expires, limit, member, 'all' | 'scan', scan count.
# Returns {0} (no group) | {1, position, seq, leased entries, candidates, late signs}.
CLAIM = LuaScript(
    LUA_HELPERS
    + """
local pos = redis.call('HGET', KEYS[1], ARGV[1])
if not pos then return {0} end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
local limit, expires, member = tonumber(ARGV[5]), ARGV[4], ARGV[6]
-- 1. Leases that ran out (their holder is slow or gone), oldest cursor first.
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
table.sort(expired, function(a, b) return tonumber(a) < tonumber(b) end)
local out = {}
for i = 1, math.min(limit, #expired) do
  local c = expired[i]
  local e = redis.call('XRANGE', KEYS[5], c .. '-0', c .. '-0')[1]
  if e then
    local h = redis.call('HGET', KEYS[4], c)
    local d = 1
    if h then d = tonumber(string.match(h, '^(%d+)')) + 1 end
    redis.call('ZADD', KEYS[3], expires, c)
    redis.call('HSET', KEYS[4], c, string.format('%d', d) .. '|' .. member)
    out[#out + 1] = e
  else  -- pruned meanwhile: nothing left to deliver
    redis.call('ZREM', KEYS[3], c)
    redis.call('HDEL', KEYS[4], c)
  end
end
-- 2. New events after the position.
local seq = redis.call('HGET', KEYS[6], 'seq') or '0'
local remaining = limit - #out
local candidates = {}
if remaining > 0 then
  if ARGV[7] == 'all' then
    local fresh = redis.call('XRANGE', KEYS[5], '(' .. pos .. '-0', '+', 'COUNT', remaining)
    local newpos = tonumber(pos)
    if #fresh == remaining then
      newpos = tonumber(cursor_of(fresh[#fresh][1]))
    elseif tonumber(seq) > newpos then
      newpos = tonumber(seq)  -- every event up to the newest was seen
    end
    for _, e in ipairs(fresh) do
      local c = cursor_of(e[1])
      redis.call('ZADD', KEYS[3], expires, c)
      redis.call('HSET', KEYS[4], c, '1|' .. member)
      out[#out + 1] = e
    end
    local np = string.format('%d', newpos)
    if np ~= pos then redis.call('HSET', KEYS[1], ARGV[1], np); pos = np end
  else
    candidates = redis.call('XRANGE', KEYS[5], '(' .. pos .. '-0', '+', 'COUNT', ARGV[8])
  end
end
local all = {}
for _, e in ipairs(out) do all[#all + 1] = e end
for _, e in ipairs(candidates) do all[#all + 1] = e end
return {1, pos, seq, out, candidates, lates(all, KEYS[7])}
""",
    "consumer group claim",
)

# KEYS: positions, leases, holders. ARGV: name, expected position, new position,
# expires, member, cursors... Returns {1} | {0} (no group) | {2, position} (moved).
COMMIT = LuaScript(
    """
local pos = redis.call('HGET', KEYS[1], ARGV[1])
if not pos then return {0} end
if pos ~= ARGV[2] then return {2, pos} end
for i = 6, #ARGV do
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i], '1|' .. ARGV[5])
end
if ARGV[3] ~= pos then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return {1}
""",
    "consumer group claim",
)

# KEYS: leases, holders, activity. ARGV: activity member, now, cursors...
ACK = LuaScript(
    """
local n = 0
for i = 3, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then n = n + 1 end
  redis.call('HDEL', KEYS[2], ARGV[i])
end
redis.call('ZADD', KEYS[3], 'XX', ARGV[2], ARGV[1])
return n
""",
    "consumer group ack",
)

# KEYS: leases, holders. ARGV: member. Expires every lease of the member.
RELEASE = LuaScript(
    """
local h = redis.call('HGETALL', KEYS[2])
local n = 0
for i = 1, #h, 2 do
  local v = h[i + 1]
  if string.sub(v, string.find(v, '|', 1, true) + 1) == ARGV[1] then
    redis.call('ZADD', KEYS[1], 0, h[i])
    n = n + 1
  end
end
return n
""",
    "consumer group release",
)

# KEYS: positions, filters, activity, leases, holders. ARGV: name, activity member,
# idle-before time ('' = delete whatever its activity). Returns 1 when deleted.
DELETE = LuaScript(
    """
if ARGV[3] ~= '' then
  local s = redis.call('ZSCORE', KEYS[3], ARGV[2])
  if s and tonumber(s) >= tonumber(ARGV[3]) then return 0 end
end
local existed = redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[4], KEYS[5])
return existed
""",
    "consumer group delete",
)

# KEYS: leases, holders. ARGV: through cursor. Drops the leases at or below it.
DROP_LEASES = LuaScript(
    """
local t, n = tonumber(ARGV[1]), 0
for _, c in ipairs(redis.call('HKEYS', KEYS[2])) do
  if tonumber(c) <= t then
    redis.call('HDEL', KEYS[2], c)
    redis.call('ZREM', KEYS[1], c)
    n = n + 1
  end
end
return n
""",
    "lease prune",
)
