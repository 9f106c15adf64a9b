"""The events side of the gRPC API: streams, consumer-group acks, send status,
lists of stored events and the suppression list.

The servicer delegates these RPCs here unchanged (`StreamDeliveryReports =
events_api.stream_delivery_reports`, ...). Every field is validated up front;
all problems of a request come back in one `INVALID_ARGUMENT` with a
`BadRequest`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, TypeAlias, TypeVar

import grpc

from smsgateway.api.convert import (
    REPORT_STATUSES,
    ResponseCache,
    codes_for_statuses,
    delivery_status,
    report_to_proto,
    stream_from_proto,
    suppression_to_proto,
    uplink_to_proto,
)
from smsgateway.api.errors import (
    ApiError,
    FieldViolation,
    handle_errors,
    invalid_argument,
    not_found,
)
from smsgateway.events.hub import EventHub, HubClosedError
from smsgateway.events.model import (
    EventFilter,
    ReportFilter,
    StoredEvent,
    StoredReport,
    StoredUplink,
    Stream,
    UplinkFilter,
)
from smsgateway.events.ports import ConsumerGroups, EventLog
from smsgateway.events.subscriptions import (
    CursorAheadError,
    EventReader,
    Start,
    StartKind,
    SubscriptionConfig,
    filter_key,
    group_member,
    join_group,
    subscribe,
)
from smsgateway.messaging import normalize_phone_number, phone_number_problem, validate_sign
from smsgateway.observability.tracing import delivery_span
from smsgateway.security.permissions import current_caller, group_name, read_scope, require_sign
from smsgateway.sending.ports import SendLog, Suppressions
from smsgateway.v1 import smsgateway_pb2 as pb

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
EventFilterT = TypeVar("EventFilterT", ReportFilter, UplinkFilter)

FILTER_LIST_MAX = 100
BIZ_ID_MAX = 64
GROUP_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
ACK_DEADLINE_RANGE = (1.0, 600.0)
MAX_OUTSTANDING_RANGE = (1, 10_000)
ACK_CURSORS_MAX = 10_000
PAGE_SIZE_MAX = 1_000
PAGE_TOKEN_MAX = 1_024
REASON_MAX = 200
_VIOLATIONS_MAX = 100
"""Violations reported per request: enough to fix it, bounded for huge lists."""

# Timestamps a datetime can hold (0001-01-01 .. 9999-12-31).
_TS_MIN, _TS_MAX = -62_135_596_800, 253_402_300_799


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EventsApiConfig:
    """Defaults and tuning of the events RPCs."""

    subscription: SubscriptionConfig = field(default_factory=SubscriptionConfig)
    """How streams read the store (page size, safety-net poll interval)."""
    default_ack_deadline_seconds: float = 30.0
    """Ack deadline of a consumer-group member that names none."""
    default_max_outstanding: int = 100
    """Unacknowledged events a member may hold when it names no limit."""
    default_page_size: int = 100
    """Page size of the list RPCs when the caller names none."""


@dataclass(frozen=True, slots=True)
class _GroupOptions:
    name: str
    ack_deadline: float
    max_outstanding: int


@dataclass(frozen=True, slots=True)
class _StreamPlan:
    stream: Stream
    start: Start
    event_filter: EventFilter
    group: _GroupOptions | None


@dataclass(frozen=True, slots=True)
class EventStores:
    """The storage ports the event RPCs use."""

    events: EventLog
    groups: ConsumerGroups
    send_log: SendLog
    suppressions: Suppressions


class EventsApi:
    """Implements the event RPCs of `SmsGateway` on the event stores and an `EventHub`."""

    def __init__(
        self,
        stores: EventStores,
        hub: EventHub,
        *,
        config: EventsApiConfig = EventsApiConfig(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` is the monotonic clock consumer-group members time their leases by."""
        self._stores = stores
        self._hub = hub
        self._config = config
        self._clock = clock
        # Shared by every plain subscriber: identical reads after one wake-up
        # become one store call.
        self._reader = EventReader(stores.events)
        # Fan-out sends one event to many subscribers: convert it once.
        self._responses = ResponseCache()

    # -- streams --------------------------------------------------------------
    @handle_errors
    async def stream_delivery_reports(
        self, request: pb.StreamDeliveryReportsRequest, context: Context
    ) -> AsyncIterator[pb.StreamDeliveryReportsResponse]:
        """StreamDeliveryReports: replay, then live; optionally as a consumer-group member."""
        violations: list[FieldViolation] = []
        event_filter = _scoped(_report_filter(request.filter, violations))
        plan = self._stream_plan(Stream.REPORTS, request, event_filter, violations)
        async with aclosing(self._events(plan)) as events:
            async for event in events:
                assert isinstance(event, StoredReport)
                with delivery_span(Stream.REPORTS.value, event.traceparent, event.cursor):
                    report = self._responses.report(event)
                yield report

    @handle_errors
    async def stream_uplinks(
        self, request: pb.StreamUplinksRequest, context: Context
    ) -> AsyncIterator[pb.StreamUplinksResponse]:
        """StreamUplinks: as `stream_delivery_reports`, for uplinks."""
        violations: list[FieldViolation] = []
        event_filter = _scoped(_uplink_filter(request.filter, violations))
        plan = self._stream_plan(Stream.UPLINKS, request, event_filter, violations)
        async with aclosing(self._events(plan)) as events:
            async for event in events:
                assert isinstance(event, StoredUplink)
                with delivery_span(Stream.UPLINKS.value, event.traceparent, event.cursor):
                    uplink = self._responses.uplink(event)
                yield uplink

    def _stream_plan(
        self,
        stream: Stream,
        request: Any,
        event_filter: EventFilter,
        violations: list[FieldViolation],
    ) -> _StreamPlan:
        start = _start(request.start, violations)
        group = (
            self._group_options(request.consumer_group, violations)
            if request.HasField("consumer_group")
            else None
        )
        _raise_if_any(violations)
        if group is not None:  # callers never share, ack or delete each other's groups
            group = dataclasses.replace(group, name=group_name(current_caller(), group.name))
        return _StreamPlan(stream, start, event_filter, group)

    def _group_options(self, options: Any, violations: list[FieldViolation]) -> _GroupOptions:
        name = options.name
        if not GROUP_NAME.fullmatch(name):
            violations.append(
                FieldViolation(
                    "consumer_group.name",
                    "is required to join a group: 1 to 64 characters of [A-Za-z0-9._-]"
                    if not name
                    else f"{name[:80]!r} must be 1 to 64 characters of [A-Za-z0-9._-]",
                )
            )
        ack_deadline = self._config.default_ack_deadline_seconds
        if options.HasField("ack_deadline"):
            low, high = ACK_DEADLINE_RANGE
            ack_deadline = options.ack_deadline.seconds + options.ack_deadline.nanos / 1e9
            if not low <= ack_deadline <= high:
                violations.append(
                    FieldViolation(
                        "consumer_group.ack_deadline",
                        f"is {ack_deadline:g} s; must be {low:g} s to {high:g} s",
                    )
                )
        max_outstanding = options.max_outstanding or self._config.default_max_outstanding
        low_n, high_n = MAX_OUTSTANDING_RANGE
        if not low_n <= max_outstanding <= high_n:
            violations.append(
                FieldViolation(
                    "consumer_group.max_outstanding",
                    f"is {max_outstanding}; must be {low_n} to {high_n} (0 for the default)",
                )
            )
        return _GroupOptions(name, ack_deadline, max_outstanding)

    async def _events(self, plan: _StreamPlan) -> AsyncGenerator[StoredEvent, None]:
        """The plan's events, with the stream-level failures mapped to API errors."""
        try:
            if plan.group is None:
                events = subscribe(
                    self._reader,
                    self._hub,
                    plan.stream,
                    plan.start,
                    plan.event_filter,
                    self._config.subscription,
                )
            else:
                await join_group(
                    self._stores.events,
                    self._stores.groups,
                    plan.stream,
                    plan.group.name,
                    plan.start,
                    plan.event_filter,
                )
                events = group_member(
                    self._stores.groups,
                    self._hub,
                    plan.stream,
                    plan.group.name,
                    uuid.uuid4().hex,
                    plan.event_filter,
                    plan.group.ack_deadline,
                    plan.group.max_outstanding,
                    self._config.subscription,
                    self._clock,
                )
            async with aclosing(events) as iterator:
                async for event in iterator:
                    yield event
        except CursorAheadError as exc:
            raise ApiError(
                grpc.StatusCode.OUT_OF_RANGE,
                str(exc),
                reason="CURSOR_AHEAD",
                metadata={"last_cursor": str(exc.last_cursor)},
            ) from None
        except HubClosedError:
            raise ApiError(
                grpc.StatusCode.UNAVAILABLE,
                "the gateway is shutting down; reconnect from your last cursor",
                reason="SHUTTING_DOWN",
                retry_delay=1.0,
            ) from None

    # -- consumer groups --------------------------------------------------------
    @handle_errors
    async def acknowledge_events(
        self, request: pb.AcknowledgeEventsRequest, context: Context
    ) -> pb.AcknowledgeEventsResponse:
        """AcknowledgeEvents: drop the leases of these cursors in the group."""
        stream, violations = _stream_and_group(request.stream, request.consumer_group)
        cursors = list(request.cursors)
        if not cursors:
            violations.append(FieldViolation("cursors", "at least one cursor is required"))
        elif len(cursors) > ACK_CURSORS_MAX:
            violations.append(
                FieldViolation(
                    "cursors", f"holds {len(cursors)} cursors; at most {ACK_CURSORS_MAX} allowed"
                )
            )
        else:
            for index, cursor in enumerate(cursors):
                if cursor <= 0:
                    violations.append(
                        FieldViolation(
                            f"cursors[{index}]", f"{cursor} is not a cursor (must be > 0)"
                        )
                    )
        _raise_if_any(violations)
        assert stream is not None
        unique = sorted(set(cursors))
        group = group_name(current_caller(), request.consumer_group)
        count = await self._stores.groups.ack(stream, group, unique)
        # Members in this process stop counting them and claim more.
        self._hub.notify_group(stream, group, unique)
        return pb.AcknowledgeEventsResponse(acknowledged_count=count)

    @handle_errors
    async def delete_consumer_group(
        self, request: pb.DeleteConsumerGroupRequest, context: Context
    ) -> pb.DeleteConsumerGroupResponse:
        """DeleteConsumerGroup: drop the group's position and leases; members end ABORTED."""
        stream, violations = _stream_and_group(request.stream, request.consumer_group)
        _raise_if_any(violations)
        assert stream is not None
        group = group_name(current_caller(), request.consumer_group)
        deleted = await self._stores.groups.delete_group(stream, group)
        if deleted:
            log.info("consumer group deleted", extra={"stream": stream.value, "group": group})
            # Members in this process wake, find the group gone and end their streams.
            self._hub.notify_group(stream, group)
        return pb.DeleteConsumerGroupResponse(deleted=deleted)

    # -- send status ------------------------------------------------------------
    @handle_errors
    async def get_send_status(
        self, request: pb.GetSendStatusRequest, context: Context
    ) -> pb.GetSendStatusResponse:
        """GetSendStatus: every recipient of one bizId, PENDING until its report arrives."""
        biz_id = request.biz_id
        if not biz_id or len(biz_id) > BIZ_ID_MAX:
            raise invalid_argument(
                [FieldViolation("biz_id", f"is required: 1 to {BIZ_ID_MAX} characters")]
            )
        batch = await self._stores.send_log.sent_batch(biz_id)
        latest = await self._stores.send_log.latest_reports(biz_id)
        caller = current_caller()
        if not caller.any_sign:
            # Another caller's send does not exist for this one (NOT_FOUND, no hint).
            if batch is not None and not caller.may_use_sign(batch.sign):
                batch, latest = None, {}
            latest = {p: r for p, r in latest.items() if caller.may_use_sign(r.sign)}
        if batch is None and not latest:
            raise not_found(
                f"no send and no report with bizId {biz_id!r}",
                "SEND_NOT_FOUND",
                {"biz_id": biz_id},
            )
        # Reports name the number as the provider wrote it; the send log has it
        # normalised. Match on the normalised form.
        by_number: dict[str, StoredReport] = {}
        for phone, stored in sorted(latest.items(), key=lambda item: item[1].cursor):
            by_number[normalize_phone_number(phone) or phone] = stored
        numbers = list(batch.phone_numbers) if batch is not None else []
        sent = set(numbers)
        numbers += [n for n in by_number if n not in sent]
        response = pb.GetSendStatusResponse(
            biz_id=biz_id,
            total_count=len(numbers),
            caller=batch.caller if batch is not None else "",
        )
        for number in numbers:
            recipient = response.recipients.add(phone_number=number)
            report = by_number.get(number)
            if report is None:
                recipient.status = pb.DELIVERY_STATUS_PENDING
                response.pending_count += 1
                continue
            recipient.status = delivery_status(report.report.provider_code)
            recipient.report.CopyFrom(report_to_proto(report))
            if recipient.status == pb.DELIVERY_STATUS_DELIVERED:
                response.delivered_count += 1
            else:
                response.failed_count += 1
        return response

    # -- lists ------------------------------------------------------------------
    @handle_errors
    async def list_delivery_reports(
        self, request: pb.ListDeliveryReportsRequest, context: Context
    ) -> pb.ListDeliveryReportsResponse:
        """ListDeliveryReports: stored reports, oldest first, one page at a time."""
        violations: list[FieldViolation] = []
        event_filter = _scoped(_report_filter(request.filter, violations))
        events, token = await self._list_page(
            Stream.REPORTS, "reports", event_filter, request, violations
        )
        return pb.ListDeliveryReportsResponse(
            reports=[report_to_proto(e) for e in events if isinstance(e, StoredReport)],
            next_page_token=token,
        )

    @handle_errors
    async def list_uplinks(
        self, request: pb.ListUplinksRequest, context: Context
    ) -> pb.ListUplinksResponse:
        """ListUplinks: stored uplinks, oldest first, one page at a time."""
        violations: list[FieldViolation] = []
        event_filter = _scoped(_uplink_filter(request.filter, violations))
        events, token = await self._list_page(
            Stream.UPLINKS, "uplinks", event_filter, request, violations
        )
        return pb.ListUplinksResponse(
            uplinks=[uplink_to_proto(e) for e in events if isinstance(e, StoredUplink)],
            next_page_token=token,
        )

    async def _list_page(
        self,
        stream: Stream,
        kind: str,
        event_filter: EventFilter,
        request: Any,
        violations: list[FieldViolation],
    ) -> tuple[list[StoredEvent], str]:
        page_size = self._page_size(request.page_size, violations)
        fingerprint = _fingerprint(filter_key(event_filter))
        after = _decode_token(request.page_token, kind, fingerprint, violations)
        _raise_if_any(violations)
        cursor = int(after) if isinstance(after, int) else 0
        # One extra tells whether another page exists, so the last page never
        # hands out a token that leads to an empty page.
        events = await self._stores.events.read(stream, cursor, page_size + 1, event_filter)
        if len(events) <= page_size:
            return events, ""
        page = events[:page_size]
        return page, _encode_token(kind, fingerprint, page[-1].cursor)

    def _page_size(self, value: int, violations: list[FieldViolation]) -> int:
        if value == 0:
            return self._config.default_page_size
        if not 1 <= value <= PAGE_SIZE_MAX:
            violations.append(
                FieldViolation(
                    "page_size", f"is {value}; must be 1 to {PAGE_SIZE_MAX} (0 for the default)"
                )
            )
        return value

    # -- suppressions -------------------------------------------------------------
    @handle_errors
    async def list_suppressions(
        self, request: pb.ListSuppressionsRequest, context: Context
    ) -> pb.ListSuppressionsResponse:
        """ListSuppressions: ordered by sign, then phone number."""
        violations: list[FieldViolation] = []
        if request.sign:
            violations += _sign_violations(request.sign, "sign")
        sign = read_scope(current_caller(), request.sign, "sign").sign
        page_size = self._page_size(request.page_size, violations)
        fingerprint = _fingerprint(sign)
        after = _decode_token(request.page_token, "suppressions", fingerprint, violations)
        _raise_if_any(violations)
        key = (after[0], after[1]) if isinstance(after, list) else None
        rows = await self._stores.suppressions.list_suppressions(sign, key, page_size + 1)
        token = ""
        if len(rows) > page_size:
            rows = rows[:page_size]
            last = rows[-1]
            token = _encode_token("suppressions", fingerprint, [last.sign, last.phone_number])
        return pb.ListSuppressionsResponse(
            suppressions=[suppression_to_proto(s) for s in rows], next_page_token=token
        )

    @handle_errors
    async def add_suppression(
        self, request: pb.AddSuppressionRequest, context: Context
    ) -> pb.AddSuppressionResponse:
        """AddSuppression: idempotent; an existing suppression keeps its first record."""
        violations = _sign_violations(request.sign, "sign")
        number = _phone_number(request.phone_number, "phone_number", violations)
        reason = request.reason.strip() or "manual"
        if len(reason) > REASON_MAX:
            violations.append(
                FieldViolation(
                    "reason", f"is {len(reason)} characters long; at most {REASON_MAX} allowed"
                )
            )
        elif not reason.isprintable():
            violations.append(FieldViolation("reason", "must not contain control characters"))
        _raise_if_any(violations)
        assert number is not None
        require_sign(current_caller(), request.sign)
        suppression = await self._stores.suppressions.add_suppression(request.sign, number, reason)
        return pb.AddSuppressionResponse(suppression=suppression_to_proto(suppression))

    @handle_errors
    async def remove_suppression(
        self, request: pb.RemoveSuppressionRequest, context: Context
    ) -> pb.RemoveSuppressionResponse:
        """RemoveSuppression: removing a number that is not suppressed is not an error."""
        violations = _sign_violations(request.sign, "sign")
        number = _phone_number(request.phone_number, "phone_number", violations)
        _raise_if_any(violations)
        assert number is not None
        require_sign(current_caller(), request.sign)
        removed = await self._stores.suppressions.remove_suppression(request.sign, number)
        return pb.RemoveSuppressionResponse(removed=removed)


# -- validation helpers ---------------------------------------------------------


def _scoped(event_filter: EventFilterT) -> EventFilterT:
    """The filter limited to the caller's signs (unchanged for admin and any-sign callers);
    a foreign sign raises `SignNotAllowedError` (PERMISSION_DENIED)."""
    scope = read_scope(current_caller(), event_filter.sign, "filter.sign")
    if scope.sign == event_filter.sign:
        return event_filter
    return dataclasses.replace(event_filter, sign=scope.sign)


def _raise_if_any(violations: Sequence[FieldViolation]) -> None:
    if violations:
        raise invalid_argument(list(violations[:_VIOLATIONS_MAX]))


def _sign_violations(sign: str, field_name: str) -> list[FieldViolation]:
    return [FieldViolation(v.field, v.description) for v in validate_sign(sign, field_name)]


def _phone_number(text: str, field_name: str, violations: list[FieldViolation]) -> str | None:
    number = normalize_phone_number(text)
    if number is None:
        problem = phone_number_problem(text) or "is not an acceptable phone number"
        shown = f"{text[:40]!r} " if text.strip() else ""
        violations.append(FieldViolation(field_name, f"{shown}{problem}"))
    return number


def _phone_numbers(
    values: Sequence[str], field_name: str, violations: list[FieldViolation]
) -> frozenset[str]:
    if len(values) > FILTER_LIST_MAX:
        violations.append(
            FieldViolation(
                field_name, f"holds {len(values)} numbers; at most {FILTER_LIST_MAX} allowed"
            )
        )
        return frozenset()
    numbers: set[str] = set()
    for index, text in enumerate(values):
        number = _phone_number(text, f"{field_name}[{index}]", violations)
        if number is not None:
            numbers.add(number)
    return frozenset(numbers)


def _report_filter(message: Any, violations: list[FieldViolation]) -> ReportFilter:
    biz_ids: set[str] = set()
    if len(message.biz_ids) > FILTER_LIST_MAX:
        violations.append(
            FieldViolation(
                "filter.biz_ids",
                f"holds {len(message.biz_ids)} bizIds; at most {FILTER_LIST_MAX} allowed",
            )
        )
    else:
        for index, biz_id in enumerate(message.biz_ids):
            if not biz_id or len(biz_id) > BIZ_ID_MAX:
                violations.append(
                    FieldViolation(
                        f"filter.biz_ids[{index}]", f"must be 1 to {BIZ_ID_MAX} characters"
                    )
                )
            else:
                biz_ids.add(biz_id)
    phones = _phone_numbers(message.phone_numbers, "filter.phone_numbers", violations)
    if message.sign:
        violations += _sign_violations(message.sign, "filter.sign")
    statuses: set[int] = set()
    for index, status in enumerate(message.statuses):
        if status in REPORT_STATUSES:
            statuses.add(status)
        elif status == pb.DELIVERY_STATUS_PENDING:
            violations.append(
                FieldViolation(
                    f"filter.statuses[{index}]",
                    "DELIVERY_STATUS_PENDING matches no report (a pending recipient has "
                    "none); GetSendStatus lists pending recipients",
                )
            )
        else:
            violations.append(
                FieldViolation(f"filter.statuses[{index}]", f"unknown DeliveryStatus {status}")
            )
    codes, other = codes_for_statuses(statuses)
    return ReportFilter(
        biz_ids=frozenset(biz_ids),
        phone_numbers=phones,
        sign=message.sign,
        provider_codes=codes,
        other_codes=other,
    )


def _uplink_filter(message: Any, violations: list[FieldViolation]) -> UplinkFilter:
    phones = _phone_numbers(message.phone_numbers, "filter.phone_numbers", violations)
    if message.sign:
        violations += _sign_violations(message.sign, "filter.sign")
    return UplinkFilter(phone_numbers=phones, sign=message.sign)


def _start(message: Any, violations: list[FieldViolation]) -> Start:
    kind = message.WhichOneof("kind")
    if kind is None:
        return Start(StartKind.LATEST)
    if kind == "position":
        if message.position in (pb.START_POSITION_UNSPECIFIED, pb.START_POSITION_LATEST):
            return Start(StartKind.LATEST)
        if message.position == pb.START_POSITION_EARLIEST:
            return Start(StartKind.EARLIEST)
        violations.append(
            FieldViolation("start.position", f"unknown StartPosition {message.position}")
        )
        return Start()
    if kind == "after_cursor":
        if message.after_cursor < 0:
            violations.append(
                FieldViolation(
                    "start.after_cursor", f"is {message.after_cursor}; cursors are 0 or more"
                )
            )
        return Start(StartKind.AFTER_CURSOR, cursor=message.after_cursor)
    ts = message.start_time
    if not (_TS_MIN <= ts.seconds <= _TS_MAX and 0 <= ts.nanos < 1_000_000_000):
        violations.append(FieldViolation("start.start_time", "is not a valid timestamp"))
        return Start()
    return Start(StartKind.AT_TIME, time=ts.ToDatetime(tzinfo=UTC))


# -- page tokens ------------------------------------------------------------------
# A token is urlsafe-base64 (no padding) of a small JSON object: a version, the
# list it belongs to, a fingerprint of the filter it was issued for, and the
# position after which the next page starts. Opaque to callers; checked on use.

_TOKEN_VERSION = 1


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode_token(kind: str, fingerprint: str, after: int | list[str]) -> str:
    payload = {"v": _TOKEN_VERSION, "k": kind, "f": fingerprint, "a": after}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_CURSOR_MAX = 2**63 - 1


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _decode_token(
    token: str, kind: str, fingerprint: str, violations: list[FieldViolation]
) -> int | list[str] | None:
    """The position a token holds; None for no token (or a bad one, with a violation)."""
    if not token:
        return None
    bad = FieldViolation("page_token", "is not a page token returned by this RPC")
    if len(token) > PAGE_TOKEN_MAX or not token.isascii():
        violations.append(bad)
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        violations.append(bad)
        return None
    if not isinstance(payload, dict) or payload.get("v") != _TOKEN_VERSION:
        violations.append(bad)
        return None
    after = payload.get("a")
    # A forged token must not reach the store: a cursor beyond int64 or a lone
    # surrogate would fail there (INTERNAL) instead of here (INVALID_ARGUMENT).
    valid_after = (
        isinstance(after, int) and not isinstance(after, bool) and 0 <= after <= _CURSOR_MAX
        if kind != "suppressions"
        else isinstance(after, list)
        and len(after) == 2
        and all(isinstance(p, str) and len(p) <= 64 and _encodable(p) for p in after)
    )
    if payload.get("k") != kind or not valid_after:
        violations.append(bad)
        return None
    if payload.get("f") != fingerprint:
        violations.append(
            FieldViolation(
                "page_token",
                "was issued for a different filter; keep the filter the same while paging",
            )
        )
        return None
    return after  # type: ignore[no-any-return]


def _stream_and_group(stream_value: int, group: str) -> tuple[Stream | None, list[FieldViolation]]:
    """The stream and group-name fields of the consumer-group RPCs, with their violations."""
    violations: list[FieldViolation] = []
    stream = stream_from_proto(stream_value)
    if stream is None:
        violations.append(
            FieldViolation(
                "stream",
                "is required: EVENT_STREAM_DELIVERY_REPORTS or EVENT_STREAM_UPLINKS"
                if stream_value == pb.EVENT_STREAM_UNSPECIFIED
                else f"unknown EventStream value {stream_value}",
            )
        )
    if not GROUP_NAME.fullmatch(group):
        violations.append(
            FieldViolation("consumer_group", "is required: 1 to 64 characters of [A-Za-z0-9._-]")
        )
    return stream, violations
