"""Batched stream responses (`max_events_per_response`): opt-in, every event once, in
cursor order, at most that many per response; the singular field is kept for the
subscribers that do not opt in; consumer groups lease every event of a batch."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from events_stream_helpers import EventsServer, follow, report, uplink

from smsgateway.events.model import Stream
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.rich_status import details_of

EARLIEST = pb.StreamStart(position=pb.START_POSITION_EARLIEST)


async def take_events(call: Any, n: int, field: str = "reports") -> tuple[list[int], list[Any]]:
    """Read responses until `n` events came; their cursors and the responses."""
    cursors: list[int] = []
    responses: list[Any] = []
    while len(cursors) < n:
        (response,) = await call.take(1)
        responses.append(response)
        cursors += [e.cursor for e in getattr(response, field)]
    return cursors, responses


async def test_a_batched_stream_delivers_every_event_once_in_order(events: EventsServer) -> None:
    stored = await events.reports([report() for _ in range(150)])  # more than a page (64)
    call = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(start=EARLIEST, max_events_per_response=50)
        )
    )
    replayed, responses = await take_events(call, 150)
    live = await events.reports([report() for _ in range(30)])
    followed, live_responses = await take_events(call, 30)
    await call.quiet()
    call.cancel()

    assert replayed == [e.cursor for e in stored]
    assert followed == [e.cursor for e in live]
    for response in responses + live_responses:
        assert not response.HasField("report")  # batched: the repeated field only
        assert 1 <= len(response.reports) <= 50
    # Several events per response, not one each.
    assert len(responses) < 150


async def test_the_default_and_1_keep_one_event_in_the_singular_field(
    events: EventsServer,
) -> None:
    stored = await events.reports([report() for _ in range(5)])
    for value in (0, 1):
        call = follow(
            events.stub.StreamDeliveryReports(
                pb.StreamDeliveryReportsRequest(start=EARLIEST, max_events_per_response=value)
            )
        )
        got = await call.take(5)
        await call.quiet()
        call.cancel()
        assert [m.report.cursor for m in got] == [e.cursor for e in stored]
        assert all(len(m.reports) == 0 for m in got)


async def test_batched_and_unbatched_subscribers_get_the_same_events(
    events: EventsServer,
) -> None:
    plain = follow(events.stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest()))
    batched = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(max_events_per_response=1000)
        )
    )
    while sum(events.hub.subscriber_counts().values()) < 2:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    stored: list[int] = []
    for _ in range(4):
        stored += [e.cursor for e in await events.reports([report() for _ in range(25)])]
    one_each = [m.report.cursor for m in await plain.take(100)]
    in_batches, _ = await take_events(batched, 100)
    plain.cancel()
    batched.cancel()
    assert one_each == stored
    assert in_batches == stored


async def test_resuming_after_a_cursor_inside_a_batch_continues_right_after_it(
    events: EventsServer,
) -> None:
    stored = [e.cursor for e in await events.reports([report() for _ in range(40)])]
    first = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(start=EARLIEST, max_events_per_response=100)
        )
    )
    (response,) = await first.take(1)
    first.cancel()
    processed = response.reports[len(response.reports) // 2].cursor  # stopped mid-batch
    resumed = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(
                start=pb.StreamStart(after_cursor=processed), max_events_per_response=100
            )
        )
    )
    rest, _ = await take_events(resumed, len([c for c in stored if c > processed]))
    await resumed.quiet()
    resumed.cancel()
    assert rest == [c for c in stored if c > processed]


async def test_batched_uplinks_fill_the_repeated_field(events: EventsServer) -> None:
    stored = await events.uplinks([uplink() for _ in range(20)])
    call = follow(
        events.stub.StreamUplinks(
            pb.StreamUplinksRequest(start=EARLIEST, max_events_per_response=7)
        )
    )
    got, responses = await take_events(call, 20, field="uplinks")
    call.cancel()
    assert got == [e.cursor for e in stored]
    assert all(1 <= len(r.uplinks) <= 7 and not r.HasField("uplink") for r in responses)


async def test_a_batched_group_member_holds_every_event_it_was_sent(
    events: EventsServer,
) -> None:
    stored = [e.cursor for e in await events.reports([report() for _ in range(30)])]
    request = pb.StreamDeliveryReportsRequest(
        start=EARLIEST,
        consumer_group=pb.ConsumerGroupOptions(name="billing", max_outstanding=12),
        max_events_per_response=5,
    )
    call = follow(events.stub.StreamDeliveryReports(request))
    first, responses = await take_events(call, 12)
    await call.quiet()  # holds max_outstanding: nothing more until acks
    assert first == stored[:12]
    assert all(1 <= len(r.reports) <= 5 for r in responses)
    (group,) = [g for g in await events.store.groups.groups(Stream.REPORTS) if "billing" in g.name]
    assert group.pending == 12  # every event of every response is leased
    ack = await events.stub.AcknowledgeEvents(
        pb.AcknowledgeEventsRequest(
            stream=pb.EVENT_STREAM_DELIVERY_REPORTS, consumer_group="billing", cursors=first
        )
    )
    assert ack.acknowledged_count == 12
    rest, _ = await take_events(call, 12)
    call.cancel()
    assert rest == stored[12:24]


@pytest.mark.parametrize("value", [-1, 1001, 2**31 - 1])
async def test_an_out_of_range_max_events_per_response_is_invalid_argument(
    events: EventsServer, value: int
) -> None:
    for method, request in (
        (
            events.stub.StreamDeliveryReports,
            pb.StreamDeliveryReportsRequest(max_events_per_response=value),
        ),
        (events.stub.StreamUplinks, pb.StreamUplinksRequest(max_events_per_response=value)),
    ):
        error = await follow(method(request)).error()
        got = details_of(error)
        assert got.code == grpc.StatusCode.INVALID_ARGUMENT
        assert set(got.violations) == {"max_events_per_response"}
        assert "1 to 1,000" in got.violations["max_events_per_response"]


async def test_an_ack_alone_does_not_send_a_member_with_room_back_to_the_store(
    events: EventsServer,
) -> None:
    groups = events.store.groups
    claims: list[int] = []
    real_claim = groups.claim

    async def counting_claim(*args: Any, **kwargs: Any) -> Any:
        claimed = await real_claim(*args, **kwargs)
        claims.append(len(claimed))
        return claimed

    groups.claim = counting_claim  # type: ignore[method-assign]  # the real claim, counted
    stored = [e.cursor for e in await events.reports([report() for _ in range(3)])]
    request = pb.StreamDeliveryReportsRequest(
        start=EARLIEST,
        consumer_group=pb.ConsumerGroupOptions(name="billing", max_outstanding=100),
        max_events_per_response=10,
    )
    call = follow(events.stub.StreamDeliveryReports(request))
    got, _ = await take_events(call, 3)
    await call.quiet()
    before = len(claims)
    ack = await events.stub.AcknowledgeEvents(
        pb.AcknowledgeEventsRequest(
            stream=pb.EVENT_STREAM_DELIVERY_REPORTS, consumer_group="billing", cursors=got
        )
    )
    assert ack.acknowledged_count == 3
    await call.quiet()
    assert len(claims) == before  # it had room and nothing new came: no claim to make
    (late,) = await events.reports([report()])
    more, _ = await take_events(call, 1)
    call.cancel()
    assert got == stored and more == [late.cursor]
    assert len(claims) > before
