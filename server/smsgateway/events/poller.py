"""The optional pull side: poll /sms/deliver and /sms/smsUp into the same store.

Pulled items take the same path as pushed ones (`Ingestor`), so a report that
arrives both ways is stored once. The provider does not say whether a pull
hands out an item only once; items already pulled but not yet stored (the
store failed) are therefore kept in memory and stored before the next pull.

A failing pull logs, backs off exponentially (up to `max_backoff_seconds`) and
never ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import DeliveryReportIn, Source, UplinkIn

_log = logging.getLogger(__name__)

_T = TypeVar("_T")

_MAX_HELD_ITEMS = 100_000
"""Most pulled-but-unstored items kept for a retry; beyond that the oldest are dropped."""


class PullClient(Protocol):
    """What the poller needs of `smsgateway.upstream.client.ProviderClient`."""

    async def pull_reports(self, *, sign: str | None = None) -> Sequence[DeliveryReportIn]: ...

    async def pull_uplinks(self, *, sign: str) -> Sequence[UplinkIn]: ...


@dataclass(frozen=True)
class PollerConfig:
    """Whether and how often to pull reports and uplinks."""

    enabled: bool = False
    """Pull at all (pushes are the primary path; pulls fill gaps or replace them)."""
    interval_seconds: float = 10.0
    """Pause between two polls of both endpoints."""
    sign: str | None = None
    """Sign to pull for; /sms/smsUp requires one, so uplinks are pulled only when set."""
    max_backoff_seconds: float = 300.0
    """Longest pause after consecutive failures (the pause doubles per failure)."""

    def __post_init__(self) -> None:
        if not self.interval_seconds > 0:
            raise ValueError("poll interval_seconds must be positive")
        if self.max_backoff_seconds < self.interval_seconds:
            raise ValueError("poll max_backoff_seconds must be at least interval_seconds")


class Poller:
    """Runs the poll loop as one background task."""

    def __init__(
        self,
        client: PullClient,
        ingestor: Ingestor,
        config: PollerConfig,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._ingestor = ingestor
        self._config = config
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._held_reports: list[DeliveryReportIn] = []
        self._held_uplinks: list[UplinkIn] = []
        self.polls = 0
        """Completed poll rounds (with or without failures), for tests and metrics."""
        self.failures = 0
        """Consecutive failed rounds (0 after a clean one)."""

    def start(self) -> None:
        """Start polling (no-op when disabled or already running)."""
        if not self._config.enabled or self._task is not None:
            return
        if self._config.sign is None:
            _log.info("polling delivery reports; uplinks are not polled (no poll sign set)")
        self._task = asyncio.create_task(self._run(), name="smsgateway-poller")

    async def stop(self) -> None:
        """Stop polling; a pull in flight is abandoned (its items come again)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def poll_once(self) -> bool:
        """One round: reports, then uplinks. True when both succeeded."""
        ok = await self._poll_reports()
        if self._config.sign is not None:
            ok = await self._poll_uplinks(self._config.sign) and ok
        return ok

    async def _poll_reports(self) -> bool:
        try:
            pulled = await self._client.pull_reports(sign=self._config.sign)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.warning("pulling delivery reports failed: %s", exc)
            pulled = ()
            ok = False
        else:
            ok = True
        batch = self._held_reports + list(pulled)
        if not batch:
            return ok
        try:
            result = await self._ingestor.ingest_reports(batch, Source.PULL)
        except asyncio.CancelledError:
            self._held_reports = batch[-_MAX_HELD_ITEMS:]
            raise
        except Exception as exc:
            self._held_reports = _bounded(batch, "delivery reports")
            _log.error("storing %d pulled delivery reports failed: %s", len(batch), exc)
            return False
        self._held_reports = []
        _log.debug("pulled %d reports: %d new", len(batch), len(result.stored))
        return ok

    async def _poll_uplinks(self, sign: str) -> bool:
        try:
            pulled = await self._client.pull_uplinks(sign=sign)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.warning("pulling uplinks failed: %s", exc)
            pulled = ()
            ok = False
        else:
            ok = True
        batch = self._held_uplinks + list(pulled)
        if not batch:
            return ok
        try:
            result = await self._ingestor.ingest_uplinks(batch, Source.PULL)
        except asyncio.CancelledError:
            self._held_uplinks = batch[-_MAX_HELD_ITEMS:]
            raise
        except Exception as exc:
            self._held_uplinks = _bounded(batch, "uplinks")
            _log.error("storing %d pulled uplinks failed: %s", len(batch), exc)
            return False
        self._held_uplinks = []
        _log.debug("pulled %d uplinks: %d new", len(batch), len(result.stored))
        return ok

    async def _run(self) -> None:
        interval = self._config.interval_seconds
        while True:
            try:
                ok = await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug, not an upstream fault: still keep polling
                _log.exception("poll round failed unexpectedly")
                ok = False
            self.polls += 1
            self.failures = 0 if ok else self.failures + 1
            delay = interval
            if self.failures:
                delay = min(self._config.max_backoff_seconds, interval * 2**self.failures)
            await self._sleep(delay)


def _bounded(items: list[_T], what: str) -> list[_T]:
    if len(items) <= _MAX_HELD_ITEMS:
        return items
    _log.error("dropping %d pulled %s that could not be stored", len(items) - _MAX_HELD_ITEMS, what)
    return items[-_MAX_HELD_ITEMS:]
