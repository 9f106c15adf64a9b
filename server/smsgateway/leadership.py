"""Leader election: exactly one replica runs the singleton jobs (poller, balance refresher).

`LeaseStore` is the port (a lease with expiry and a fencing token); `Leadership`
runs the loop that acquires and renews it and starts or stops the jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from smsgateway.store_errors import StoreUnavailableError

logger = logging.getLogger(__name__)


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


class Leadership:
    """Runs the singleton jobs while this replica holds the lease `name`.

    The loop tries to acquire the lease every `ttl / 3`; once it holds it, it calls
    `on_start` and renews every `ttl / 3`. It calls `on_stop` when a renewal says
    the lease was lost, and also when renewals fail (store down, timeouts) for so
    long that the lease might expire before the next attempt, that is before
    anyone else can take it over. A follower acquires within `ttl / 3` of the
    leader's lease expiring, so a dead leader is replaced within `ttl + ttl / 3`
    (under two lease periods). `close` stops the jobs and releases the lease so a
    successor need not wait for the expiry.

    `on_start` and `on_stop` are awaited inside the loop: they should start and stop
    background tasks, not run the jobs. An `on_start` that fails releases the lease
    and is retried after one interval.
    """

    def __init__(
        self,
        store: LeaseStore,
        name: str,
        holder: str,
        *,
        on_start: Callable[[], Awaitable[None]],
        on_stop: Callable[[], Awaitable[None]],
        ttl_seconds: float = 10.0,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be > 0")
        self._store = store
        self._name = name
        self._holder = holder
        self._on_start = on_start
        self._on_stop = on_stop
        self._ttl = ttl_seconds
        self._interval = ttl_seconds / 3
        self._token: int | None = None
        self._valid_until = 0.0
        self._running = False
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Leadership(name={self._name!r}, holder={self._holder!r}, leading={self.leading})"

    @property
    def leading(self) -> bool:
        """True while the jobs run here (between `on_start` and `on_stop`)."""
        return self._running

    @property
    def token(self) -> int | None:
        """The fencing token of the lease held now, or None."""
        return self._token

    def start(self) -> None:
        """Start the loop in the background (once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        """The loop; cancelling it stops the jobs but keeps the lease (it expires)."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                started = loop.time()
                if self._token is None:
                    await self._acquire(started)
                else:
                    await self._renew(started)
                await asyncio.sleep(max(0.0, started + self._interval - loop.time()))
        except asyncio.CancelledError:
            await self._stop_jobs()
            raise

    async def close(self) -> None:
        """Stop the loop and the jobs, then release the lease (best effort)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        await self._stop_jobs()
        token, self._token = self._token, None
        if token is not None:
            try:
                async with asyncio.timeout(self._interval):
                    await self._store.release(self._name, self._holder, token)
            except (StoreUnavailableError, TimeoutError) as exc:
                logger.warning("releasing lease %s failed (it will expire): %s", self._name, exc)

    async def _acquire(self, started: float) -> None:
        try:
            async with asyncio.timeout(self._interval):
                token = await self._store.acquire(self._name, self._holder, self._ttl)
        except (StoreUnavailableError, TimeoutError) as exc:
            logger.debug("acquiring lease %s failed: %s", self._name, exc)
            return
        if token is None:
            return
        self._token, self._valid_until = token, started + self._ttl
        logger.info("leader for %s (fencing token %d); starting its jobs", self._name, token)
        self._running = True
        try:
            await self._on_start()
        except Exception:
            logger.exception("starting the jobs of %s failed; giving the lease up", self._name)
            await self._stop_jobs()
            with contextlib.suppress(StoreUnavailableError):
                await self._store.release(self._name, self._holder, token)
            self._token = None

    async def _renew(self, started: float) -> None:
        assert self._token is not None
        try:
            async with asyncio.timeout(self._interval):
                renewed = await self._store.renew(self._name, self._holder, self._token, self._ttl)
        except (StoreUnavailableError, TimeoutError) as exc:
            loop = asyncio.get_running_loop()
            if loop.time() + self._interval < self._valid_until:
                logger.warning("renewing lease %s failed; retrying: %s", self._name, exc)
                return
            logger.warning(
                "renewing lease %s failed for too long; stopping its jobs: %s", self._name, exc
            )
            await self._stop_jobs()
            self._token = None
            return
        if renewed:
            self._valid_until = started + self._ttl
            return
        logger.warning("lease %s was lost; stopping its jobs", self._name)
        await self._stop_jobs()
        self._token = None

    async def _stop_jobs(self) -> None:
        if not self._running:
            return
        self._running = False
        try:
            await self._on_stop()
        except Exception:
            logger.exception("stopping the jobs of %s failed", self._name)
