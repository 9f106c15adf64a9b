"""GetSendStatus, paged lists with opaque tokens, and the suppression RPCs."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from events_stream_helpers import EventsServer, cursors_of, report, uplink

from smsgateway.events.model import SentBatch
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.rich_status import details_of

BIZ = "39036632588910887018"


async def invalid(call: Any) -> dict[str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    got = details_of(err.value)
    assert got.code == grpc.StatusCode.INVALID_ARGUMENT, got
    return got.violations


# -- GetSendStatus ------------------------------------------------------------------


async def test_send_status_per_recipient_with_totals(events: EventsServer) -> None:
    numbers = ("13651688564", "13568988547", "13800000001", "13900000002")
    await events.store.send_log.record_sends(
        [SentBatch(BIZ, numbers, "圆通快递", 2, datetime.now(UTC))]
    )
    await events.reports(
        [
            report(BIZ, "13651688564", "4"),  # failed first ...
            report(BIZ, "8613568988547", "7"),  # the provider wrote it with 86
            report(BIZ, "13800000001", "77"),  # an undocumented code
        ]
    )
    await events.reports([report(BIZ, "13651688564", "10000")])  # ... then delivered

    status = await events.stub.GetSendStatus(pb.GetSendStatusRequest(biz_id=BIZ))
    assert status.biz_id == BIZ
    assert [r.phone_number for r in status.recipients] == list(numbers)
    assert [r.status for r in status.recipients] == [
        pb.DELIVERY_STATUS_DELIVERED,
        pb.DELIVERY_STATUS_BLOCKLISTED,
        pb.DELIVERY_STATUS_UNKNOWN,
        pb.DELIVERY_STATUS_PENDING,
    ]
    assert status.recipients[0].report.provider_code == "10000"
    assert not status.recipients[3].HasField("report")
    assert (status.total_count, status.delivered_count, status.pending_count) == (4, 1, 1)
    assert status.failed_count == 2


async def test_send_status_from_reports_alone(events: EventsServer) -> None:
    """A bizId the gateway did not record (sent before it existed, say) but reported."""
    await events.reports([report("B7", "13651688564", "10000"), report("B7", "13568988547", "1")])
    status = await events.stub.GetSendStatus(pb.GetSendStatusRequest(biz_id="B7"))
    assert [r.status for r in status.recipients] == [
        pb.DELIVERY_STATUS_DELIVERED,
        pb.DELIVERY_STATUS_SUBMIT_FAILED,
    ]
    assert (status.total_count, status.delivered_count, status.failed_count) == (2, 1, 1)


async def test_send_status_not_found(events: EventsServer) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await events.stub.GetSendStatus(pb.GetSendStatusRequest(biz_id="nope"))
    got = details_of(err.value)
    assert got.code == grpc.StatusCode.NOT_FOUND
    assert got.reason == "SEND_NOT_FOUND" and got.metadata == {"biz_id": "nope"}


@pytest.mark.parametrize("biz_id", ["", "1" * 65])
async def test_send_status_bad_biz_id(events: EventsServer, biz_id: str) -> None:
    violations = await invalid(events.stub.GetSendStatus(pb.GetSendStatusRequest(biz_id=biz_id)))
    assert list(violations) == ["biz_id"]


# -- paged lists ----------------------------------------------------------------------


async def test_pages_cover_everything_once_in_order(events: EventsServer) -> None:
    stored = await events.reports([report() for _ in range(25)])
    seen: list[int] = []
    token = ""
    pages = 0
    while True:
        page = await events.stub.ListDeliveryReports(
            pb.ListDeliveryReportsRequest(page_size=10, page_token=token)
        )
        pages += 1
        seen += cursors_of(page.reports)
        token = page.next_page_token
        if not token:
            break
    assert seen == [e.cursor for e in stored]
    assert pages == 3  # 10 + 10 + 5: no empty last page


async def test_default_page_size_and_exact_fit(events: EventsServer) -> None:
    await events.uplinks([uplink() for _ in range(100)])
    page = await events.stub.ListUplinks(pb.ListUplinksRequest())
    assert len(page.uplinks) == 100 and page.next_page_token == ""


async def test_token_keeps_working_as_events_arrive(events: EventsServer) -> None:
    first = await events.reports([report() for _ in range(3)])
    page = await events.stub.ListDeliveryReports(pb.ListDeliveryReportsRequest(page_size=2))
    more = await events.reports([report() for _ in range(2)])
    rest = await events.stub.ListDeliveryReports(
        pb.ListDeliveryReportsRequest(page_size=10, page_token=page.next_page_token)
    )
    assert cursors_of(rest.reports) == [e.cursor for e in first[2:] + more]


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "AAAA",
        base64.urlsafe_b64encode(b'{"v":1,"k":"reports","f":"x","a":"3"}').decode(),
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        "x" * 2000,
        "令牌",
    ],
)
async def test_garbage_page_token(events: EventsServer, token: str) -> None:
    violations = await invalid(
        events.stub.ListDeliveryReports(pb.ListDeliveryReportsRequest(page_token=token))
    )
    assert list(violations) == ["page_token"]


async def test_token_of_another_list_or_filter_is_refused(events: EventsServer) -> None:
    await events.reports([report() for _ in range(3)])
    await events.uplinks([uplink() for _ in range(3)])
    reports_token = (
        await events.stub.ListDeliveryReports(pb.ListDeliveryReportsRequest(page_size=1))
    ).next_page_token
    assert reports_token
    # Opaque, but versioned JSON inside: a later format can tell old tokens apart.
    payload = json.loads(base64.urlsafe_b64decode(reports_token + "=" * (-len(reports_token) % 4)))
    assert payload["v"] == 1

    violations = await invalid(
        events.stub.ListUplinks(pb.ListUplinksRequest(page_token=reports_token))
    )
    assert list(violations) == ["page_token"]
    violations = await invalid(
        events.stub.ListDeliveryReports(
            pb.ListDeliveryReportsRequest(
                page_token=reports_token, filter=pb.DeliveryReportFilter(biz_ids=["B1"])
            )
        )
    )
    assert "different filter" in violations["page_token"]


@pytest.mark.parametrize("page_size", [-1, 1001])
async def test_bad_page_size(events: EventsServer, page_size: int) -> None:
    violations = await invalid(events.stub.ListUplinks(pb.ListUplinksRequest(page_size=page_size)))
    assert list(violations) == ["page_size"]


# -- suppressions ----------------------------------------------------------------------


async def test_add_list_remove_suppressions(events: EventsServer) -> None:
    added = await events.stub.AddSuppression(
        pb.AddSuppressionRequest(sign="圆通快递", phone_number="+86 136-5168-8564")
    )
    assert added.suppression.phone_number == "13651688564"
    assert added.suppression.reason == "manual"
    assert added.suppression.create_time.seconds > 0
    again = await events.stub.AddSuppression(
        pb.AddSuppressionRequest(sign="圆通快递", phone_number="13651688564", reason="asked")
    )
    assert again.suppression.reason == "manual"  # idempotent: the first record stays
    for phone in ("13568988547", "13800000001"):
        await events.stub.AddSuppression(
            pb.AddSuppressionRequest(sign="圆通快递", phone_number=phone, reason="客户要求")
        )
    await events.stub.AddSuppression(
        pb.AddSuppressionRequest(sign="顺丰速运", phone_number="13651688564")
    )

    # One sign, two per page.
    listed: list[tuple[str, str]] = []
    token = ""
    while True:
        page = await events.stub.ListSuppressions(
            pb.ListSuppressionsRequest(sign="圆通快递", page_size=2, page_token=token)
        )
        listed += [(s.sign, s.phone_number) for s in page.suppressions]
        token = page.next_page_token
        if not token:
            break
    assert listed == [
        ("圆通快递", "13568988547"),
        ("圆通快递", "13651688564"),
        ("圆通快递", "13800000001"),
    ]
    everything = await events.stub.ListSuppressions(pb.ListSuppressionsRequest())
    assert len(everything.suppressions) == 4

    removed = await events.stub.RemoveSuppression(
        pb.RemoveSuppressionRequest(sign="圆通快递", phone_number="8613651688564")
    )
    assert removed.removed
    removed = await events.stub.RemoveSuppression(
        pb.RemoveSuppressionRequest(sign="圆通快递", phone_number="13651688564")
    )
    assert not removed.removed  # not an error
    page = await events.stub.ListSuppressions(pb.ListSuppressionsRequest(sign="圆通快递"))
    assert [s.phone_number for s in page.suppressions] == ["13568988547", "13800000001"]


async def test_opt_out_uplink_shows_in_suppressions(events: EventsServer) -> None:
    await events.uplinks([uplink("13651688564", "圆通快递", "退订")])
    page = await events.stub.ListSuppressions(pb.ListSuppressionsRequest(sign="圆通快递"))
    assert [s.phone_number for s in page.suppressions] == ["13651688564"]
    assert page.suppressions[0].reason.startswith("uplink")


async def test_suppression_token_is_bound_to_the_sign(events: EventsServer) -> None:
    for phone in ("13568988547", "13651688564"):
        await events.stub.AddSuppression(
            pb.AddSuppressionRequest(sign="圆通快递", phone_number=phone)
        )
    token = (
        await events.stub.ListSuppressions(pb.ListSuppressionsRequest(sign="圆通快递", page_size=1))
    ).next_page_token
    violations = await invalid(
        events.stub.ListSuppressions(pb.ListSuppressionsRequest(sign="顺丰速运", page_token=token))
    )
    assert list(violations) == ["page_token"]


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        ({"sign": "", "phone_number": "13651688564"}, ["sign"]),
        ({"sign": "【圆通】", "phone_number": "13651688564"}, ["sign"]),
        ({"sign": "签" * 21, "phone_number": "13651688564"}, ["sign"]),
        ({"sign": "圆通快递", "phone_number": ""}, ["phone_number"]),
        ({"sign": "圆通快递", "phone_number": "010-12345678"}, ["phone_number"]),
        ({"sign": "圆通快递", "phone_number": "13651688564,13568988547"}, ["phone_number"]),
        ({"sign": "", "phone_number": "abc"}, ["phone_number", "sign"]),
    ],
)
async def test_suppression_bad_input(
    events: EventsServer, fields: dict[str, str], violations: list[str]
) -> None:
    got = await invalid(events.stub.AddSuppression(pb.AddSuppressionRequest(**fields)))
    assert sorted(got) == violations
    got = await invalid(events.stub.RemoveSuppression(pb.RemoveSuppressionRequest(**fields)))
    assert sorted(got) == violations


@pytest.mark.parametrize("reason", ["r" * 201, "line\nbreak"])
async def test_suppression_bad_reason(events: EventsServer, reason: str) -> None:
    got = await invalid(
        events.stub.AddSuppression(
            pb.AddSuppressionRequest(sign="圆通快递", phone_number="13651688564", reason=reason)
        )
    )
    assert list(got) == ["reason"]


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        ({"sign": "【x】"}, ["sign"]),
        ({"page_size": 5000}, ["page_size"]),
        ({"page_token": "nope"}, ["page_token"]),
    ],
)
async def test_list_suppressions_bad_input(
    events: EventsServer, fields: dict[str, Any], violations: list[str]
) -> None:
    got = await invalid(events.stub.ListSuppressions(pb.ListSuppressionsRequest(**fields)))
    assert sorted(got) == violations
