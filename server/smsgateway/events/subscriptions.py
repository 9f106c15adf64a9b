"""Resumable event subscriptions and consumer-group members.

Both kinds read the store, never a buffer: a plain subscriber reads "after my
last cursor" again and again, so replay and live are one loop and the seam
between them cannot lose or repeat an event; a group member claims leases from
the store. The hub only says when to read again; a periodic read is the safety
net for a lost wake-up.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from smsgateway.events.hub import EventHub
from smsgateway.events.model import (
    EventFilter,
    OutOfRangeError,
    ReportFilter,
    StoredEvent,
    Stream,
    UplinkFilter,
)
from smsgateway.events.ports import ConsumerGroups, EventLog

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SubscriptionConfig:
    """How subscribers read the store."""

    page_size: int = 256
    """Events read (or claimed) per store call."""
    poll_interval: float = 2.0
    """Seconds between safety-net reads when no wake-up comes."""


class StartKind(enum.Enum):
    """Where a subscription starts."""

    LATEST = "latest"
    EARLIEST = "earliest"
    AFTER_CURSOR = "after_cursor"
    AT_TIME = "at_time"


@dataclass(frozen=True, slots=True)
class Start:
    """A requested start position, resolved against the store by `resolve_start`."""

    kind: StartKind = StartKind.LATEST
    cursor: int = 0
    """For AFTER_CURSOR: start right after this cursor."""
    time: datetime | None = None
    """For AT_TIME: start at the first event received at or after this time."""


class CursorAheadError(Exception):
    """A start cursor newer than the newest stored event (e.g. from another store)."""

    def __init__(self, stream: Stream, cursor: int, last_cursor: int) -> None:
        super().__init__(
            f"{stream} cursor {cursor} is newer than the newest stored ({last_cursor})"
        )
        self.stream = stream
        self.cursor = cursor
        self.last_cursor = last_cursor


async def resolve_start(store: EventLog, stream: Stream, start: Start) -> int:
    """The cursor to read after. Raises `OutOfRangeError` for a cursor older than
    the retained history and `CursorAheadError` for one newer than the newest."""
    if start.kind is StartKind.LATEST:
        return await store.last_cursor(stream)
    if start.kind is StartKind.EARLIEST:
        return await store.oldest_cursor(stream) - 1
    if start.kind is StartKind.AT_TIME:
        assert start.time is not None
        # Receive times are shown rounded to the microsecond but may be kept
        # finer: a shown time fed back as a start must still include its
        # event. `subscribe` drops what the slack lets in too early.
        return await store.cursor_before_time(stream, start.time - _TIME_SLACK)
    oldest = await store.oldest_cursor(stream)
    if start.cursor < oldest - 1:
        raise OutOfRangeError(stream, start.cursor, oldest)
    last = await store.last_cursor(stream)
    if start.cursor > last:
        # Reading after it would silently skip every event up to it.
        raise CursorAheadError(stream, start.cursor, last)
    return start.cursor


_TIME_SLACK = timedelta(microseconds=1)


def filter_key(event_filter: EventFilter | None) -> str:
    """A canonical text of a filter: equal filters give equal keys."""
    if event_filter is None:
        return "{}"
    if isinstance(event_filter, ReportFilter):
        data: dict[str, object] = {
            "biz_ids": sorted(event_filter.biz_ids),
            "phone_numbers": sorted(event_filter.phone_numbers),
            "sign": event_filter.sign,
            "provider_codes": sorted(event_filter.provider_codes),
            "other_codes": event_filter.other_codes,
        }
    else:
        data = {"phone_numbers": sorted(event_filter.phone_numbers), "sign": event_filter.sign}
    # Drop empty fields so that "no filter" has one spelling.
    data = {k: v for k, v in data.items() if v}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def is_empty(event_filter: EventFilter) -> bool:
    """True when the filter matches everything."""
    return event_filter == ReportFilter() or event_filter == UplinkFilter()


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
        self._inflight: dict[_ReadKey, asyncio.Future[list[StoredEvent]]] = {}
        self._oldest: dict[Stream, tuple[float, int]] = {}

    async def read(
        self,
        stream: Stream,
        after: int,
        limit: int,
        event_filter: EventFilter | None,
        epoch: int,
    ) -> Sequence[StoredEvent]:
        """`store.read`, shared with concurrent identical calls. Do not mutate the result."""
        key = (stream, after, limit, event_filter, epoch)
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self.store.read(stream, after, limit, event_filter))
            self._inflight[key] = future
            future.add_done_callback(lambda f: self._done(key, f))
        # One caller's cancellation must not cancel the others' read.
        return await asyncio.shield(future)

    async def oldest_cursor(self, stream: Stream) -> int:
        """`store.oldest_cursor`, cached for a moment: it only moves when a prune runs."""
        now = time.monotonic()
        cached = self._oldest.get(stream)
        if cached is not None and now - cached[0] < self.OLDEST_TTL:
            return cached[1]
        oldest = await self.store.oldest_cursor(stream)
        self._oldest[stream] = (now, oldest)
        return oldest

    def _done(self, key: _ReadKey, future: asyncio.Future[list[StoredEvent]]) -> None:
        if self._inflight.get(key) is future:
            del self._inflight[key]
        if not future.cancelled():
            future.exception()  # retrieved: every waiter may have gone


def _reader(source: EventLog | EventReader) -> EventReader:
    return source if isinstance(source, EventReader) else EventReader(source)


async def subscribe(
    source: EventLog | EventReader,
    hub: EventHub,
    stream: Stream,
    start: Start,
    event_filter: EventFilter | None = None,
    config: SubscriptionConfig = SubscriptionConfig(),
) -> AsyncGenerator[StoredEvent, None]:
    """Every matching event after `start`, in cursor order, forever: the stored
    ones first, then new ones as they are committed.

    Raises `OutOfRangeError` / `CursorAheadError` (from `resolve_start`) before
    the first event, and `OutOfRangeError` later if the subscriber lags so far
    behind that events it has not seen were pruned (it never skips silently).
    """
    reader = _reader(source)
    if event_filter is not None and is_empty(event_filter):
        event_filter = None  # one shared read for every unfiltered subscriber
    with hub.watch(stream) as watch:
        # Registered before resolving the start, so a commit right after the
        # resolution still wakes us.
        cursor = await resolve_start(reader.store, stream, start)
        # A start time in the future: cursor_before_time gives "now", so skip
        # what arrives before the requested time.
        not_before = start.time if start.kind is StartKind.AT_TIME else None
        while True:
            watch.clear()
            epoch = hub.sequence(stream)
            batch = await reader.read(stream, cursor, config.page_size, event_filter, epoch)
            if batch and batch[0].cursor > cursor + 1:
                # A gap: filtered-out events, or pruned ones this subscriber
                # never saw. Fail loudly rather than skip them silently.
                oldest = await reader.oldest_cursor(stream)
                if cursor < oldest - 1:
                    raise OutOfRangeError(stream, cursor, oldest)
            for event in batch:
                cursor = event.cursor
                if not_before is not None:
                    if event.receive_time < not_before:
                        continue
                    not_before = None  # receive times grow with cursors from here on
                yield event
            if len(batch) < config.page_size:
                await watch.wait(config.poll_interval)


@dataclass(slots=True)
class _Lease:
    """Events claimed in one store call: they share one deadline."""

    expiry: float
    cursors: set[int]
    announced: bool = False
    """True once the other members were told the lease expired."""


@dataclass(slots=True)
class _Held:
    """What one member holds, by lease, oldest first."""

    leases: deque[_Lease] = field(default_factory=deque)
    by_cursor: dict[int, _Lease] = field(default_factory=dict)

    def add(self, cursors: Sequence[int], expiry: float) -> None:
        lease = _Lease(expiry, set(cursors))
        for cursor in cursors:
            previous = self.by_cursor.get(cursor)
            if previous is not None:  # our own expired event came back to us
                previous.cursors.discard(cursor)
            self.by_cursor[cursor] = lease
        self.leases.append(lease)

    def drop(self, cursors: set[int]) -> None:
        for cursor in cursors:
            lease = self.by_cursor.pop(cursor, None)
            if lease is not None:
                lease.cursors.discard(cursor)


async def join_group(
    events: EventLog,
    groups: ConsumerGroups,
    stream: Stream,
    name: str,
    start: Start,
    event_filter: EventFilter | None,
) -> int:
    """Join (or create) a consumer group; return its position.

    The start is resolved (and may fail with `OutOfRangeError`) only when the
    group is new: an existing group continues from its own position.
    Raises `GroupMismatchError` when the group exists with another filter.
    """
    key = filter_key(event_filter)
    existing = {group.name: group for group in await groups.groups(stream)}
    start_after = 0 if name in existing else await resolve_start(events, stream, start)
    info = await groups.join_group(stream, name, start_after, key)
    return info.position


async def group_member(
    store: ConsumerGroups,
    hub: EventHub,
    stream: Stream,
    group: str,
    member_id: str,
    event_filter: EventFilter | None,
    ack_deadline: float,
    max_outstanding: int,
    config: SubscriptionConfig = SubscriptionConfig(),
    clock: Callable[[], float] = time.monotonic,
) -> AsyncGenerator[StoredEvent, None]:
    """The events leased to one member of a joined consumer group, forever.

    The member holds at most `max_outstanding` unacknowledged events. An event
    leaves its hands when acknowledged (by any connection: acks reach the hub)
    or one `ack_deadline` after its lease expired; from the expiry on, other
    members may claim it, and they are woken to do so. Keeping it counted
    against `max_outstanding` for that grace period means a member full of
    stuck work claims nothing more (its own expired events included) while the
    others pick them up; a member with room may get its own back (at-least-once).
    On exit (disconnect, cancel) every lease it holds is released for the others.
    """
    if event_filter is not None and is_empty(event_filter):
        event_filter = None
    held = _Held()
    with hub.watch(stream, group, held.by_cursor) as watch:
        try:
            while True:
                watch.clear()
                held.drop(watch.take_acked())
                if _expire(held, clock(), ack_deadline):
                    hub.notify_group(stream, group)  # others may claim them now
                room = max_outstanding - len(held.by_cursor)
                if room > 0:
                    limit = min(room, config.page_size)
                    events = await store.claim(
                        stream, group, member_id, limit, ack_deadline, event_filter
                    )
                    if events:
                        held.add([e.cursor for e in events], clock() + ack_deadline)
                        for event in events:
                            yield event
                    if len(events) == limit:
                        continue  # there may be more; claim again while there is room
                await watch.wait(_next_wake(held, clock(), ack_deadline, config.poll_interval))
        finally:
            await _release(store, hub, stream, group, member_id)


def _expire(held: _Held, now: float, ack_deadline: float) -> bool:
    """Forget leases past their grace period; True when a lease newly expired."""
    while held.leases and (
        not held.leases[0].cursors or now >= held.leases[0].expiry + ack_deadline
    ):
        for cursor in held.leases.popleft().cursors:
            held.by_cursor.pop(cursor, None)
    newly = False
    for lease in held.leases:  # oldest first: stop at the first live one
        if lease.expiry > now:
            break
        if not lease.announced and lease.cursors:
            lease.announced = newly = True
    return newly


def _next_wake(held: _Held, now: float, ack_deadline: float, poll_interval: float) -> float:
    wake = poll_interval
    for lease in held.leases:
        due = lease.expiry if not lease.announced else lease.expiry + ack_deadline
        wake = min(wake, due - now)
        if not lease.announced:
            break
    return max(wake, 0.01)


async def _release(
    store: ConsumerGroups, hub: EventHub, stream: Stream, group: str, member_id: str
) -> None:
    try:
        # Shielded: a second cancellation (server shutdown) must not lose it.
        released = await asyncio.shield(store.release(stream, group, member_id))
    except Exception:
        # The leases still expire after the ack deadline; nothing is lost.
        log.warning("releasing consumer-group member leases failed", exc_info=True)
        return
    if released:
        hub.notify_group(stream, group)
