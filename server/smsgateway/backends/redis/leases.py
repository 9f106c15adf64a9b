"""`LeaseStore` on Redis: named leases with expiry and fencing tokens.

A lease is a hash (`holder`, `token`) with a millisecond expiry; its fencing
counter is a separate key that never expires, incremented each time the lease
changes hands (acquired while free or expired), so tokens only ever increase.
Acquire, renew and release are Lua scripts: each is one atomic step, and each is
safe to repeat (a client retry after a lost reply gets the same answer).
"""

from __future__ import annotations

from smsgateway.backends.redis.connection import Client, LuaScript
from smsgateway.backends.redis.keys import RedisKeys

__all__ = ["RedisLeaseStore"]

# KEYS: lease, fence counter. ARGV: holder, ttl ms. Returns the token or false.
_ACQUIRE = LuaScript(
    """
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('HGET', KEYS[1], 'token'))
end
if holder then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token
""",
    "lease acquire",
)

# KEYS: lease. ARGV: holder, token, ttl ms. Returns 1 when renewed.
_RENEW = LuaScript(
    """
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1]
   and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
""",
    "lease renewal",
)

# KEYS: lease. ARGV: holder, token. Returns 1 when released.
_RELEASE = LuaScript(
    """
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1]
   and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
""",
    "lease release",
)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisLeaseStore:
    """`LeaseStore` shared by every replica using `keys` (the client belongs to the caller)."""

    def __init__(self, client: Client, keys: RedisKeys) -> None:
        self._client = client
        self._keys = keys

    def __repr__(self) -> str:
        return f"RedisLeaseStore(prefix={self._keys.prefix!r})"

    async def acquire(self, name: str, holder: str, ttl_seconds: float) -> int | None:
        """Take the lease if free or expired (or already ours); its fencing token, or None.

        Fencing tokens increase every time the lease changes hands.
        """
        token = await _ACQUIRE.run(
            self._client,
            [self._keys.lease(name), self._keys.lease(name, "fence")],
            [holder, _ms(ttl_seconds)],
        )
        return None if token is None else int(token)

    async def renew(self, name: str, holder: str, token: int, ttl_seconds: float) -> bool:
        """Extend our lease by `ttl_seconds` from now; False when it was lost."""
        renewed = await _RENEW.run(
            self._client, [self._keys.lease(name)], [holder, token, _ms(ttl_seconds)]
        )
        return int(renewed) == 1

    async def release(self, name: str, holder: str, token: int) -> None:
        """Give the lease up now (graceful shutdown), if still ours."""
        await _RELEASE.run(self._client, [self._keys.lease(name)], [holder, token])
