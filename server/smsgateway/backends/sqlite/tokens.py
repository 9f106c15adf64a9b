"""`TokenStore` for one process (the SQLite backend): the token and its lock in memory.

With a single replica there is nobody to share with; this store gives
`TokenCache` the same code path as on Redis, with the same guarantees:
the token expires after its TTL, the lock after its TTL, and unlock and
invalidate only act on the lock id / token value they are given.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

__all__ = ["LocalTokenStore"]


class LocalTokenStore:
    """`TokenStore` in memory; `clock` is monotonic seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._value: str | None = None
        self._expires_at = 0.0
        self._lock_id: str | None = None
        self._lock_until = 0.0

    def __repr__(self) -> str:
        return f"LocalTokenStore(has_token={self._value is not None})"

    async def load(self) -> tuple[str, float] | None:
        """The token and the seconds it stays valid, or None when there is none."""
        left = self._expires_at - self._clock()
        if self._value is None or left <= 0:
            return None
        return self._value, left

    async def save(self, value: str, ttl_seconds: float) -> None:
        """Keep `value` for `ttl_seconds` (≤ 0: not kept)."""
        if ttl_seconds > 0:
            self._value, self._expires_at = value, self._clock() + ttl_seconds

    async def try_lock(self, ttl_seconds: float) -> str | None:
        """The fetch lock for up to `ttl_seconds`, or None while someone holds it."""
        now = self._clock()
        if self._lock_id is not None and now < self._lock_until:
            return None
        self._lock_id, self._lock_until = secrets.token_hex(16), now + ttl_seconds
        return self._lock_id

    async def unlock(self, lock_id: str) -> None:
        """Free the lock if `lock_id` still holds it."""
        if self._lock_id == lock_id:
            self._lock_id = None

    async def invalidate(self, value: str) -> bool:
        """Forget the token if it is still `value`; True if so."""
        if self._value is not None and self._value == value:
            self._value = None
            return True
        return False
