"""The event store's data model (the storage ports are in `events/ports.py`).

Cursors are positive integers, increasing per stream and never reused; cursor 0
means "before the first event".
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

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
    caller: str = ""
    """The caller (callers-file name) whose send made the call; "" when unknown."""


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


class OutOfRangeError(Exception):
    """A start cursor older than the retained history."""

    def __init__(self, stream: Stream, cursor: int, oldest_cursor: int) -> None:
        super().__init__(f"{stream} cursor {cursor} is older than the oldest retained")
        self.stream = stream
        self.cursor = cursor
        self.oldest_cursor = oldest_cursor


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A push body (or one item of it) that could not be stored as an event."""

    stream: Stream
    received_at: datetime
    error: str
    body: bytes
    """The first bytes of the body, up to the store's bound."""
    original_length: int
    """The body's full length in bytes."""


class TooManyGroupsError(Exception):
    """Creating a consumer group would exceed the configured number of groups."""


class GroupMismatchError(Exception):
    """Joining a consumer group with a filter other than the one it was created with."""


class UnknownGroupError(LookupError):
    """Claiming from a consumer group that was never joined."""


KNOWN_PROVIDER_CODES: frozenset[str] = frozenset({"10000", "1", "4", "5", "6", "7", "8", "9"})
"""The report codes the provider documents; `ReportFilter.other_codes` matches the rest."""


class IsoTimes:
    """`isoformat()` of the datetimes of one batch, each distinct object formatted once.

    Keyed by object identity first (the reports of a push share the few time objects
    its parse made; each object is kept alive by the cache, so an identity is never
    reused while the cache lives), then by value with the zone (aware datetimes
    compare by instant, but 12:00+08:00 and 04:00+00:00 keep their own text).
    Costs a dict look-up where isoformat costs ~1 µs.
    """

    __slots__ = ("_by_id", "_by_value")

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[datetime, str]] = {}
        self._by_value: dict[tuple[datetime, object], str] = {}

    def __call__(self, value: datetime | None) -> str | None:
        """`value.isoformat()`, None for None."""
        if value is None:
            return None
        known = self._by_id.get(id(value))
        if known is None:
            key = (value, value.tzinfo)
            text = self._by_value.get(key)
            if text is None:
                text = self._by_value[key] = value.isoformat()
            known = self._by_id[id(value)] = (value, text)
        return known[1]


def report_dedup_keys(reports: Sequence[DeliveryReportIn], iso: IsoTimes) -> list[str]:
    """`[r.dedup_key() for r in reports]`, each distinct report time formatted once."""
    return [
        f"{r.biz_id}|{r.phone_number}|{r.provider_code}|{iso(r.report_time) or ''}" for r in reports
    ]
