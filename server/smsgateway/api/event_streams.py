"""The stream RPCs: `StreamDeliveryReports` and `StreamUplinks`.

A stream replays the stored events from its start position, then follows new
ones, as a plain subscriber (every matching event) or as a consumer-group
member (the events leased to it). Events come from the subscription layer one
store call at a time (`subscribe_batches`, `group_member_batches`); a
subscriber that asked for `max_events_per_response` > 1 gets each such batch in
as few responses as that allows, in cursor order, and one that did not gets one
response per event, exactly as before batching existed. Every request field is
validated up front: all problems come back in one `INVALID_ARGUMENT`.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import grpc

from smsgateway.api import event_requests as req
from smsgateway.api.errors import ApiError, FieldViolation, handle_errors
from smsgateway.api.stream_responses import Responses, StreamResponses
from smsgateway.events.group_members import group_member_batches, join_group
from smsgateway.events.hub import EventHub, HubClosedError
from smsgateway.events.model import EventFilter, StoredEvent, Stream
from smsgateway.events.ports import ConsumerGroups, EventLog
from smsgateway.events.subscriptions import (
    CursorAheadError,
    EventReader,
    Start,
    SubscriptionConfig,
    subscribe_batches,
)
from smsgateway.security.permissions import current_caller, group_name
from smsgateway.v1 import smsgateway_pb2 as pb

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


R = TypeVar("R", pb.StreamDeliveryReportsResponse, pb.StreamUplinksResponse)


@dataclass(frozen=True, slots=True)
class _StreamPlan:
    stream: Stream
    start: Start
    event_filter: EventFilter
    group: req.GroupOptions | None
    per_response: int
    """Events per response: 1 fills the singular field, more the repeated one."""


class EventStreams:
    """Implements the two stream RPCs on the event log, the consumer groups and a hub."""

    def __init__(
        self,
        events: EventLog,
        groups: ConsumerGroups,
        hub: EventHub,
        *,
        subscription: SubscriptionConfig,
        default_ack_deadline: float,
        default_max_outstanding: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` is the monotonic clock consumer-group members time their leases by."""
        self._events_log = events
        self._groups = groups
        self._hub = hub
        self._subscription = subscription
        self._default_ack_deadline = default_ack_deadline
        self._default_max_outstanding = default_max_outstanding
        self._clock = clock
        # Shared by every plain subscriber: identical reads after one wake-up
        # become one store call (and one list, so one batched response).
        self._reader = EventReader(events)
        # Fan-out sends one event to many subscribers: convert it once.
        self._responses = StreamResponses()

    @handle_errors
    async def stream_delivery_reports(
        self, request: pb.StreamDeliveryReportsRequest, context: Context
    ) -> AsyncIterator[pb.StreamDeliveryReportsResponse]:
        """StreamDeliveryReports: replay, then live; optionally as a consumer-group member."""
        violations: list[FieldViolation] = []
        event_filter = req.scoped(req.report_filter(request.filter, violations))
        plan = self._stream_plan(Stream.REPORTS, request, event_filter, violations)
        async with aclosing(self._respond(plan, self._responses.reports)) as responses:
            async for response in responses:
                yield response

    @handle_errors
    async def stream_uplinks(
        self, request: pb.StreamUplinksRequest, context: Context
    ) -> AsyncIterator[pb.StreamUplinksResponse]:
        """StreamUplinks: as `stream_delivery_reports`, for uplinks."""
        violations: list[FieldViolation] = []
        event_filter = req.scoped(req.uplink_filter(request.filter, violations))
        plan = self._stream_plan(Stream.UPLINKS, request, event_filter, violations)
        async with aclosing(self._respond(plan, self._responses.uplinks)) as responses:
            async for response in responses:
                yield response

    async def _respond(self, plan: _StreamPlan, responses: Responses[R]) -> AsyncGenerator[R, None]:
        """The stream's responses: one event each, or up to `plan.per_response` each."""
        async with aclosing(self._batches(plan)) as batches:
            async for batch in batches:
                if plan.per_response == 1:
                    for event in batch:
                        yield responses.one(event)
                elif len(batch) <= plan.per_response:
                    yield responses.batch(batch)
                else:
                    for response in responses.many(batch, plan.per_response):
                        yield response

    def _stream_plan(
        self,
        stream: Stream,
        request: Any,
        event_filter: EventFilter,
        violations: list[FieldViolation],
    ) -> _StreamPlan:
        start = req.start(request.start, violations)
        group = (
            req.group_options(
                request.consumer_group,
                violations,
                default_ack_deadline=self._default_ack_deadline,
                default_max_outstanding=self._default_max_outstanding,
            )
            if request.HasField("consumer_group")
            else None
        )
        per_response = req.events_per_response(request.max_events_per_response, violations)
        req.raise_if_any(violations)
        if group is not None:  # callers never share, ack or delete each other's groups
            group = dataclasses.replace(group, name=group_name(current_caller(), group.name))
        return _StreamPlan(stream, start, event_filter, group, per_response)

    async def _batches(self, plan: _StreamPlan) -> AsyncGenerator[Sequence[StoredEvent], None]:
        """The plan's events, one store call's worth at a time, with the
        stream-level failures mapped to API errors."""
        try:
            if plan.group is None:
                batches = subscribe_batches(
                    self._reader,
                    self._hub,
                    plan.stream,
                    plan.start,
                    plan.event_filter,
                    self._subscription,
                )
            else:
                await join_group(
                    self._events_log,
                    self._groups,
                    plan.stream,
                    plan.group.name,
                    plan.start,
                    plan.event_filter,
                )
                batches = group_member_batches(
                    self._groups,
                    self._hub,
                    plan.stream,
                    plan.group.name,
                    uuid.uuid4().hex,
                    plan.event_filter,
                    plan.group.ack_deadline,
                    plan.group.max_outstanding,
                    self._subscription,
                    self._clock,
                )
            async with aclosing(batches) as iterator:
                async for batch in iterator:
                    yield batch
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
