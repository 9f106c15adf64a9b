"""Leader election: exactly one replica runs the singleton jobs (poller, balance refresher).

`LeaseStore` is the port (a lease with expiry and a fencing token); `Leadership`
runs the loop that acquires and renews it and starts or stops the jobs.
"""

from __future__ import annotations

from typing import Protocol


class LeaseStore(Protocol):
    """A named lease held by one holder at a time, expiring unless renewed."""

    async def acquire(self, name: str, holder: str, ttl_seconds: float) -> int | None:
        """Take the lease if free or expired (or already ours); its fencing token, or None.

        Fencing tokens increase every time the lease changes hands.
        """
        ...

    async def renew(self, name: str, holder: str, token: int, ttl_seconds: float) -> bool:
        """Extend our lease; False when it was lost (expired and taken)."""
        ...

    async def release(self, name: str, holder: str, token: int) -> None:
        """Give the lease up now (graceful shutdown), if still ours."""
        ...
