"""What a caller gets when the provider misbehaves."""

from __future__ import annotations

import uuid

import grpc
import pytest

from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.rich_status import details_of

SEND = "/sms/send"


def request(**fields: object) -> pb.SendSmsRequest:
    values: dict[str, object] = {
        "phone_numbers": ["13651688564"],
        "sign": "圆通快递",
        "content": "您的快件已签收",
        "kind": pb.SMS_KIND_NOTICE,
        "request_id": str(uuid.uuid4()),
    }
    values.update(fields)
    return pb.SendSmsRequest(**values)  # type: ignore[arg-type]


async def send_error(gateway, req: pb.SendSmsRequest):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendSms(req, timeout=10.0)
    return details_of(caught.value)


@pytest.mark.parametrize(
    "fault",
    [
        {"http_5xx_rate": 1.0},
        {"malformed_rate": 1.0},
        {"drop_rate": 1.0},
    ],
    ids=["http-5xx", "malformed-body", "dropped-connection"],
)
async def test_send_with_unknown_outcome_is_reported_and_never_repeated(gateway, fault) -> None:
    await gateway.stub.GetBalance(pb.GetBalanceRequest())  # warm the token
    gateway.sandbox.set_faults(paths=frozenset({SEND}), **fault)
    req = request()

    details = await send_error(gateway, req)
    assert details.code == grpc.StatusCode.UNKNOWN
    assert details.reason == "UPSTREAM_OUTCOME_UNKNOWN"
    assert details.retry_delay is None
    assert details.partial.first_failures[0].outcome == pb.CALL_OUTCOME_UNKNOWN
    assert gateway.sandbox.requests[SEND] == 1

    gateway.sandbox.clear_faults()
    again = await send_error(gateway, req)
    assert again.code == grpc.StatusCode.UNKNOWN
    assert gateway.sandbox.requests[SEND] == 1, "an unknown outcome is never sent again"


async def test_slow_provider_beyond_the_callers_deadline(gateway) -> None:
    await gateway.stub.GetBalance(pb.GetBalanceRequest())
    gateway.sandbox.set_faults(latency_seconds=3.0, paths=frozenset({SEND}))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendSms(request(), timeout=0.5)
    # The caller's deadline passes first; the gateway's own call is bounded by it too.
    assert caught.value.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN)
    assert gateway.sandbox.requests[SEND] == 1


async def test_an_answer_just_after_the_callers_deadline_is_recorded(gateway) -> None:
    """The caller gets DEADLINE_EXCEEDED (its deadline comes first, never the gateway's
    "no answer" a moment before it), and the provider's answer that comes shortly after
    is recorded: GetSend reports the call accepted, not unknown."""
    import asyncio

    await gateway.stub.GetBalance(pb.GetBalanceRequest())
    gateway.sandbox.set_faults(latency_seconds=0.35, paths=frozenset({SEND}))
    req = request()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendSms(req, timeout=0.3)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    for _ in range(100):
        got = await gateway.stub.GetSend(pb.GetSendRequest(request_id=req.request_id))
        if got.calls and got.calls[0].call.message != "in flight":
            break
        await asyncio.sleep(0.05)
    assert got.calls[0].call.outcome == pb.CALL_OUTCOME_ACCEPTED
    assert gateway.sandbox.requests[SEND] == 1


async def test_provider_error_code_is_failed_precondition_with_the_code(gateway) -> None:
    gateway.sandbox.set_faults(error_rate=1.0, error_code="10500", paths=frozenset({SEND}))
    details = await send_error(gateway, request())
    assert details.code == grpc.StatusCode.FAILED_PRECONDITION
    assert details.reason == "UPSTREAM_REJECTED"
    assert details.metadata["provider_code"] == "10500"


async def test_provider_down_is_unavailable_with_retry_info_then_retry_sends(gateway) -> None:
    req = request()
    await gateway.sandbox.stop()
    details = await send_error(gateway, req)
    assert details.code == grpc.StatusCode.UNAVAILABLE
    assert details.retry_delay is not None and details.retry_delay > 0
    assert details.partial.first_failures[0].outcome == pb.CALL_OUTCOME_NOT_SENT


async def test_token_reset_between_two_sends(gateway) -> None:
    await gateway.stub.SendSms(request())
    gateway.sandbox.reset_secret(gateway.sandbox.config.secret)
    response = await gateway.stub.SendSms(request())
    assert response.calls[0].outcome == pb.CALL_OUTCOME_ACCEPTED
    assert gateway.sandbox.requests["/api/token"] == 2
    assert gateway.sandbox.requests[SEND] == 3  # rejected once for its token, then resent


async def test_balance_when_provider_is_garbled_is_unavailable(gateway) -> None:
    gateway.sandbox.set_faults(malformed_rate=1.0, paths=frozenset({"/sms/balance"}))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.GetBalance(pb.GetBalanceRequest(), timeout=10)
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.UNAVAILABLE
    assert details.reason == "UPSTREAM_UNAVAILABLE"
