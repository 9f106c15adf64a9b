"""Consumer-group members: the events leased to one member, claimed from the store.

A member never reads a buffer: it claims leases (`ConsumerGroups.claim`), holds at
most `max_outstanding` unacknowledged events, and is woken by the hub when events
are committed, acknowledged (its own) or released. See `group_member_batches`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field

from smsgateway.events.hub import EventHub
from smsgateway.events.model import EventFilter, StoredEvent, Stream
from smsgateway.events.ports import ConsumerGroups, EventLog
from smsgateway.events.subscriptions import (
    Start,
    SubscriptionConfig,
    filter_key,
    is_empty,
    resolve_start,
)

__all__ = ["group_member_batches", "join_group"]

log = logging.getLogger(__name__)

_DEFAULT_CONFIG = SubscriptionConfig()


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


async def group_member_batches(
    store: ConsumerGroups,
    hub: EventHub,
    stream: Stream,
    group: str,
    member_id: str,
    event_filter: EventFilter | None,
    ack_deadline: float,
    max_outstanding: int,
    config: SubscriptionConfig = _DEFAULT_CONFIG,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncGenerator[Sequence[StoredEvent], None]:
    """The events leased to one member of a joined consumer group, forever: one
    non-empty sequence per claim (every event in it is leased to this member).

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
            # A claim is a store write: skip the ones that cannot find anything. After
            # a claim that came back short, only a notification (new events, leases
            # expired or released), a timeout (own leases, the safety net) or room
            # after being full can make one worthwhile; an ack alone cannot.
            must_claim = True
            while True:
                watch.clear()
                if watch.take_notified():
                    must_claim = True
                held.drop(watch.take_acked())
                if _expire(held, clock(), ack_deadline):
                    hub.notify_group(stream, group)  # others may claim them now
                    must_claim = True
                room = max_outstanding - len(held.by_cursor)
                if room <= 0:
                    must_claim = True  # the ack that makes room must lead to a claim
                elif must_claim:
                    limit = min(room, config.page_size)
                    events = await store.claim(
                        stream, group, member_id, limit, ack_deadline, event_filter
                    )
                    if events:
                        held.add([e.cursor for e in events], clock() + ack_deadline)
                        yield events
                    if len(events) == limit:
                        continue  # there may be more; claim again while there is room
                    must_claim = False
                wake = _next_wake(held, clock(), ack_deadline, config.poll_interval)
                if not await watch.wait(wake):
                    must_claim = True
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
