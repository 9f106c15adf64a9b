"""Consumer groups: shared delivery with acks, redelivery, persistence, bad input."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import grpc
import pytest
from events_stream_helpers import EventsServer, cursors_of, follow, report, uplink
from google.protobuf import duration_pb2

from smsgateway.events.model import Stream
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.rich_status import details_of

EARLIEST = pb.StreamStart(position=pb.START_POSITION_EARLIEST)


def join(
    events: EventsServer,
    name: str = "billing",
    *,
    deadline: float | None = None,
    max_outstanding: int = 0,
    start: pb.StreamStart = EARLIEST,
    event_filter: pb.DeliveryReportFilter | None = None,
) -> Any:
    group = pb.ConsumerGroupOptions(name=name, max_outstanding=max_outstanding)
    if deadline is not None:
        group.ack_deadline.CopyFrom(duration_pb2.Duration(seconds=int(deadline)))
    return follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(start=start, consumer_group=group, filter=event_filter)
        )
    )


async def ack(events: EventsServer, cursors: list[int], name: str = "billing") -> int:
    response = await events.stub.AcknowledgeEvents(
        pb.AcknowledgeEventsRequest(
            stream=pb.EVENT_STREAM_DELIVERY_REPORTS, consumer_group=name, cursors=cursors
        )
    )
    return int(response.acknowledged_count)


async def pending(events: EventsServer, name: str = "billing") -> int:
    (group,) = [g for g in await events.store.groups.groups(Stream.REPORTS) if g.name == name]
    return group.pending


async def test_three_members_that_ack_process_every_event_exactly_once(
    events: EventsServer,
) -> None:
    total = 300
    received: list[list[int]] = [[], [], []]
    done = asyncio.Event()

    async def member(index: int) -> None:
        call = join(events, max_outstanding=5)
        while True:
            (message,) = await call.take(1, within=60)
            received[index].append(message.report.cursor)
            assert await ack(events, [message.report.cursor]) == 1
            if sum(map(len, received)) >= total:
                done.set()

    members = [asyncio.create_task(member(i)) for i in range(3)]
    for _ in range(30):
        await events.reports([report() for _ in range(10)])
    await asyncio.wait_for(done.wait(), 30)
    # Another batch after the counting: nobody got anything twice meanwhile.
    await asyncio.sleep(0.2)
    for task in members:
        task.cancel()
    await asyncio.gather(*members, return_exceptions=True)

    everything = [c for r in received for c in r]
    assert len(everything) == total
    assert sorted(everything) == await events.all_cursors()
    assert sum(1 for r in received if r) >= 2  # the work was shared
    for r in received:
        assert r == sorted(r)  # each member sees its share in order
    assert await pending(events) == 0


async def test_events_of_a_killed_member_reach_another_member(events: EventsServer) -> None:
    stored = await events.reports([report() for _ in range(10)])
    holder = join(events, max_outstanding=10)
    held = cursors_of(await holder.take(10))
    assert held == [e.cursor for e in stored]

    other = join(events)
    await other.quiet()  # everything is leased to the holder
    holder.cancel()  # killed without acknowledging anything

    redelivered = cursors_of(await other.take(10))
    assert redelivered == held
    assert await ack(events, redelivered) == 10
    assert await pending(events) == 0
    # New events keep flowing to the survivor.
    new = await events.reports([report()])
    assert cursors_of(await other.take(1)) == [new[0].cursor]
    other.cancel()


async def test_unacknowledged_events_go_to_another_member_after_the_ack_deadline(
    events: EventsServer,
) -> None:
    stored = await events.reports([report() for _ in range(4)])
    stuck = join(events, deadline=1, max_outstanding=4)
    assert cursors_of(await stuck.take(4)) == [e.cursor for e in stored]

    other = join(events, deadline=1)
    # Within a couple of seconds the deadline passes and the other member gets them.
    redelivered = cursors_of(await other.take(4, within=10))
    assert redelivered == [e.cursor for e in stored]
    assert await ack(events, redelivered) == 4
    await stuck.quiet(0.5)  # acknowledged: the stuck member does not get them back
    stuck.cancel()
    other.cancel()


async def test_lone_member_gets_its_unacknowledged_events_again(events: EventsServer) -> None:
    stored = await events.reports([report() for _ in range(2)])
    member = join(events, deadline=1, max_outstanding=10)
    first = cursors_of(await member.take(2))
    again = cursors_of(await member.take(2, within=10))  # at-least-once
    assert first == again == [e.cursor for e in stored]
    member.cancel()


async def test_max_outstanding_bounds_what_a_member_holds(events: EventsServer) -> None:
    stored = await events.reports([report() for _ in range(5)])
    member = join(events, max_outstanding=2)
    first = cursors_of(await member.take(2))
    await member.quiet()
    assert await ack(events, first) == 2
    assert cursors_of(await member.take(2)) == [e.cursor for e in stored[2:4]]
    member.cancel()


async def test_group_position_survives_a_restart(events: EventsServer) -> None:
    stored = await events.reports([report() for _ in range(10)])
    member = join(events, max_outstanding=100)
    got = cursors_of(await member.take(10))
    assert await ack(events, got[:6]) == 6
    member.cancel()

    await events.restart()  # the store is closed and opened again
    new = await events.reports([report() for _ in range(3)])
    # An existing group ignores the start position (LATEST here).
    member = join(events, start=pb.StreamStart(position=pb.START_POSITION_LATEST))
    again = cursors_of(await member.take(7))
    assert again == [e.cursor for e in stored[6:] + new]
    await member.quiet()
    member.cancel()


async def test_new_group_starts_where_asked(events: EventsServer) -> None:
    stored = await events.reports([report() for _ in range(5)])
    member = join(events, start=pb.StreamStart(after_cursor=stored[2].cursor))
    assert cursors_of(await member.take(2)) == [e.cursor for e in stored[3:]]
    member.cancel()


async def test_group_filter_applies_and_another_filter_is_refused(events: EventsServer) -> None:
    wanted = pb.DeliveryReportFilter(statuses=[pb.DELIVERY_STATUS_FAILED])
    member = join(events, event_filter=wanted)
    await asyncio.sleep(0.1)
    await events.reports([report(code="10000"), report(code="4"), report(code="10000")])
    (message,) = await member.take(1)
    assert message.report.provider_code == "4"
    await member.quiet()

    other = join(events, event_filter=pb.DeliveryReportFilter(biz_ids=["1"]))
    got = details_of(await other.error())
    assert got.code == grpc.StatusCode.FAILED_PRECONDITION
    assert got.reason == "CONSUMER_GROUP_FILTER_MISMATCH"
    member.cancel()


async def test_acknowledging_unknown_cursors_is_not_an_error(events: EventsServer) -> None:
    assert await ack(events, [1, 2, 3], name="never-joined") == 0


@pytest.mark.parametrize(
    ("request_fields", "fields"),
    [
        ({"stream": 0, "consumer_group": "g", "cursors": [1]}, ["stream"]),
        ({"stream": 9, "consumer_group": "g", "cursors": [1]}, ["stream"]),
        ({"stream": 1, "consumer_group": "", "cursors": [1]}, ["consumer_group"]),
        ({"stream": 1, "consumer_group": "a b", "cursors": [1]}, ["consumer_group"]),
        ({"stream": 1, "consumer_group": "g" * 65, "cursors": [1]}, ["consumer_group"]),
        ({"stream": 1, "consumer_group": "g", "cursors": []}, ["cursors"]),
        ({"stream": 1, "consumer_group": "g", "cursors": [1] * 10_001}, ["cursors"]),
        ({"stream": 1, "consumer_group": "g", "cursors": [5, -1, 0]}, ["cursors[1]", "cursors[2]"]),
        (
            {"stream": 0, "consumer_group": "", "cursors": []},
            ["stream", "consumer_group", "cursors"],
        ),
    ],
)
async def test_acknowledge_bad_input(
    events: EventsServer, request_fields: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await events.stub.AcknowledgeEvents(pb.AcknowledgeEventsRequest(**request_fields))
    got = details_of(err.value)
    assert got.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(got.violations) == sorted(fields)


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        (pb.ConsumerGroupOptions(), ["consumer_group.name"]),
        (pb.ConsumerGroupOptions(name="has space"), ["consumer_group.name"]),
        (pb.ConsumerGroupOptions(name="x" * 65), ["consumer_group.name"]),
        (
            pb.ConsumerGroupOptions(
                name="g", ack_deadline=duration_pb2.Duration(nanos=500_000_000)
            ),
            ["consumer_group.ack_deadline"],
        ),
        (
            pb.ConsumerGroupOptions(name="g", ack_deadline=duration_pb2.Duration(seconds=601)),
            ["consumer_group.ack_deadline"],
        ),
        (
            pb.ConsumerGroupOptions(name="g", max_outstanding=10_001),
            ["consumer_group.max_outstanding"],
        ),
        (pb.ConsumerGroupOptions(name="g", max_outstanding=-1), ["consumer_group.max_outstanding"]),
    ],
)
async def test_group_options_bad_input(
    events: EventsServer, options: pb.ConsumerGroupOptions, fields: list[str]
) -> None:
    call = follow(
        events.stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest(consumer_group=options))
    )
    got = details_of(await call.error())
    assert got.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(got.violations) == fields


async def test_members_are_counted_while_connected(events: EventsServer) -> None:
    members = [join(events) for _ in range(3)]
    await events.reports([report()])
    # One of them gets the event; all three are registered by then.
    await asyncio.sleep(0.2)
    assert events.hub.group_member_count(Stream.REPORTS, "billing") == 3
    for call in members:
        call.cancel()
    for _ in range(50):
        if events.hub.subscriber_count(Stream.REPORTS) == 0:
            break
        await asyncio.sleep(0.02)
    assert events.hub.subscriber_count(Stream.REPORTS) == 0
    assert Counter(await events.all_cursors())  # the event itself is still stored


async def test_shutdown_releases_what_members_hold(events: EventsServer) -> None:
    stored = await events.reports([report() for _ in range(3)])
    holder = join(events, deadline=600)
    assert cursors_of(await holder.take(3)) == [e.cursor for e in stored]
    await events.restart()  # graceful: the hub closes, members release their leases
    got = details_of(await holder.error())
    assert got.code == grpc.StatusCode.UNAVAILABLE and got.reason == "SHUTTING_DOWN"

    # Long before the 600 s deadline, the next member gets them.
    member = join(events, deadline=600)
    assert cursors_of(await member.take(3)) == [e.cursor for e in stored]
    member.cancel()


async def test_uplink_groups_are_separate_from_report_groups(events: EventsServer) -> None:
    reports = await events.reports([report()])
    uplinks = await events.uplinks([uplink(), uplink()])
    group = pb.ConsumerGroupOptions(name="billing")
    call = follow(
        events.stub.StreamUplinks(pb.StreamUplinksRequest(start=EARLIEST, consumer_group=group))
    )
    got = cursors_of(await call.take(2))
    assert got == [e.cursor for e in uplinks]
    acked = await events.stub.AcknowledgeEvents(
        pb.AcknowledgeEventsRequest(
            stream=pb.EVENT_STREAM_UPLINKS, consumer_group="billing", cursors=got
        )
    )
    assert acked.acknowledged_count == 2
    # The report group of the same name is another group.
    member = join(events)
    assert cursors_of(await member.take(1)) == [reports[0].cursor]
    call.cancel()
    member.cancel()


# -- lifecycle ------------------------------------------------------------------


async def delete(events: EventsServer, name: str = "billing") -> bool:
    response = await events.stub.DeleteConsumerGroup(
        pb.DeleteConsumerGroupRequest(stream=pb.EVENT_STREAM_DELIVERY_REPORTS, consumer_group=name)
    )
    return bool(response.deleted)


async def test_delete_group_ends_its_members_and_a_new_join_starts_fresh(
    events: EventsServer,
) -> None:
    await events.reports([report() for _ in range(3)])
    member = join(events, max_outstanding=10)
    assert len(await member.take(3)) == 3
    assert await delete(events) is True
    error = await member.error()
    assert error.code() == grpc.StatusCode.ABORTED
    assert details_of(error).reason == "CONSUMER_GROUP_DELETED"
    assert [g.name for g in await events.store.groups.groups(Stream.REPORTS)] == []
    # Deleting again is not an error; joining again starts from the StreamStart.
    assert await delete(events) is False
    again = join(events, start=pb.StreamStart(position=pb.START_POSITION_LATEST))
    await again.quiet()
    new = await events.reports([report()])
    assert cursors_of(await again.take(1)) == [new[0].cursor]
    again.cancel()


async def test_delete_group_bad_input_names_the_fields(events: EventsServer) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await events.stub.DeleteConsumerGroup(pb.DeleteConsumerGroupRequest(consumer_group="a b"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = set(details_of(caught.value).violations)
    assert fields == {"stream", "consumer_group"}


async def test_the_number_of_groups_is_bounded(events: EventsServer) -> None:
    events.max_groups = 2
    await events.restart()
    first, second = join(events, "g1"), join(events, "g2")
    await first.quiet()
    await second.quiet()
    third = join(events, "g3")
    error = await third.error()
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details_of(error).reason == "TOO_MANY_CONSUMER_GROUPS"
    first.cancel()
    second.cancel()


async def test_idle_groups_expire(events: EventsServer) -> None:
    member = join(events, "idle")
    await member.quiet()
    member.cancel()
    events.clock.offset += 3600
    expired = await events.store.groups.prune_groups(idle_seconds=1800)
    assert expired == [(Stream.REPORTS, "idle")]
    assert await events.store.groups.groups(Stream.REPORTS) == []
