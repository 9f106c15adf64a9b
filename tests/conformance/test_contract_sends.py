"""The API refinements of the send path, through a real gRPC server and the sandbox:
bounded error details on partial failure, GetSend (the whole result, paged), and a
caller that gives up mid-send leaving no "Task exception was never retrieved"."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from decimal import Decimal

import grpc
import pytest

from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.rich_status import details_of


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # One provider call at a time: which calls fail is deterministic.
    return {"max_concurrent_calls": 1}


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"138{start + i:08d}" for i in range(n)]


def send_request(phone_numbers: list[str], request_id: str) -> pb.SendSmsRequest:
    return pb.SendSmsRequest(
        phone_numbers=phone_numbers,
        sign="Acme",
        content="hello",
        kind=pb.SMS_KIND_NOTICE,
        request_id=request_id,
    )


async def get_send_pages(gateway, request_id: str, page_size: int = 0) -> list[pb.GetSendResponse]:
    pages: list[pb.GetSendResponse] = []
    token = ""
    while True:
        page = await gateway.stub.GetSend(
            pb.GetSendRequest(request_id=request_id, page_size=page_size, page_token=token),
            timeout=10,
        )
        pages.append(page)
        token = page.next_page_token
        if not token:
            return pages


async def test_large_partial_failure_has_small_details_and_get_send_has_every_call(
    gateway,
) -> None:
    # 3,000 recipients = 24 provider calls of 125; balance for the first 10 calls only.
    gateway.sandbox.balance = Decimal("62.50")
    request_id = str(uuid.uuid4())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendSms(send_request(numbers(3000), request_id), timeout=60)

    error = caught.value
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION  # not RESOURCE_EXHAUSTED
    trailers = dict(error.trailing_metadata() or ())
    assert len(trailers["grpc-status-details-bin"]) < 2048
    details = details_of(error)
    assert details.reason == "UPSTREAM_REJECTED"
    assert details.metadata["request_id"] == request_id
    failure = details.partial
    assert isinstance(failure, pb.SendFailure)
    assert (failure.request_id, failure.call_count) == (request_id, 24)
    assert (failure.accepted_count, failure.failed_count) == (1250, 1750)
    assert [f.index for f in failure.first_failures] == [10, 11, 12, 13, 14]
    assert all(f.recipient_count == 125 and f.provider_code for f in failure.first_failures)

    pages = await get_send_pages(gateway, request_id, page_size=7)
    assert [len(p.calls) for p in pages] == [7, 7, 7, 3]
    calls = [c for p in pages for c in p.calls]
    assert [c.call.index for c in calls] == list(range(24))
    sent = {b.biz_id for b in gateway.sandbox.batches}
    accepted = [c for c in calls if c.call.outcome == pb.CALL_OUTCOME_ACCEPTED]
    assert len(accepted) == 10 and {c.call.biz_id for c in accepted} == sent
    assert all(c.call.outcome == pb.CALL_OUTCOME_REJECTED for c in calls[10:])
    assert [n for c in calls for n in c.call.phone_numbers] == numbers(3000)
    for page in pages:
        assert (page.call_count, page.recipient_count, page.accepted_count) == (24, 3000, 1250)
    # Accepted calls carry a status per recipient; rejected ones none.
    assert all(len(c.recipients) == 125 for c in accepted)
    assert all(not c.recipients for c in calls[10:])


async def test_get_send_reports_delivery_per_recipient(gateway) -> None:
    request_id = str(uuid.uuid4())
    sent = await gateway.stub.SendSms(send_request(numbers(3), request_id), timeout=10)

    async def reported() -> pb.GetSendResponse:
        while True:
            (page,) = await get_send_pages(gateway, request_id)
            if page.calls[0].recipients and page.calls[0].pending_count == 0:
                return page
            await asyncio.sleep(0.05)

    # The sandbox draws each report's outcome: wait until every recipient has one.
    page = await asyncio.wait_for(reported(), timeout=10)
    (call,) = page.calls
    assert call.call.biz_id == sent.calls[0].biz_id
    assert [r.phone_number for r in call.recipients] == numbers(3)
    assert all(r.report.biz_id == call.call.biz_id for r in call.recipients)
    assert call.delivered_count + call.undelivered_count == 3
    status = await gateway.stub.GetSendStatus(
        pb.GetSendStatusRequest(biz_id=call.call.biz_id), timeout=10
    )
    assert [(r.phone_number, r.status) for r in call.recipients] == [
        (r.phone_number, r.status) for r in status.recipients
    ]
    assert (page.request_id, page.content, page.next_page_token) == (
        request_id,
        "【Acme】hello",
        "",
    )


async def test_get_send_errors(gateway) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.GetSend(pb.GetSendRequest(request_id="never-used"), timeout=10)
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.NOT_FOUND
    assert (details.reason, details.metadata) == ("SEND_NOT_FOUND", {"request_id": "never-used"})

    request_id = str(uuid.uuid4())
    await gateway.stub.SendSms(send_request(numbers(300), request_id), timeout=10)
    (first, _, _) = await get_send_pages(gateway, request_id, page_size=1)
    bad = [
        (pb.GetSendRequest(), "request_id"),
        (pb.GetSendRequest(request_id="x" * 129), "request_id"),
        (pb.GetSendRequest(request_id=request_id, page_size=101), "page_size"),
        (pb.GetSendRequest(request_id=request_id, page_token="forged"), "page_token"),
        # A real token, but of another request_id.
        (pb.GetSendRequest(request_id="other", page_token=first.next_page_token), "page_token"),
    ]
    for request, field in bad:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gateway.stub.GetSend(request, timeout=10)
        details = details_of(caught.value)
        assert details.code == grpc.StatusCode.INVALID_ARGUMENT, request
        assert list(details.violations) == [field], request


async def test_a_caller_giving_up_mid_send_leaves_no_unretrieved_task(
    gateway, caplog: pytest.LogCaptureFixture
) -> None:
    await gateway.stub.GetBalance(pb.GetBalanceRequest(), timeout=10)  # warm the token
    gateway.sandbox.set_faults(latency_seconds=0.6, error_rate=1.0, paths=frozenset({"/sms/send"}))
    request_id = str(uuid.uuid4())
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gateway.stub.SendSms(send_request(numbers(1), request_id), timeout=0.3)
        # The server stops waiting for the provider just before the caller's deadline: which
        # answer reaches the caller first (its own deadline, or the server's "unknown") is a
        # race; either way the outcome is recorded and nothing is left unretrieved.
        assert caught.value.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN)

        # The send goes on without its caller and ends (unknown: its deadline passed).
        async def finished() -> pb.GetSendResponse:
            while True:
                (page,) = await get_send_pages(gateway, request_id)
                if page.calls[0].call.message != "in flight":
                    return page
                await asyncio.sleep(0.05)

        page = await asyncio.wait_for(finished(), timeout=10)
        gc.collect()  # an unretrieved task exception is logged when the task is collected
        await asyncio.sleep(0.05)
    assert page.calls[0].call.outcome == pb.CALL_OUTCOME_UNKNOWN
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
