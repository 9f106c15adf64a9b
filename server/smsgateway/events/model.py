"""The event store's data model and interface.

Every backend (embedded SQLite now, Redis for many replicas) implements
`EventStore`; nothing outside `events/` and `app.py` knows which one runs.
Cursors are positive integers, increasing per stream and never reused; cursor 0
means "before the first event".
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from smsgateway.upstream.models import DeliveryReport as DeliveryReportIn
from smsgateway.upstream.models import Uplink as UplinkIn

__all__ = ["DeliveryReportIn", "UplinkIn"]


class Stream(enum.StrEnum):
    """The two event streams."""

    REPORTS = "reports"
    UPLINKS = "uplinks"


class Source(enum.StrEnum):
    """How an event reached the gateway."""

    PUSH = "push"
    PULL = "pull"


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A delivery report as stored, with its cursor."""

    cursor: int
    report: DeliveryReportIn
    receive_time: datetime
    source: Source
    sign: str = ""
    """The sign of the send, when the send went through this gateway."""
    traceparent: str = ""
    """W3C traceparent of the span that ingested it ("" when none)."""


@dataclass(frozen=True, slots=True)
class StoredUplink:
    """An uplink as stored, with its cursor."""

    cursor: int
    uplink: UplinkIn
    receive_time: datetime
    source: Source
    opt_out: bool = False
    traceparent: str = ""


StoredEvent = StoredReport | StoredUplink


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Filters on delivery reports; empty fields match everything."""

    biz_ids: frozenset[str] = frozenset()
    phone_numbers: frozenset[str] = frozenset()
    sign: str = ""
    provider_codes: frozenset[str] = frozenset()
    """Codes to match; derived from the requested delivery statuses."""
    other_codes: bool = False
    """Also match codes outside the known set (for the UNKNOWN status)."""


@dataclass(frozen=True, slots=True)
class UplinkFilter:
    """Filters on uplinks; empty fields match everything."""

    phone_numbers: frozenset[str] = frozenset()
    sign: str = ""


EventFilter = ReportFilter | UplinkFilter


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one append stored."""

    stored: Sequence[StoredEvent]
    """The new events, in cursor order."""
    duplicates: int
    """Events dropped because the store already had them."""


@dataclass(frozen=True, slots=True)
class SentBatch:
    """One accepted provider call, recorded so that reports can be matched to it."""

    biz_id: str
    phone_numbers: Sequence[str]
    sign: str
    kind: int
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Suppression:
    """A phone number that opted out of a sign's marketing messages."""

    sign: str
    phone_number: str
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A consumer group's state."""

    stream: Stream
    name: str
    position: int
    """Every event at or below this cursor has been handed out at least once."""
    filter_key: str
    """A canonical text of the filter the group was created with."""
    pending: int = 0
    """Events handed out and not yet acknowledged."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How much history the store keeps."""

    max_age_seconds: float = 7 * 24 * 3600
    max_events: int = 5_000_000
    """Per stream."""


@dataclass(slots=True)
class StoreStats:
    """Counters a backend exposes for metrics."""

    dead_letters: int = 0
    last_cursor: dict[Stream, int] = field(default_factory=dict)


class OutOfRangeError(Exception):
    """A start cursor older than the retained history."""

    def __init__(self, stream: Stream, cursor: int, oldest_cursor: int) -> None:
        super().__init__(f"{stream} cursor {cursor} is older than the oldest retained")
        self.stream = stream
        self.cursor = cursor
        self.oldest_cursor = oldest_cursor


class GroupMismatchError(Exception):
    """Joining a consumer group with a filter other than the one it was created with."""


class UnknownGroupError(LookupError):
    """Claiming from a consumer group that was never joined."""


KNOWN_PROVIDER_CODES: frozenset[str] = frozenset({"10000", "1", "4", "5", "6", "7", "8", "9"})
"""The report codes the provider documents; `ReportFilter.other_codes` matches the rest."""


class EventStore(Protocol):
    """Durable storage of reports, uplinks, consumer groups, sends and suppressions.

    Every method is a coroutine that does not block the event loop. An append
    returns only after its batch is durably committed.
    """

    async def open(self) -> None:
        """Create or migrate the schema; idempotent."""

    async def close(self) -> None:
        """Release resources."""

    # -- events -------------------------------------------------------------
    async def append_reports(
        self, reports: Sequence[DeliveryReportIn], source: Source, traceparent: str = ""
    ) -> AppendResult:
        """Store new reports (de-duplicated by `dedup_key`) in one transaction."""
        ...

    async def append_uplinks(
        self,
        uplinks: Sequence[UplinkIn],
        source: Source,
        opt_out_keys: frozenset[str] = frozenset(),
        traceparent: str = "",
    ) -> AppendResult:
        """Store new uplinks; `opt_out_keys` are the `dedup_key`s of opt-outs.

        The opt-outs' suppressions are written in the same transaction.
        """
        ...

    async def read(
        self, stream: Stream, after: int, limit: int, event_filter: EventFilter | None = None
    ) -> list[StoredEvent]:
        """Events with cursor > `after`, oldest first, at most `limit` (filter applied)."""
        ...

    async def last_cursor(self, stream: Stream) -> int:
        """The newest cursor of the stream, 0 when empty."""
        ...

    async def oldest_cursor(self, stream: Stream) -> int:
        """The oldest retained cursor; `last_cursor + 1` when empty."""
        ...

    async def cursor_before_time(self, stream: Stream, at: datetime) -> int:
        """The cursor just before the first event received at or after `at`."""
        ...

    async def add_dead_letter(self, stream: Stream, body: bytes, error: str) -> None:
        """Keep a push body that could not be parsed."""
        ...

    async def prune(self, retention: Retention) -> int:
        """Drop events beyond retention; return how many."""
        ...

    async def stats(self) -> StoreStats:
        """Counters for metrics (dead letters kept, newest cursor per stream)."""
        ...

    # -- consumer groups ----------------------------------------------------
    async def join_group(
        self, stream: Stream, name: str, start_after: int, filter_key: str
    ) -> GroupInfo:
        """Get the group, creating it at `start_after` when new.

        Raises `GroupMismatchError` when it exists with another filter.
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
        filter are skipped (advanced past without a lease).
        """
        ...

    async def ack(self, stream: Stream, group: str, cursors: Sequence[int]) -> int:
        """Drop the leases of these cursors; return how many were pending."""
        ...

    async def release(self, stream: Stream, group: str, member: str) -> int:
        """Expire every lease `member` holds (it disconnected); return how many."""
        ...

    async def groups(self, stream: Stream) -> list[GroupInfo]:
        """Every group of the stream with its backlog (for metrics)."""
        ...

    # -- sends and status ---------------------------------------------------
    async def record_sends(self, batches: Sequence[SentBatch]) -> None:
        """Remember accepted provider calls (bizId → numbers, sign)."""
        ...

    async def sent_batch(self, biz_id: str) -> SentBatch | None:
        """The recorded provider call, if any."""
        ...

    async def latest_reports(self, biz_id: str) -> dict[str, StoredReport]:
        """The newest report per phone number of a bizId."""
        ...

    # -- suppressions -------------------------------------------------------
    async def add_suppression(self, sign: str, phone_number: str, reason: str) -> Suppression:
        """Suppress a number for a sign (idempotent; keeps the first record)."""
        ...

    async def remove_suppression(self, sign: str, phone_number: str) -> bool:
        """Lift a suppression; True when there was one."""
        ...

    async def list_suppressions(
        self, sign: str, after: tuple[str, str] | None, limit: int
    ) -> list[Suppression]:
        """Suppressions ordered by (sign, phone), after the given key."""
        ...

    async def suppressed(self, sign: str, phone_numbers: Sequence[str]) -> set[str]:
        """Which of these numbers are suppressed for the sign."""
        ...
