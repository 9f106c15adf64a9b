"""Validation of the events RPCs' request fields, shared by the streams, the lists and
the consumer-group RPCs.

Each helper appends what is wrong to a `violations` list instead of raising, so
that one `INVALID_ARGUMENT` (a `BadRequest` naming every field) reports all the
problems of a request at once; `raise_if_any` raises it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeVar

from smsgateway.api.convert import REPORT_STATUSES, codes_for_statuses, stream_from_proto
from smsgateway.api.errors import FieldViolation, invalid_argument
from smsgateway.events.model import ReportFilter, Stream, UplinkFilter
from smsgateway.events.subscriptions import Start, StartKind
from smsgateway.messaging import normalize_phone_number, phone_number_problem, validate_sign
from smsgateway.security.permissions import current_caller, read_scope
from smsgateway.v1 import smsgateway_pb2 as pb

EventFilterT = TypeVar("EventFilterT", ReportFilter, UplinkFilter)

FILTER_LIST_MAX = 100
BIZ_ID_MAX = 64
GROUP_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
ACK_DEADLINE_RANGE = (1.0, 600.0)
MAX_OUTSTANDING_RANGE = (1, 10_000)
EVENTS_PER_RESPONSE_RANGE = (1, 1_000)
"""`max_events_per_response` of the stream requests (0 means 1)."""
_VIOLATIONS_MAX = 100
"""Violations reported per request: enough to fix it, bounded for huge lists."""

# Timestamps a datetime can hold (0001-01-01 .. 9999-12-31).
_TS_MIN, _TS_MAX = -62_135_596_800, 253_402_300_799


@dataclass(frozen=True, slots=True)
class GroupOptions:
    """A validated `ConsumerGroupOptions`."""

    name: str
    ack_deadline: float
    max_outstanding: int


def scoped(event_filter: EventFilterT) -> EventFilterT:
    """The filter limited to the caller's signs (unchanged for admin and any-sign callers);
    a foreign sign raises `SignNotAllowedError` (PERMISSION_DENIED)."""
    scope = read_scope(current_caller(), event_filter.sign, "filter.sign")
    if scope.sign == event_filter.sign:
        return event_filter
    return dataclasses.replace(event_filter, sign=scope.sign)


def raise_if_any(violations: Sequence[FieldViolation]) -> None:
    if violations:
        raise invalid_argument(list(violations[:_VIOLATIONS_MAX]))


def sign_violations(sign: str, field_name: str) -> list[FieldViolation]:
    return [FieldViolation(v.field, v.description) for v in validate_sign(sign, field_name)]


def phone_number(text: str, field_name: str, violations: list[FieldViolation]) -> str | None:
    number = normalize_phone_number(text)
    if number is None:
        problem = phone_number_problem(text) or "is not an acceptable phone number"
        shown = f"{text[:40]!r} " if text.strip() else ""
        violations.append(FieldViolation(field_name, f"{shown}{problem}"))
    return number


def phone_numbers(
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
        number = phone_number(text, f"{field_name}[{index}]", violations)
        if number is not None:
            numbers.add(number)
    return frozenset(numbers)


def report_filter(message: Any, violations: list[FieldViolation]) -> ReportFilter:
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
    phones = phone_numbers(message.phone_numbers, "filter.phone_numbers", violations)
    if message.sign:
        violations += sign_violations(message.sign, "filter.sign")
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


def uplink_filter(message: Any, violations: list[FieldViolation]) -> UplinkFilter:
    phones = phone_numbers(message.phone_numbers, "filter.phone_numbers", violations)
    if message.sign:
        violations += sign_violations(message.sign, "filter.sign")
    return UplinkFilter(phone_numbers=phones, sign=message.sign)


def start(message: Any, violations: list[FieldViolation]) -> Start:
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


def stream_and_group(stream_value: int, group: str) -> tuple[Stream | None, list[FieldViolation]]:
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


def group_options(
    options: Any,
    violations: list[FieldViolation],
    *,
    default_ack_deadline: float,
    default_max_outstanding: int,
) -> GroupOptions:
    """A `ConsumerGroupOptions` message, checked (the defaults fill unset fields)."""
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
    ack_deadline = default_ack_deadline
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
    max_outstanding = options.max_outstanding or default_max_outstanding
    low_n, high_n = MAX_OUTSTANDING_RANGE
    if not low_n <= max_outstanding <= high_n:
        violations.append(
            FieldViolation(
                "consumer_group.max_outstanding",
                f"is {max_outstanding}; must be {low_n} to {high_n} (0 for the default)",
            )
        )
    return GroupOptions(name, ack_deadline, max_outstanding)


def events_per_response(value: int, violations: list[FieldViolation]) -> int:
    """`max_events_per_response`, checked: 0 (unset) is 1, the unbatched default."""
    if value == 0:
        return 1
    low, high = EVENTS_PER_RESPONSE_RANGE
    if not low <= value <= high:
        violations.append(
            FieldViolation(
                "max_events_per_response",
                f"is {value}; must be {low} to {high:,} (0 for the default of 1)",
            )
        )
        return 1
    return value
