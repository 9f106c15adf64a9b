"""The Lua scripts of the event log (`event_log.py`); key layout in `event_layout.py`.

Each is one atomic step in Redis. Numbers cross as decimal text and are
formatted with `%d`, so cursors stay exact up to 2**53.
"""

from __future__ import annotations

from smsgateway.backends.redis.connection import LuaScript
from smsgateway.backends.redis.entries import LUA_HELPERS

__all__ = ["APPEND_REPORTS", "APPEND_UPLINKS", "BEFORE_TIME", "BOUNDS", "PRUNE_CHUNK_SCRIPT"]

# KEYS: meta, log, dedup, sends, unsigned, biz index keys...
# ARGV: now, origin, then per report: digest, bizId, phone, code, payload, biz key index.
# Returns {cursor or 0 (duplicate), sign, ...} per report.
APPEND_REPORTS = LuaScript(
    """
local now, origin = ARGV[1], ARGV[2]
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local tmax = redis.call('HGET', KEYS[1], 'tmax')
if (not tmax) or tonumber(now) > tonumber(tmax) then tmax = now end
-- The index writes are gathered and issued once per key at the end (variadic, in
-- chunks below Lua's unpack limit): the same final state, far fewer commands.
local signs, out, dedup, index, unsigned = {}, {}, {}, {}, {}
for i = 3, #ARGV, 6 do
  local dg, biz = ARGV[i], ARGV[i + 1]
  if redis.call('ZSCORE', KEYS[3], dg) then
    out[#out + 1] = 0; out[#out + 1] = ''
  else
    local sign = signs[biz]
    if sign == nil then
      sign = ''
      local rec = redis.call('HGET', KEYS[4], biz)
      if rec then
        local colon = string.find(rec, ':', 1, true)
        sign = string.sub(rec, colon + 1, colon + tonumber(string.sub(rec, 1, colon - 1)))
      end
      signs[biz] = sign
    end
    seq = seq + 1
    local c = string.format('%d', seq)
    redis.call('XADD', KEYS[2], c .. '-0', 't', now, 'm', tmax, 'o', origin, 'b', biz,
      'p', ARGV[i + 2], 'c', ARGV[i + 3], 's', sign, 'd', ARGV[i + 4])
    dedup[#dedup + 1] = c; dedup[#dedup + 1] = dg
    local k = 5 + tonumber(ARGV[i + 5])
    local members = index[k]
    if members == nil then members = {}; index[k] = members end
    members[#members + 1] = c; members[#members + 1] = c
    if sign == '' then unsigned[biz] = c end
    out[#out + 1] = seq; out[#out + 1] = sign
  end
end
local function zadd_all(key, list)
  for j = 1, #list, 2000 do
    redis.call('ZADD', key, unpack(list, j, math.min(j + 1999, #list)))
  end
end
zadd_all(KEYS[3], dedup)
for k, members in pairs(index) do zadd_all(KEYS[k], members) end
local fields = {}
for biz, c in pairs(unsigned) do fields[#fields + 1] = biz; fields[#fields + 1] = c end
for j = 1, #fields, 2000 do
  redis.call('HSET', KEYS[5], unpack(fields, j, math.min(j + 1999, #fields)))
end
redis.call('HSET', KEYS[1], 'seq', string.format('%d', seq), 'tmax', tmax)
return out
""",
    "report append",
)

# KEYS: meta, log, dedup, supp, supp records.
# ARGV: now, origin, then per uplink: digest, phone, sign, payload, suppression member
# ('' unless an opt-out), suppression record. Returns {cursor or 0, ...}.
APPEND_UPLINKS = LuaScript(
    """
local now, origin = ARGV[1], ARGV[2]
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local tmax = redis.call('HGET', KEYS[1], 'tmax')
if (not tmax) or tonumber(now) > tonumber(tmax) then tmax = now end
local out = {}
for i = 3, #ARGV, 6 do
  local dg = ARGV[i]
  if redis.call('ZSCORE', KEYS[3], dg) then
    out[#out + 1] = 0
  else
    seq = seq + 1
    local c = string.format('%d', seq)
    redis.call('XADD', KEYS[2], c .. '-0', 't', now, 'm', tmax, 'o', origin,
      'p', ARGV[i + 1], 's', ARGV[i + 2], 'd', ARGV[i + 3])
    redis.call('ZADD', KEYS[3], c, dg)
    local member = ARGV[i + 4]
    if member ~= '' and redis.call('HSETNX', KEYS[5], member, ARGV[i + 5]) == 1 then
      redis.call('ZADD', KEYS[4], 0, member)
    end
    out[#out + 1] = seq
  end
end
redis.call('HSET', KEYS[1], 'seq', string.format('%d', seq), 'tmax', tmax)
return out
""",
    "uplink append",
)

# KEYS: meta, log. Returns {seq, oldest retained cursor or false}.
BOUNDS = LuaScript(
    """
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
local oldest = false
if first then oldest = string.match(first[1], '^(%d+)') end
return {redis.call('HGET', KEYS[1], 'seq') or '0', oldest}
""",
    "event cursors",
)

# KEYS: meta, log. ARGV: epoch seconds. Returns the cursor before the first entry whose
# running max receive time (`m`, non-decreasing with the cursor) is at or after it.
BEFORE_TIME = LuaScript(
    LUA_HELPERS
    + """
local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
if not first then return seq end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
local ts = tonumber(ARGV[1])
local function m_of(e) return tonumber(field(e[2], 'm')) end
if m_of(last) < ts then return seq end
local lo, hi = tonumber(cursor_of(first[1])), tonumber(cursor_of(last[1]))
if m_of(first) >= ts then return string.format('%d', lo - 1) end
while hi - lo > 1 do
  local mid = math.floor((lo + hi) / 2)
  local id = string.format('%d', mid) .. '-0'
  if m_of(redis.call('XRANGE', KEYS[2], id, id)[1]) >= ts then hi = mid else lo = mid end
end
return string.format('%d', hi - 1)
""",
    "cursor lookup by time",
)

# KEYS: log, dedup, unsigned, late. ARGV: through cursor, biz index key prefix.
# Drops entries up to the cursor with their de-duplication members and index entries.
PRUNE_CHUNK_SCRIPT = LuaScript(
    LUA_HELPERS
    + """
local through = ARGV[1]
local t = tonumber(through)
local entries = redis.call('XRANGE', KEYS[1], '-', through .. '-0')
local done = {}
for _, e in ipairs(entries) do
  local b = field(e[2], 'b')
  if b and not done[b] then
    done[b] = true
    redis.call('ZREMRANGEBYSCORE', ARGV[2] .. b, '-inf', through)
    local u = redis.call('HGET', KEYS[3], b)
    if u and tonumber(u) <= t then redis.call('HDEL', KEYS[3], b) end
    local v = redis.call('HGET', KEYS[4], b)
    if v and tonumber(string.sub(v, 1, string.find(v, '|', 1, true) - 1)) <= t then
      redis.call('HDEL', KEYS[4], b)
    end
  end
end
if #entries > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d', t + 1) .. '-0')
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', through)
end
return #entries
""",
    "event prune",
)
