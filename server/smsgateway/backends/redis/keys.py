"""Key names: one prefix per gateway deployment, one hash tag per aggregate.

Every key of an aggregate shares the hash tag `{<prefix>:<aggregate>}`, so it lives
in one Redis Cluster slot and a Lua script may touch all of it. The event
aggregate (both streams, send log, suppressions, consumer groups, dead letters)
is one tag because appends read the send log and write suppressions atomically.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Builds every key name from `SMSGW_REDIS_KEY_PREFIX`."""

    prefix: str = "smsgw"

    def _tag(self, aggregate: str) -> str:
        return "{" + f"{self.prefix}:{aggregate}" + "}"

    def events(self, *parts: str) -> str:
        """A key of the event aggregate (streams, send log, suppressions, groups, dead letters)."""
        return ":".join((self._tag("events"), *parts))

    def idempotency(self, *parts: str) -> str:
        """A key of the idempotency records."""
        return ":".join((self._tag("idem"), *parts))

    def token(self, *parts: str) -> str:
        """A key of the shared provider token and its fetch lock."""
        return ":".join((self._tag("token"), *parts))

    def lease(self, *parts: str) -> str:
        """A key of the leader leases."""
        return ":".join((self._tag("lease"), *parts))

    def limits(self, *parts: str) -> str:
        """A key of the rate limits and quotas."""
        return ":".join((self._tag("limits"), *parts))
