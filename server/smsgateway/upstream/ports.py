"""The storage port of `upstream/`: the provider token shared by every replica."""

from __future__ import annotations

from typing import Protocol


class TokenStore(Protocol):
    """Where the one provider token lives, and who may fetch the next one.

    Single process: an in-memory store. Many replicas: a shared store, so that
    one fetch per TTL happens across all of them (a lock with expiry), and a
    rejected token is invalidated for everyone.
    """

    async def load(self) -> tuple[str, float] | None:
        """The shared token and the seconds it stays valid, or None when there is none."""
        ...

    async def save(self, value: str, ttl_seconds: float) -> None:
        """Publish a freshly fetched token to every replica for `ttl_seconds`."""
        ...

    async def try_lock(self, ttl_seconds: float) -> str | None:
        """Become the one fetcher for up to `ttl_seconds`; a lock id, or None if held."""
        ...

    async def unlock(self, lock_id: str) -> None:
        """Give the fetch lock back (only if `lock_id` still holds it)."""
        ...

    async def invalidate(self, value: str) -> bool:
        """Forget the token if it is still `value` (the provider rejected it); True if so."""
        ...
