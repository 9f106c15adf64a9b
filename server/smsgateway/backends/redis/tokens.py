"""`TokenStore` on Redis: the one provider token every replica uses, and its fetch lock.

* The token is one string key with a millisecond expiry (its remaining lifetime),
  so replicas agree on when it runs out.
* The fetch lock is `SET NX PX` with a random id; a lock whose holder dies
  expires by itself. Taking it again with the same id (a client retry after a
  lost reply) counts as taken.
* Unlock and invalidate are compare-and-delete scripts: a late unlock never frees
  someone else's lock, and invalidating a token already replaced does nothing,
  so many replicas seeing one rejected token cause one refetch.
"""

from __future__ import annotations

import secrets

from smsgateway.backends.redis.connection import Client, LuaScript
from smsgateway.backends.redis.errors import translate
from smsgateway.backends.redis.keys import RedisKeys

__all__ = ["RedisTokenStore"]

_LOAD = LuaScript(
    """
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}
""",
    "token read",
    writes=False,
)

_LOCK = LuaScript(
    """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
""",
    "token lock",
)

_COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
_UNLOCK = LuaScript(_COMPARE_AND_DELETE, "token unlock")
_INVALIDATE = LuaScript(_COMPARE_AND_DELETE, "token invalidation")


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisTokenStore:
    """`TokenStore` shared by every replica using `keys` (the client belongs to the caller)."""

    def __init__(self, client: Client, keys: RedisKeys) -> None:
        self._client = client
        self._value_key = keys.token("value")
        self._lock_key = keys.token("lock")

    def __repr__(self) -> str:
        return f"RedisTokenStore(key={self._value_key!r})"

    async def load(self) -> tuple[str, float] | None:
        """The shared token and the seconds it stays valid, or None when there is none."""
        reply = await _LOAD.run(self._client, [self._value_key], [])
        if not reply:
            return None
        value, pttl = reply
        if int(pttl) <= 0:  # no expiry set (not written by us) or expiring now
            return None
        return bytes(value).decode(), int(pttl) / 1000

    async def save(self, value: str, ttl_seconds: float) -> None:
        """Publish a freshly fetched token to every replica for `ttl_seconds` (≤ 0: not kept)."""
        if ttl_seconds <= 0:
            return
        with translate("token write"):
            await self._client.set(self._value_key, value, px=_ms(ttl_seconds))

    async def try_lock(self, ttl_seconds: float) -> str | None:
        """Become the one fetcher for up to `ttl_seconds`; a lock id, or None if held."""
        lock_id = secrets.token_hex(16)
        taken = await _LOCK.run(self._client, [self._lock_key], [lock_id, _ms(ttl_seconds)])
        return lock_id if int(taken) == 1 else None

    async def unlock(self, lock_id: str) -> None:
        """Give the fetch lock back (only if `lock_id` still holds it)."""
        await _UNLOCK.run(self._client, [self._lock_key], [lock_id])

    async def invalidate(self, value: str) -> bool:
        """Forget the token if it is still `value` (the provider rejected it); True if so."""
        return int(await _INVALIDATE.run(self._client, [self._value_key], [value])) == 1
