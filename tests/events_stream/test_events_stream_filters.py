"""Every filter, on the streams (replay and live) and on the list RPCs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from events_stream_helpers import EventsServer, cursors_of, follow, report, uplink

from smsgateway.events.model import SentBatch
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.rich_status import details_of

EARLIEST = pb.StreamStart(position=pb.START_POSITION_EARLIEST)

# (biz_id, phone, code); B1 and B2 were sent through the gateway (so they have a
# sign), B3 was not.
DATA = [
    ("B1", "13651688564", "10000"),
    ("B1", "13568988547", "4"),
    ("B2", "13800000001", "9"),
    ("B2", "13800000001", "42"),  # a code the provider never documented
    ("B3", "13900000002", "5"),
]

REPORT_FILTERS: dict[str, tuple[pb.DeliveryReportFilter, set[int]]] = {
    "none": (pb.DeliveryReportFilter(), {0, 1, 2, 3, 4}),
    "one bizId": (pb.DeliveryReportFilter(biz_ids=["B1"]), {0, 1}),
    "two bizIds": (pb.DeliveryReportFilter(biz_ids=["B1", "B3"]), {0, 1, 4}),
    "phone in another form": (
        pb.DeliveryReportFilter(phone_numbers=["+86 138-0000-0001"]),
        {2, 3},
    ),
    "sign": (pb.DeliveryReportFilter(sign="圆通快递"), {0, 1}),
    "delivered": (pb.DeliveryReportFilter(statuses=[pb.DELIVERY_STATUS_DELIVERED]), {0}),
    "unknown takes code 9 and undocumented codes": (
        pb.DeliveryReportFilter(statuses=[pb.DELIVERY_STATUS_UNKNOWN]),
        {2, 3},
    ),
    "two statuses": (
        pb.DeliveryReportFilter(
            statuses=[pb.DELIVERY_STATUS_FAILED, pb.DELIVERY_STATUS_BLOCKED_WORD]
        ),
        {1, 4},
    ),
    "every field at once": (
        pb.DeliveryReportFilter(
            biz_ids=["B2", "B1"],
            phone_numbers=["13800000001", "13568988547"],
            sign="顺丰速运",
            statuses=[pb.DELIVERY_STATUS_UNKNOWN],
        ),
        {2, 3},
    ),
    "nothing matches": (pb.DeliveryReportFilter(biz_ids=["B9"]), set()),
}


async def _seed(events: EventsServer) -> list[int]:
    now = datetime.now(UTC)
    await events.store.send_log.record_sends(
        [
            SentBatch("B1", ("13651688564", "13568988547"), "圆通快递", 2, now),
            SentBatch("B2", ("13800000001",), "顺丰速运", 2, now),
        ]
    )
    stored = await events.reports([report(b, p, c) for b, p, c in DATA])
    return [e.cursor for e in stored]


@pytest.mark.parametrize("case", list(REPORT_FILTERS))
async def test_report_filters_on_replay_and_list(events: EventsServer, case: str) -> None:
    event_filter, wanted = REPORT_FILTERS[case]
    cursors = await _seed(events)
    expected = [c for i, c in enumerate(cursors) if i in wanted]

    listed = await events.stub.ListDeliveryReports(
        pb.ListDeliveryReportsRequest(filter=event_filter)
    )
    assert cursors_of(listed.reports) == expected
    assert listed.next_page_token == ""

    call = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(start=EARLIEST, filter=event_filter)
        )
    )
    assert cursors_of(await call.take(len(expected))) == expected
    await call.quiet()
    call.cancel()


async def test_report_filter_on_live_events(events: EventsServer) -> None:
    call = follow(
        events.stub.StreamDeliveryReports(
            pb.StreamDeliveryReportsRequest(
                filter=pb.DeliveryReportFilter(
                    biz_ids=["B1", "B2"], statuses=[pb.DELIVERY_STATUS_FAILED]
                )
            )
        )
    )
    await asyncio.sleep(0.1)
    cursors = await _seed(events)
    (message,) = await call.take(1)
    assert message.report.cursor == cursors[1]
    assert message.report.status == pb.DELIVERY_STATUS_FAILED
    await call.quiet()
    call.cancel()


async def test_reports_keep_their_sign_in_the_stream(events: EventsServer) -> None:
    await _seed(events)
    listed = await events.stub.ListDeliveryReports(
        pb.ListDeliveryReportsRequest(filter=pb.DeliveryReportFilter(sign="顺丰速运"))
    )
    assert [r.status for r in listed.reports] == [
        pb.DELIVERY_STATUS_UNKNOWN,
        pb.DELIVERY_STATUS_UNKNOWN,
    ]
    assert [r.provider_code for r in listed.reports] == ["9", "42"]


UPLINK_FILTERS: dict[str, tuple[pb.UplinkFilter, set[int]]] = {
    "none": (pb.UplinkFilter(), {0, 1, 2}),
    "phone": (pb.UplinkFilter(phone_numbers=["8613651688564"]), {0, 2}),
    "sign": (pb.UplinkFilter(sign="顺丰速运"), {1, 2}),
    "both": (pb.UplinkFilter(phone_numbers=["13651688564"], sign="顺丰速运"), {2}),
}


@pytest.mark.parametrize("case", list(UPLINK_FILTERS))
async def test_uplink_filters(events: EventsServer, case: str) -> None:
    event_filter, wanted = UPLINK_FILTERS[case]
    stored = await events.uplinks(
        [
            uplink("13651688564", "圆通快递", "收到"),
            uplink("13568988547", "顺丰速运", "谢谢"),
            uplink("13651688564", "顺丰速运", "TD"),
        ]
    )
    expected = [e.cursor for i, e in enumerate(stored) if i in wanted]
    listed = await events.stub.ListUplinks(pb.ListUplinksRequest(filter=event_filter))
    assert cursors_of(listed.uplinks) == expected
    call = follow(
        events.stub.StreamUplinks(pb.StreamUplinksRequest(start=EARLIEST, filter=event_filter))
    )
    got = await call.take(len(expected))
    assert cursors_of(got) == expected
    await call.quiet()
    call.cancel()
    opt_outs = [m.uplink.opt_out for m in got if m.uplink.content == "TD"]
    assert all(opt_outs)


BAD_REPORT_FILTERS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "too many bizIds": ({"biz_ids": [str(i) for i in range(101)]}, ["filter.biz_ids"]),
    "empty bizId": ({"biz_ids": ["B1", ""]}, ["filter.biz_ids[1]"]),
    "long bizId": ({"biz_ids": ["9" * 65]}, ["filter.biz_ids[0]"]),
    "too many numbers": (
        {"phone_numbers": [f"138{i:08d}" for i in range(101)]},
        ["filter.phone_numbers"],
    ),
    "bad number": ({"phone_numbers": ["13651688564", "12345"]}, ["filter.phone_numbers[1]"]),
    "two numbers in one": (
        {"phone_numbers": ["13651688564,13568988547"]},
        ["filter.phone_numbers[0]"],
    ),
    "sign with brackets": ({"sign": "【圆通】"}, ["filter.sign"]),
    "sign too long": ({"sign": "签" * 21}, ["filter.sign"]),
    "pending status": ({"statuses": [pb.DELIVERY_STATUS_PENDING]}, ["filter.statuses[0]"]),
    "unknown status value": ({"statuses": [2, 99]}, ["filter.statuses[1]"]),
    "unspecified status": ({"statuses": [0]}, ["filter.statuses[0]"]),
}


@pytest.mark.parametrize("case", list(BAD_REPORT_FILTERS))
async def test_bad_report_filter(events: EventsServer, case: str) -> None:
    fields, violations = BAD_REPORT_FILTERS[case]
    event_filter = pb.DeliveryReportFilter(**fields)

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await events.stub.ListDeliveryReports(pb.ListDeliveryReportsRequest(filter=event_filter))
    got = details_of(err.value)
    assert got.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(got.violations) == violations

    call = follow(
        events.stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest(filter=event_filter))
    )
    got = details_of(await call.error())
    assert got.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(got.violations) == violations


async def test_bad_number_is_quoted_with_the_reason(events: EventsServer) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await events.stub.ListUplinks(
            pb.ListUplinksRequest(filter=pb.UplinkFilter(phone_numbers=["1365168856a"]))
        )
    got = details_of(err.value)
    assert "1365168856a" in got.violations["filter.phone_numbers[0]"]


async def test_bad_uplink_filter_lists_every_problem(events: EventsServer) -> None:
    call = follow(
        events.stub.StreamUplinks(
            pb.StreamUplinksRequest(
                filter=pb.UplinkFilter(phone_numbers=["abc", "13651688564", ""], sign=" 圆通"),
                start=pb.StreamStart(after_cursor=-5),
            )
        )
    )
    got = details_of(await call.error())
    assert got.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(got.violations) == [
        "filter.phone_numbers[0]",
        "filter.phone_numbers[2]",
        "filter.sign",
        "start.after_cursor",
    ]
