"""`EventReader`: one store read shared by every subscriber asking the same question.

Plain subscribers caught up at the same cursor ask the store the same thing after
every wake-up; `EventReader.read` turns those identical concurrent reads into one
and hands every caller the same (immutable by convention) list, which also lets
the API layer build one response per shared read (see `api.stream_responses`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from smsgateway.events.model import EventFilter, StoredEvent, Stream
from smsgateway.events.ports import EventLog

_ReadKey = tuple[Stream, int, int, EventFilter | None, int]


class EventReader:
    """Reads events for many subscribers at once.

    Subscribers caught up at the same cursor with the same filter ask the same
    question after every wake-up; one store read answers all of them. A read is
    shared only among callers of the same wake-up epoch (`EventHub.sequence`),
    so nobody gets an answer that started before the commit that woke them.
    """

    OLDEST_TTL = 1.0
    """Seconds a looked-up oldest cursor is reused."""

    def __init__(self, store: EventLog) -> None:
        self.store = store
        self._inflight: dict[_ReadKey, _SharedRead] = {}
        self._oldest: dict[Stream, tuple[float, int]] = {}

    async def read(
        self,
        stream: Stream,
        after: int,
        limit: int,
        event_filter: EventFilter | None,
        epoch: int,
    ) -> Sequence[StoredEvent]:
        """`store.read`, shared with concurrent identical calls. Do not mutate the result.

        A caller that is cancelled stops waiting; the read goes on for the others."""
        key = (stream, after, limit, event_filter, epoch)
        shared = self._inflight.get(key)
        if shared is None:
            task = asyncio.ensure_future(self.store.read(stream, after, limit, event_filter))
            shared = _SharedRead(task)
            self._inflight[key] = shared
            task.add_done_callback(lambda _: self._done(key, shared))
        # One future per caller (cheaper than a shield each): cancelling it
        # leaves the read and the other callers alone.
        waiter: asyncio.Future[list[StoredEvent]] = shared.task.get_loop().create_future()
        shared.waiters.append(waiter)
        return await waiter

    async def oldest_cursor(self, stream: Stream) -> int:
        """`store.oldest_cursor`, cached for a moment: it only moves when a prune runs."""
        now = time.monotonic()
        cached = self._oldest.get(stream)
        if cached is not None and now - cached[0] < self.OLDEST_TTL:
            return cached[1]
        oldest = await self.store.oldest_cursor(stream)
        self._oldest[stream] = (now, oldest)
        return oldest

    def _done(self, key: _ReadKey, shared: _SharedRead) -> None:
        if self._inflight.get(key) is shared:
            del self._inflight[key]
        task = shared.task
        if task.cancelled():
            for waiter in shared.waiters:
                waiter.cancel()
            return
        error = task.exception()  # retrieved even when every waiter has gone
        for waiter in shared.waiters:
            if waiter.done():
                continue
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(task.result())


class _SharedRead:
    """One store read in flight and the futures of the callers waiting for it."""

    __slots__ = ("task", "waiters")

    def __init__(self, task: asyncio.Future[list[StoredEvent]]) -> None:
        self.task = task
        self.waiters: list[asyncio.Future[list[StoredEvent]]] = []
