"""Many subscribers, and subscribers that do not read: nobody slows anyone down."""

from __future__ import annotations

import asyncio

import pytest
from events_stream_helpers import EventsServer, config, cursors_of, follow, report

from smsgateway.events.model import Stream
from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

EARLIEST = pb.StreamStart(position=pb.START_POSITION_EARLIEST)


async def wait_for_subscribers(events: EventsServer, count: int) -> None:
    async def settle() -> None:
        # Polled: the hub has no event for "this many subscribers".
        while events.hub.subscriber_count(Stream.REPORTS) != count:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    await asyncio.wait_for(settle(), 20)


@pytest.mark.parametrize("server_config", [config(page_size=256)])
async def test_subscriber_that_never_reads_blocks_neither_ingest_nor_others(
    events: EventsServer,
) -> None:
    total = 1_200
    # ~1.5 kB per report: far more than the HTTP/2 flow-control window, so the
    # silent subscriber's server side really stalls on its writes.
    filler = "x" * 1_500
    stuck_channel = events.new_channel()
    stuck = smsgateway_pb2_grpc.SmsGatewayStub(stuck_channel).StreamDeliveryReports(
        pb.StreamDeliveryReportsRequest(start=EARLIEST)
    )
    readers = [
        follow(events.stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest(start=EARLIEST)))
        for _ in range(5)
    ]
    await wait_for_subscribers(events, 6)

    async def ingest() -> None:
        for _ in range(total // 50):
            await events.reports([report(message=filler) for _ in range(50)])

    await asyncio.wait_for(ingest(), 60)  # ingest completes with the stuck one attached
    expected = await events.all_cursors()
    assert len(expected) == total
    results = await asyncio.gather(*(r.take(total, within=60) for r in readers))
    for got in results:
        assert cursors_of(got) == expected

    # The silent one only lagged on its own cursor: once it reads, it gets everything.
    late: list[int] = []
    async for message in stuck:
        late.append(message.report.cursor)
        if len(late) == total:
            break
    assert late == expected
    stuck.cancel()
    await stuck_channel.close()
    for r in readers:
        r.cancel()


async def test_two_hundred_concurrent_subscribers(events: EventsServer) -> None:
    count = 210
    before = await events.reports([report() for _ in range(10)])
    channels = [events.new_channel() for _ in range(3)]
    stubs = [smsgateway_pb2_grpc.SmsGatewayStub(c) for c in channels]
    subscribers = [
        follow(
            stubs[i % len(stubs)].StreamDeliveryReports(
                pb.StreamDeliveryReportsRequest(start=EARLIEST)
            )
        )
        for i in range(count)
    ]
    await wait_for_subscribers(events, count)
    after = []
    for _ in range(4):
        after += await events.reports([report() for _ in range(5)])
    expected = [e.cursor for e in before + after]
    results = await asyncio.gather(*(s.take(len(expected), within=60) for s in subscribers))
    for got in results:
        assert cursors_of(got) == expected

    for s in subscribers:
        s.cancel()
    await wait_for_subscribers(events, 0)  # every subscription unregistered on disconnect
    for channel in channels:
        await channel.close()
