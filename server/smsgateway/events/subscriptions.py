"""Resumable event subscriptions (consumer-group members: `group_members`).

Both kinds read the store, never a buffer: a plain subscriber reads "after my
last cursor" again and again, so replay and live are one loop and the seam
between them cannot lose or repeat an event; a group member claims leases from
the store. The hub only says when to read again; a periodic read is the safety
net for a lost wake-up.

`subscribe_batches` / `group_member_batches` yield what one store call returned
(a non-empty sequence in cursor order, which the caller must not mutate: plain
subscribers share it); `subscribe` yields the same events one by one. Also here:
start positions (`resolve_start`) and filter keys, shared by both kinds.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
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
from smsgateway.events.ports import EventLog
from smsgateway.events.reader import EventReader

__all__ = [
    "CursorAheadError",
    "EventReader",
    "Start",
    "StartKind",
    "SubscriptionConfig",
    "filter_key",
    "is_empty",
    "resolve_start",
    "subscribe",
    "subscribe_batches",
]

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
    """`subscribe_batches`, one event at a time."""
    batches = subscribe_batches(source, hub, stream, start, event_filter, config)
    async with aclosing(batches) as iterator:
        async for batch in iterator:
            for event in batch:
                yield event


async def subscribe_batches(
    source: EventLog | EventReader,
    hub: EventHub,
    stream: Stream,
    start: Start,
    event_filter: EventFilter | None = None,
    config: SubscriptionConfig = SubscriptionConfig(),
) -> AsyncGenerator[Sequence[StoredEvent], None]:
    """Every matching event after `start`, in cursor order, forever: the stored
    ones first, then new ones as they are committed; one non-empty sequence
    (at most `config.page_size` events) per store read. Do not mutate it:
    subscribers of one wake-up share it.

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
        page_size = config.page_size
        while True:
            watch.clear()
            epoch = hub.sequence(stream)
            # Caught up right before the latest commit: its events, as notified.
            batch = hub.latest(stream, epoch, cursor) if event_filter is None else ()
            if not batch or len(batch) > page_size:
                batch = await reader.read(stream, cursor, page_size, event_filter, epoch)
            if batch:
                if batch[0].cursor > cursor + 1:
                    # A gap: filtered-out events, or pruned ones this subscriber
                    # never saw. Fail loudly rather than skip them silently.
                    oldest = await reader.oldest_cursor(stream)
                    if cursor < oldest - 1:
                        raise OutOfRangeError(stream, cursor, oldest)
                full = len(batch) == page_size
                cursor = batch[-1].cursor
                if not_before is not None:
                    batch = [e for e in batch if e.receive_time >= not_before]
                    if batch:
                        not_before = None  # receive times grow with cursors from here on
                if batch:
                    yield batch
                if full:
                    continue
            await watch.wait(config.poll_interval)
