"""`LeaseStore` for one process (the SQLite backend): every lease is always granted.

One replica is the only candidate, so acquiring always succeeds; the fencing
token still increases whenever the holder changes, and renew / release only act
for the current holder and token, as on Redis.
"""

from __future__ import annotations

__all__ = ["LocalLeaseStore"]


class LocalLeaseStore:
    """`LeaseStore` in memory that grants every acquire (there is no other replica)."""

    def __init__(self) -> None:
        self._leases: dict[str, tuple[str, int]] = {}
        self._fences: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"LocalLeaseStore(leases={sorted(self._leases)!r})"

    async def acquire(self, name: str, holder: str, ttl_seconds: float) -> int | None:
        """The lease, always; a new fencing token when the holder changes."""
        current = self._leases.get(name)
        if current is not None and current[0] == holder:
            return current[1]
        token = self._fences.get(name, 0) + 1
        self._fences[name] = token
        self._leases[name] = (holder, token)
        return token

    async def renew(self, name: str, holder: str, token: int, ttl_seconds: float) -> bool:
        """True while `holder` holds the lease with `token`."""
        return self._leases.get(name) == (holder, token)

    async def release(self, name: str, holder: str, token: int) -> None:
        """Drop the lease if `holder` holds it with `token`."""
        if self._leases.get(name) == (holder, token):
            del self._leases[name]
