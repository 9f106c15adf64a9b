"""The storage ports of `events/`: small Protocols, one per aggregate.

Backends (`smsgateway.backends.sqlite`, `smsgateway.backends.redis`) implement
them; only `app.py` knows which one runs. Every method is a coroutine that
never blocks the event loop, and raises `smsgateway.store_errors.StoreUnavailableError`
when the store cannot serve. Cursors are positive integers, increasing per stream
and never reused; cursor 0 means "before the first event".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from smsgateway.events.model import (
    AppendResult,
    DeadLetter,
    DeliveryReportIn,
    EventFilter,
    GroupInfo,
    Retention,
    Source,
    StoredEvent,
    Stream,
    UplinkIn,
)

OnStored = Callable[[Stream, Sequence[StoredEvent]], None]


class EventLog(Protocol):
    """The two append-only event streams, with de-duplication and cursor reads."""

    async def append_reports(
        self, reports: Sequence[DeliveryReportIn], source: Source, traceparent: str = ""
    ) -> AppendResult:
        """Store new reports (de-duplicated by `dedup_key`) in one atomic, durable step.

        Each stored report carries the sign of its send when the send log knows it.
        """
        ...

    async def append_uplinks(
        self,
        uplinks: Sequence[UplinkIn],
        source: Source,
        opt_out_keys: frozenset[str] = frozenset(),
        traceparent: str = "",
    ) -> AppendResult:
        """Store new uplinks; `opt_out_keys` are the `dedup_key`s of opt-outs.

        The suppressions of newly stored opt-outs are written in the same atomic step.
        """
        ...

    async def read(
        self, stream: Stream, after: int, limit: int, event_filter: EventFilter | None = None
    ) -> list[StoredEvent]:
        """Events with cursor > `after`, oldest first, at most `limit` (filter applied)."""
        ...

    async def last_cursor(self, stream: Stream) -> int:
        """The newest cursor ever handed out on the stream, 0 when none."""
        ...

    async def oldest_cursor(self, stream: Stream) -> int:
        """The oldest retained cursor; `last_cursor + 1` when the stream is empty."""
        ...

    async def cursor_before_time(self, stream: Stream, at: datetime) -> int:
        """The cursor just before the first event received at or after `at`."""
        ...

    async def prune(self, retention: Retention) -> int:
        """Drop events beyond retention (and the send log / leases they obsolete)."""
        ...


class EventFeed(Protocol):
    """Live wake-ups for events committed by *other* replicas.

    A single-process backend has nothing to do; a shared backend runs one
    blocking read loop per stream and calls `on_stored` for what others stored.
    """

    async def run(self, on_stored: OnStored) -> None:
        """Deliver other replicas' appends to `on_stored` until cancelled."""
        ...


class ConsumerGroups(Protocol):
    """Consumer groups: durable positions and leases (at-least-once, ack deadline)."""

    async def join_group(
        self, stream: Stream, name: str, start_after: int, filter_key: str
    ) -> GroupInfo:
        """Get the group, creating it at `start_after` when new.

        Raises `GroupMismatchError` when it exists with another filter and
        `TooManyGroupsError` when creating it would exceed the configured bound.
        """
        ...

    async def claim(
        self,
        stream: Stream,
        group: str,
        member: str,
        limit: int,
        lease_seconds: float,
        event_filter: EventFilter | None = None,
    ) -> list[StoredEvent]:
        """Lease up to `limit` events to `member`: expired leases first, then new events.

        New events advance the group's position; events that do not match the
        filter are skipped (advanced past without a lease). Raises
        `UnknownGroupError` for a group that does not exist.
        """
        ...

    async def ack(self, stream: Stream, group: str, cursors: Sequence[int]) -> int:
        """Drop the leases of these cursors; return how many were pending."""
        ...

    async def release(self, stream: Stream, group: str, member: str) -> int:
        """Expire every lease `member` holds (it disconnected); return how many."""
        ...

    async def groups(self, stream: Stream) -> list[GroupInfo]:
        """Every group of the stream with its pending count, ordered by name."""
        ...

    async def delete_group(self, stream: Stream, name: str) -> bool:
        """Delete a group with its position and leases; True when it existed."""
        ...

    async def prune_groups(self, idle_seconds: float) -> list[tuple[Stream, str]]:
        """Delete groups nobody joined, claimed from or acked for `idle_seconds`."""
        ...


class DeadLetters(Protocol):
    """Push bodies or items that could not be stored as events, bounded in count and bytes."""

    async def add_dead_letter(self, stream: Stream, body: bytes, error: str) -> None:
        """Keep a rejected body (its first bytes up to the backend's bound, plus its length).

        When the count or byte bound is reached the oldest dead letters are dropped.
        """
        ...

    async def dead_letters(
        self, stream: Stream | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        """The newest dead letters, newest first."""
        ...

    async def dead_letter_count(self) -> int:
        """How many dead letters are kept now."""
        ...
