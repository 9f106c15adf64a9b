"""Plain subscribers: start positions, resuming from a cursor, the replay/live seam."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from events_stream_helpers import (
    EventsServer,
    config,
    cursors_of,
    follow,
    report,
    uplink,
)
from google.protobuf import timestamp_pb2

from smsgateway.events.model import Retention, Stream
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.rich_status import details_of

EARLIEST = pb.StreamStart(position=pb.START_POSITION_EARLIEST)


def after(cursor: int) -> pb.StreamStart:
    return pb.StreamStart(after_cursor=cursor)


async def test_reconnect_from_last_cursor_misses_nothing_and_repeats_nothing(
    events: EventsServer,
) -> None:
    first = await events.reports([report() for _ in range(10)])
    call = follow(
        events.stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest(start=EARLIEST))
    )
    got = await call.take(4)
    assert cursors_of(got) == [e.cursor for e in first[:4]]
    call.cancel()  # the consumer goes away after processing 4

    # Events keep arriving while it is gone.
    later = await events.reports([report() for _ in range(5)])
    resumed = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(start=after(got[-1].report.cursor))
        )
    )
    rest = await resumed.take(11)
    assert cursors_of(rest) == [e.cursor for e in first[4:] + later]
    # ... and it goes on live, still without repeats.
    live = await events.reports([report()])
    assert cursors_of(await resumed.take(1)) == [live[0].cursor]
    await resumed.quiet()
    resumed.cancel()


async def test_stream_carries_the_report_as_stored(events: EventsServer) -> None:
    call = follow(events.stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest()))
    await asyncio.sleep(0.1)  # subscribed at LATEST before the report comes
    stored = await events.reports([report(phone="+86 136-5168-8564", code="4", message="UNDELIV")])
    (message,) = await call.take(1)
    r = message.report
    assert r.cursor == stored[0].cursor
    assert r.biz_id == "39036632588910887018"
    assert r.phone_number == "13651688564"  # the ingestor normalised it
    assert r.status == pb.DELIVERY_STATUS_FAILED
    assert r.provider_code == "4" and not r.success and r.message == "UNDELIV"
    assert r.sms_size == 1 and r.source == pb.INGEST_SOURCE_PUSH
    assert r.report_time.ToDatetime().year == 2026
    call.cancel()


@pytest.mark.parametrize("server_config", [config(page_size=8)])
async def test_seam_between_replay_and_live_under_concurrent_ingest(
    events: EventsServer,
) -> None:
    await events.reports([report() for _ in range(300)])

    async def ingest_more() -> None:
        for _ in range(30):
            await events.reports([report() for _ in range(10)])
            await asyncio.sleep(0)

    # Small pages: the subscriber is still replaying while new events commit.
    call = follow(
        events.stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest(start=EARLIEST))
    )
    writer = asyncio.create_task(ingest_more())
    got = await call.take(600)
    await writer
    assert cursors_of(got) == await events.all_cursors()
    await call.quiet()
    call.cancel()


async def test_latest_gets_only_new_events(events: EventsServer) -> None:
    await events.reports([report() for _ in range(3)])
    call = follow(events.stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest()))
    await asyncio.sleep(0.1)
    new = await events.reports([report() for _ in range(2)])
    assert cursors_of(await call.take(2)) == [e.cursor for e in new]
    call.cancel()


async def test_start_at_a_time(events: EventsServer) -> None:
    old = []
    for minutes_ago in (60, 50, 40):  # one commit each, so receive times differ
        events.clock.offset = -60 * minutes_ago
        old += await events.reports([report()])
    events.clock.offset = 0
    new = await events.reports([report() for _ in range(2)])
    start = timestamp_pb2.Timestamp()
    start.FromDatetime(old[-1].receive_time)
    start.seconds += 60
    call = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(start=pb.StreamStart(start_time=start))
        )
    )
    assert cursors_of(await call.take(2)) == [e.cursor for e in new]
    call.cancel()

    # At exactly the receive time of an event: that event is the first.
    start.FromDatetime(old[1].receive_time)
    call = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(start=pb.StreamStart(start_time=start))
        )
    )
    assert cursors_of(await call.take(4)) == [e.cursor for e in old[1:] + new]
    call.cancel()


async def test_start_time_in_the_future_skips_what_arrives_before_it(
    events: EventsServer,
) -> None:
    await events.reports([report()])
    start = timestamp_pb2.Timestamp()
    start.FromDatetime((await events.store.events.read(Stream.REPORTS, 0, 1))[0].receive_time)
    start.seconds += 600
    call = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(start=pb.StreamStart(start_time=start))
        )
    )
    await asyncio.sleep(0.1)
    await events.reports([report()])  # received before the start time
    events.clock.offset = 700
    later = await events.reports([report()])
    assert cursors_of(await call.take(1)) == [later[0].cursor]
    call.cancel()


async def test_cursor_older_than_retention_is_out_of_range_with_the_oldest(
    events: EventsServer,
) -> None:
    stored = await events.reports([report() for _ in range(20)])
    await events.store.events.prune(Retention(max_events=5))
    oldest = stored[15].cursor
    call = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(start=after(stored[2].cursor))
        )
    )
    got = details_of(await call.error())
    assert got.code == grpc.StatusCode.OUT_OF_RANGE
    assert got.reason == "CURSOR_OUT_OF_RANGE" and got.domain == "smsgateway"
    assert got.metadata["oldest_cursor"] == str(oldest)

    # Resuming right before the oldest retained one is fine.
    call = follow(
        events.stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest(start=after(oldest - 1)))
    )
    assert cursors_of(await call.take(5)) == [e.cursor for e in stored[15:]]
    call.cancel()


async def test_cursor_from_the_future_is_out_of_range(events: EventsServer) -> None:
    stored = await events.reports([report() for _ in range(3)])
    call = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(start=after(stored[-1].cursor + 100))
        )
    )
    got = details_of(await call.error())
    assert got.code == grpc.StatusCode.OUT_OF_RANGE
    assert got.reason == "CURSOR_AHEAD"
    assert got.metadata["last_cursor"] == str(stored[-1].cursor)


@pytest.mark.parametrize(
    ("start", "field"),
    [
        (pb.StreamStart(after_cursor=-1), "start.after_cursor"),
        (pb.StreamStart(position=7), "start.position"),  # type: ignore[arg-type]
        (
            pb.StreamStart(start_time=timestamp_pb2.Timestamp(seconds=10**12)),
            "start.start_time",
        ),
    ],
)
async def test_bad_start_is_invalid_argument(
    events: EventsServer, start: pb.StreamStart, field: str
) -> None:
    call = follow(events.stub.StreamUplinks(pb.StreamUplinksRequest(start=start)))
    got = details_of(await call.error())
    assert got.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(got.violations) == [field]


async def test_uplink_stream_resumes_too(events: EventsServer) -> None:
    stored = await events.uplinks([uplink(content=f"回复{i}") for i in range(6)])
    call = follow(events.stub.StreamUplinks(pb.StreamUplinksRequest(start=EARLIEST)))
    got = await call.take(3)
    call.cancel()
    assert [m.uplink.content for m in got] == ["回复0", "回复1", "回复2"]
    assert got[0].uplink.sign == "圆通快递" and got[0].uplink.source == pb.INGEST_SOURCE_PULL
    resumed = follow(
        events.stub.StreamUplinks(pb.StreamUplinksRequest(start=after(got[-1].uplink.cursor)))
    )
    assert cursors_of(await resumed.take(3)) == [e.cursor for e in stored[3:]]
    resumed.cancel()


async def test_shutdown_ends_streams_with_unavailable(events: EventsServer) -> None:
    call = follow(events.stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest()))
    await asyncio.sleep(0.1)
    assert events.hub.subscriber_count(Stream.REPORTS) == 1
    events.hub.close()
    got = details_of(await call.error())
    assert got.code == grpc.StatusCode.UNAVAILABLE
    assert got.reason == "SHUTTING_DOWN" and got.retry_delay is not None
