"""The events side of the gRPC API: streams, consumer-group acks, send status,
lists of stored events and the suppression list.

The servicer delegates these RPCs here unchanged (`StreamDeliveryReports =
events_api.stream_delivery_reports`, ...); the two stream RPCs live in
`event_streams`, the request validation in `event_requests`. Every field is
validated up front; all problems of a request come back in one
`INVALID_ARGUMENT` with a `BadRequest`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import grpc

from smsgateway.api.convert import (
    delivery_status,
    report_to_proto,
    suppression_to_proto,
    uplink_to_proto,
)
from smsgateway.api.errors import FieldViolation, handle_errors, invalid_argument, not_found
from smsgateway.api.event_requests import (
    BIZ_ID_MAX,
    phone_number,
    raise_if_any,
    report_filter,
    scoped,
    sign_violations,
    stream_and_group,
    uplink_filter,
)
from smsgateway.api.event_streams import EventStreams
from smsgateway.api.page_tokens import decode_token, encode_token, filter_fingerprint
from smsgateway.events.hub import EventHub
from smsgateway.events.model import EventFilter, StoredEvent, StoredReport, StoredUplink, Stream
from smsgateway.events.ports import ConsumerGroups, EventLog
from smsgateway.events.subscriptions import SubscriptionConfig, filter_key
from smsgateway.messaging import normalize_phone_number
from smsgateway.security.permissions import current_caller, group_name, read_scope, require_sign
from smsgateway.sending.ports import SendLog, Suppressions
from smsgateway.v1 import smsgateway_pb2 as pb

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]

ACK_CURSORS_MAX = 10_000
PAGE_SIZE_MAX = 1_000
REASON_MAX = 200


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
        streams = EventStreams(
            stores.events,
            stores.groups,
            hub,
            subscription=config.subscription,
            default_ack_deadline=config.default_ack_deadline_seconds,
            default_max_outstanding=config.default_max_outstanding,
            clock=clock,
        )
        self.stream_delivery_reports = streams.stream_delivery_reports
        """StreamDeliveryReports (see `EventStreams`)."""
        self.stream_uplinks = streams.stream_uplinks
        """StreamUplinks (see `EventStreams`)."""

    # -- consumer groups --------------------------------------------------------
    @handle_errors
    async def acknowledge_events(
        self, request: pb.AcknowledgeEventsRequest, context: Context
    ) -> pb.AcknowledgeEventsResponse:
        """AcknowledgeEvents: drop the leases of these cursors in the group."""
        stream, violations = stream_and_group(request.stream, request.consumer_group)
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
        raise_if_any(violations)
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
        stream, violations = stream_and_group(request.stream, request.consumer_group)
        raise_if_any(violations)
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
        event_filter = scoped(report_filter(request.filter, violations))
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
        event_filter = scoped(uplink_filter(request.filter, violations))
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
        fingerprint = filter_fingerprint(filter_key(event_filter))
        after = decode_token(request.page_token, kind, fingerprint, violations)
        raise_if_any(violations)
        cursor = int(after) if isinstance(after, int) else 0
        # One extra tells whether another page exists, so the last page never
        # hands out a token that leads to an empty page.
        events = await self._stores.events.read(stream, cursor, page_size + 1, event_filter)
        if len(events) <= page_size:
            return events, ""
        page = events[:page_size]
        return page, encode_token(kind, fingerprint, page[-1].cursor)

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
            violations += sign_violations(request.sign, "sign")
        sign = read_scope(current_caller(), request.sign, "sign").sign
        page_size = self._page_size(request.page_size, violations)
        fingerprint = filter_fingerprint(sign)
        after = decode_token(request.page_token, "suppressions", fingerprint, violations)
        raise_if_any(violations)
        key = (after[0], after[1]) if isinstance(after, list) else None
        rows = await self._stores.suppressions.list_suppressions(sign, key, page_size + 1)
        token = ""
        if len(rows) > page_size:
            rows = rows[:page_size]
            last = rows[-1]
            token = encode_token("suppressions", fingerprint, [last.sign, last.phone_number])
        return pb.ListSuppressionsResponse(
            suppressions=[suppression_to_proto(s) for s in rows], next_page_token=token
        )

    @handle_errors
    async def add_suppression(
        self, request: pb.AddSuppressionRequest, context: Context
    ) -> pb.AddSuppressionResponse:
        """AddSuppression: idempotent; an existing suppression keeps its first record."""
        violations = sign_violations(request.sign, "sign")
        number = phone_number(request.phone_number, "phone_number", violations)
        reason = request.reason.strip() or "manual"
        if len(reason) > REASON_MAX:
            violations.append(
                FieldViolation(
                    "reason", f"is {len(reason)} characters long; at most {REASON_MAX} allowed"
                )
            )
        elif not reason.isprintable():
            violations.append(FieldViolation("reason", "must not contain control characters"))
        raise_if_any(violations)
        assert number is not None
        require_sign(current_caller(), request.sign)
        suppression = await self._stores.suppressions.add_suppression(request.sign, number, reason)
        return pb.AddSuppressionResponse(suppression=suppression_to_proto(suppression))

    @handle_errors
    async def remove_suppression(
        self, request: pb.RemoveSuppressionRequest, context: Context
    ) -> pb.RemoveSuppressionResponse:
        """RemoveSuppression: removing a number that is not suppressed is not an error."""
        violations = sign_violations(request.sign, "sign")
        number = phone_number(request.phone_number, "phone_number", violations)
        raise_if_any(violations)
        assert number is not None
        require_sign(current_caller(), request.sign)
        removed = await self._stores.suppressions.remove_suppression(request.sign, number)
        return pb.RemoveSuppressionResponse(removed=removed)
