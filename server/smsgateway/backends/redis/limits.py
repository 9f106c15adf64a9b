"""`LimitStore` on Redis: one Lua script per check, so limits hold across every replica.

Keys (all under the `{<prefix>:limits}` hash tag, one Cluster slot):

* `…:rate:<caller>`  hash `t` (tokens), `at` (ms): the caller's token bucket.
* `…:quota:<caller>:<day>`  integer: recipients admitted that day; expires after it.
* `…:vc:<phone>`  list, newest first, of `<ms>:<ticket>`: the number's recent
  verification codes, trimmed to the largest window count, expiring after the
  longest window.
* `…:provider:<account>`  the provider ceiling's theoretical arrival time (GCRA).

Times are the callers' (`now` in the charge), in milliseconds inside the scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from smsgateway.backends.redis.connection import Client, EncodedArg, LuaScript
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.security.ports import Charge, Verdict

__all__ = ["RedisLimitStore"]

_ADMIT: Final = LuaScript(
    """
local now = tonumber(ARGV[1])
local has_bucket = ARGV[2] == '1'
local rate = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local has_quota = ARGV[5] == '1'
local quota = tonumber(ARGV[6])
local quota_ttl = tonumber(ARGV[7])
local member = ARGV[8]
local recipients = tonumber(ARGV[9])
local nwin = tonumber(ARGV[10])
local windows = {}
local keep, longest = 0, 0
for i = 1, nwin do
  local c, w = tonumber(ARGV[9 + 2 * i]), tonumber(ARGV[10 + 2 * i])
  windows[i] = {c, w}
  if c > keep then keep = c end
  if w > longest then longest = w end
end
local result = {'', '0', '0', '0'}
local limited = {}
local nlimited = 0
local min_wait = nil
for k = 3, #KEYS do
  local wait = 0
  if keep > 0 then
    local entries = redis.call('LRANGE', KEYS[k], 0, keep - 1)
    for i = 1, nwin do
      local e = entries[windows[i][1]]
      if e then
        local at = tonumber(string.match(e, '^([^:]+)'))
        if at and at > now - windows[i][2] then
          local w = at + windows[i][2] - now
          if w > wait then wait = w end
        end
      end
    end
  end
  if wait > 0 then
    nlimited = nlimited + 1
    limited[k] = true
    result[#result + 1] = tostring(k - 3)
    result[#result + 1] = tostring(wait)
    if min_wait == nil or wait < min_wait then min_wait = wait end
  end
end
local admitted = recipients - nlimited
if admitted <= 0 then
  result[1] = 'per_number'
  result[2] = tostring(min_wait or 0)
  return result
end
local tokens = 0
if has_bucket then
  local state = redis.call('HMGET', KEYS[1], 't', 'at')
  if state[1] then
    local elapsed = math.max(0, now - tonumber(state[2]))
    tokens = math.min(burst, tonumber(state[1]) + elapsed * rate)
  else
    tokens = burst
  end
  if tokens < 1 then
    return {'rate_limit', tostring((1 - tokens) / rate), '0', '0'}
  end
end
local used = 0
if has_quota then
  used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used + admitted > quota then
    return {'daily_quota', tostring(quota_ttl), '0', tostring(used)}
  end
end
if has_bucket then
  redis.call('HSET', KEYS[1], 't', tostring(tokens - 1), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 60000)
end
if has_quota then
  used = redis.call('INCRBY', KEYS[2], admitted)
  redis.call('PEXPIRE', KEYS[2], math.ceil(quota_ttl) + 3600000)
end
for k = 3, #KEYS do
  if not limited[k] then
    redis.call('LPUSH', KEYS[k], member)
    redis.call('LTRIM', KEYS[k], 0, keep - 1)
    redis.call('PEXPIRE', KEYS[k], math.ceil(longest))
  end
end
result[3] = tostring(admitted)
result[4] = tostring(used)
return result
""",
    "limits check",
)

_REFUND: Final = LuaScript(
    """
local has_bucket = ARGV[1] == '1'
local burst = tonumber(ARGV[2])
local has_quota = ARGV[3] == '1'
local admitted = tonumber(ARGV[4])
local member = ARGV[5]
if has_bucket then
  local t = redis.call('HGET', KEYS[1], 't')
  if t then
    redis.call('HSET', KEYS[1], 't', tostring(math.min(burst, tonumber(t) + 1)))
  end
end
if has_quota then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used > 0 then
    redis.call('DECRBY', KEYS[2], math.min(used, admitted))
  end
end
for k = 3, #KEYS do
  redis.call('LREM', KEYS[k], 1, member)
end
return 1
""",
    "limits refund",
)

_RESERVE: Final = LuaScript(
    """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
local start = math.max(now, tat - tolerance)
local wait = start - now
if wait > max_wait then
  return '-1'
end
local new_tat = math.max(tat, start) + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now + tolerance) + 1000)
return tostring(wait)
""",
    "provider ceiling",
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisLimitStore:
    """Implements `security.ports.LimitStore` on Redis (shared by every replica)."""

    def __init__(self, client: Client, keys: RedisKeys) -> None:
        """`client` belongs to the caller (the backend); `keys` carries the prefix."""
        self._client = client
        self._keys = keys

    def _key_list(self, charge: Charge) -> list[str]:
        unused = self._keys.limits("unused")
        return [
            self._keys.limits(charge.bucket_key) if charge.bucket is not None else unused,
            self._keys.limits(charge.quota_key) if charge.quota_key else unused,
            *(self._keys.limits("vc", n) for n in charge.guarded_numbers),
        ]

    @staticmethod
    def _member(charge: Charge) -> str:
        return f"{charge.now * 1000:.3f}:{charge.ticket}"

    async def admit(self, charge: Charge) -> Verdict:
        """See `LimitStore.admit` (one script: every check and every write, atomically)."""
        bucket = charge.bucket
        args: list[EncodedArg] = [
            f"{charge.now * 1000:.3f}",
            1 if bucket is not None else 0,
            repr(bucket.per_second / 1000) if bucket is not None else 0,
            repr(bucket.burst) if bucket is not None else 0,
            1 if charge.quota_key else 0,
            charge.quota,
            f"{charge.quota_ttl_seconds * 1000:.0f}",
            self._member(charge),
            charge.recipients,
            len(charge.windows),
        ]
        for window in charge.windows:
            args += [window.count, f"{window.seconds * 1000:.3f}"]
        raw = await _ADMIT.run(self._client, self._key_list(charge), args)
        values = [_text(v) for v in raw]
        refused, wait_ms, admitted, used = values[0], float(values[1]), values[2], values[3]
        limited: dict[str, float] = {}
        numbers: Sequence[str] = charge.guarded_numbers
        for i in range(4, len(values), 2):
            limited[numbers[int(values[i])]] = float(values[i + 1]) / 1000
        if refused:
            return Verdict(
                refused,
                wait_ms / 1000,
                limited if refused == "per_number" else {},
                quota_used=int(float(used)),
            )
        return Verdict(
            limited_numbers=limited, admitted=int(float(admitted)), quota_used=int(float(used))
        )

    async def refund(self, charge: Charge, verdict: Verdict) -> None:
        """See `LimitStore.refund`."""
        if verdict.refused:
            return
        bucket = charge.bucket
        args: list[EncodedArg] = [
            1 if bucket is not None else 0,
            repr(bucket.burst) if bucket is not None else 0,
            1 if charge.quota_key else 0,
            verdict.admitted,
            self._member(charge),
        ]
        await _REFUND.run(self._client, self._key_list(charge), args)

    async def reserve(
        self, key: str, now: float, per_second: float, burst: float, max_wait: float
    ) -> float | None:
        """See `LimitStore.reserve` (GCRA on one key, shared by every replica)."""
        interval = 1000.0 / per_second
        tolerance = (max(1.0, burst) - 1.0) * interval
        raw = await _RESERVE.run(
            self._client,
            [self._keys.limits(key)],
            [f"{now * 1000:.3f}", repr(interval), repr(tolerance), f"{max_wait * 1000:.3f}"],
        )
        wait = float(_text(raw))
        return None if wait < 0 else wait / 1000

    async def close(self) -> None:
        """Nothing of its own to release (the client belongs to the backend)."""
