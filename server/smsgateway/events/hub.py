"""In-process wake-ups for event subscribers.

The store is the source of truth: the hub carries the news that a stream (or a
consumer group) has something new, so that waiting subscribers read the store
again now instead of at their next safety-net poll. A slow subscriber therefore
costs the hub nothing: it just lags on its own cursor. The one shortcut: the hub
keeps the events of the latest notification (`latest`), which a subscriber
caught up exactly before them may take instead of reading them back from the
store (the same committed events; it saves a store read and a wake-up per
subscriber on every commit). Anyone else reads the store.

Everything here runs on the event loop and never awaits on the notifying side:
`notify` is the Ingestor's `on_stored` callback and must stay cheap (one flag set
per waiting subscriber). A multi-replica backend (Redis) would implement the same
small surface (`notify`, `notify_group`, `watch`) with pub/sub.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Container, Iterable, Sequence
from types import TracebackType

from smsgateway.events.model import StoredEvent, Stream


class HubClosedError(Exception):
    """The hub was closed (the gateway is shutting down): subscriptions end."""


class Watch:
    """One subscriber's registration with the hub: a wake-up flag and, for a
    consumer-group member, the cursors acknowledged since it last looked.

    Waiting is cheap because it runs for every subscriber after every commit: no
    `asyncio.Event` or `asyncio.timeout` per wait, only one future; the timeout
    of `wait` is served by one timer per watch that outlives the waits (re-armed
    when it fires early, moved only when a wait needs it sooner).
    """

    __slots__ = (
        "_acked",
        "_deadline",
        "_holding",
        "_hub",
        "_loop",
        "_notified",
        "_timer",
        "_timer_when",
        "_waiter",
        "_woken",
        "group",
        "stream",
    )

    def __init__(
        self,
        hub: EventHub,
        stream: Stream,
        group: str | None,
        holding: Container[int] | None,
    ) -> None:
        self._hub = hub
        self.stream = stream
        self.group = group
        self._holding = holding
        self._loop = asyncio.get_running_loop()
        self._woken = False
        self._notified = False
        self._waiter: asyncio.Future[bool] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._deadline = 0.0
        self._acked: set[int] = set()

    def clear(self) -> None:
        """Forget earlier wake-ups; call before reading the store, so that a
        notification arriving during the read still wakes the next wait.

        Raises `HubClosedError` once the hub is closed."""
        if self._hub.closed:
            raise HubClosedError("the event hub is closed")
        self._woken = False

    async def wait(self, timeout: float) -> bool:  # noqa: ASYNC109 (a bounded sleep)
        """Wait for a wake-up or `timeout` seconds; True when woken."""
        if self._woken:
            return True
        loop = self._loop
        self._deadline = deadline = loop.time() + timeout
        if self._timer is None or self._timer_when > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(deadline, self._on_timer)
            self._timer_when = deadline
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiter = waiter
        try:
            return await waiter
        finally:
            self._waiter = None

    def take_acked(self) -> set[int]:
        """The cursors acknowledged in this member's group since the last call."""
        acked, self._acked = self._acked, set()
        return acked

    def take_notified(self) -> bool:
        """True when a notification other than an acknowledgement (new events,
        leases expired or released, the hub closing) came since the last call."""
        notified, self._notified = self._notified, False
        return notified

    def _wake(self) -> None:
        self._notified = True
        self._woken_only()

    def _woken_only(self) -> None:
        self._woken = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def _on_timer(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nobody waits: the next wait arms a timer again
        if self._loop.time() < self._deadline:
            # Armed for an earlier wait that was woken: on to this wait's deadline.
            self._timer = self._loop.call_at(self._deadline, self._on_timer)
            self._timer_when = self._deadline
            return
        waiter.set_result(False)

    def _add_acked(self, cursors: Iterable[int]) -> None:
        # Only what this member holds: a member stalled on a slow client must
        # not accumulate the whole group's acks.
        holding = self._holding
        mine = [c for c in cursors if holding is None or c in holding]
        if mine:
            self._acked.update(mine)
            self._woken_only()

    def close(self) -> None:
        """Unregister; idempotent."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._hub._unregister(self)

    def __enter__(self) -> Watch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventHub:
    """Wakes the subscribers of a stream when new events are stored.

    Must be used from one event loop; `notify` may also be called from another
    thread (it then hops onto the loop).
    """

    def __init__(self) -> None:
        self._watches: dict[Stream, set[Watch]] = {stream: set() for stream in Stream}
        self._groups: dict[tuple[Stream, str], set[Watch]] = {}
        self._sequence: dict[Stream, int] = {stream: 0 for stream in Stream}
        self._latest: dict[Stream, tuple[StoredEvent, ...]] = {stream: () for stream in Stream}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.closed = False

    def close(self) -> None:
        """End every subscription (graceful shutdown): each one wakes and its
        next `Watch.clear()` raises `HubClosedError`; new watches are refused."""
        self.closed = True
        for watches in self._watches.values():
            for watch in watches:
                watch._wake()

    def watch(
        self, stream: Stream, group: str | None = None, holding: Container[int] | None = None
    ) -> Watch:
        """Register a subscriber of `stream` (a member of `group` when given).

        `holding` (a live view of the cursors a group member holds) limits the
        acknowledgements it is told about, and woken for, to its own.

        Use as a context manager, or call `Watch.close()` when done.
        Raises `HubClosedError` once the hub is closed.
        """
        if self.closed:
            raise HubClosedError("the event hub is closed")
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
        watch = Watch(self, stream, group, holding)
        self._watches[stream].add(watch)
        if group is not None:
            self._groups.setdefault((stream, group), set()).add(watch)
        return watch

    def notify(self, stream: Stream, stored_events: Sequence[StoredEvent] = ()) -> None:
        """New events were committed to `stream`: wake every subscriber of it.

        `stored_events` (the Ingestor's `on_stored(stream, events)`: committed
        events, in cursor order) are kept until the next notification of the
        stream, for `latest`; an empty sequence (the default) says only "read".
        """
        if self._off_loop():
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self.notify, stream, ())
            return
        self._sequence[stream] += 1
        self._latest[stream] = tuple(stored_events)
        for watch in self._watches[stream]:
            watch._wake()

    def latest(self, stream: Stream, sequence: int, after: int) -> Sequence[StoredEvent]:
        """The events of notification `sequence` when it is still the latest of
        `stream` and they are exactly the ones right after cursor `after` (the
        first is `after + 1`, no cursor missing); otherwise empty: read the store.
        """
        events = self._latest[stream]
        if (
            not events
            or sequence != self._sequence[stream]
            or events[0].cursor != after + 1
            or events[-1].cursor != after + len(events)
        ):
            return ()
        return events

    def notify_group(self, stream: Stream, group: str, acked: Sequence[int] = ()) -> None:
        """Something changed in a consumer group. With `acked` (cursors were
        acknowledged), the members holding them drop them and wake to claim
        more; without (leases expired or were released), every member wakes to
        claim them."""
        if self._off_loop():
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self.notify_group, stream, group, tuple(acked))
            return
        for watch in self._groups.get((stream, group), ()):
            if acked:
                watch._add_acked(acked)
            else:
                watch._wake()

    def sequence(self, stream: Stream) -> int:
        """How many notifications `stream` has had. A store read started when
        the sequence was N sees every event notified up to N, so subscribers
        woken by notification N may share it (see `EventReader`)."""
        return self._sequence[stream]

    def subscriber_count(self, stream: Stream) -> int:
        """Active subscribers of `stream` (group members included), for metrics."""
        return len(self._watches[stream])

    def subscriber_counts(self) -> dict[Stream, int]:
        """Active subscribers per stream."""
        return {stream: len(watches) for stream, watches in self._watches.items()}

    def group_member_count(self, stream: Stream, group: str) -> int:
        """Connected members of a consumer group in this process."""
        return len(self._groups.get((stream, group), ()))

    def _off_loop(self) -> bool:
        return self._loop_thread is not None and threading.get_ident() != self._loop_thread

    def _unregister(self, watch: Watch) -> None:
        self._watches[watch.stream].discard(watch)
        if watch.group is not None:
            key = (watch.stream, watch.group)
            members = self._groups.get(key)
            if members is not None:
                members.discard(watch)
                if not members:
                    del self._groups[key]
