"""Limits through a real gateway: rate limit, daily quota, the verification-code guard
(also across two replicas on Redis), replays that consume nothing, the provider ceiling."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from smsgateway.backends import redis as redis_backend
from smsgateway.backends.redis.connection import RedisSettings, connect
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.backends.redis.limits import RedisLimitStore
from smsgateway.security.ports import Window
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.callers import SIGN_A
from testkit.redis_server import RedisServer
from testkit.rich_status import details_of
from testkit.secure_gateway import SecureGateway, bearer, secure_settings, start_secure_gateway

VC = pb.SMS_KIND_VERIFICATION_CODE
A, B, C = "13800000001", "13800000002", "13800000003"


def send(*phones: str, kind: int = pb.SMS_KIND_NOTICE, request_id: str = "") -> pb.SendSmsRequest:
    return pb.SendSmsRequest(
        phone_numbers=list(phones),
        sign=SIGN_A,
        content="您的验证码是 1234",
        kind=kind,  # type: ignore[arg-type]
        request_id=request_id or str(uuid.uuid4()),
    )


def quota_failure(err: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rpc_status.from_call(err)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
            failure = error_details_pb2.QuotaFailure()
            detail.Unpack(failure)
            return {v.subject: v.description for v in failure.violations}
    raise AssertionError("no QuotaFailure in the status details")


async def test_rate_limit_then_quota_are_resource_exhausted(
    secure_gw: SecureGateway, keys: dict[str, str]
) -> None:
    stub, key = secure_gw.stub(), bearer(keys["limited"])  # 2 sends/s, 5 recipients/day
    await stub.SendSms(send(A), metadata=key)
    await stub.SendSms(send(B), metadata=key)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SendSms(send(C), metadata=key)
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details.reason == "RATE_LIMITED"
    assert details.metadata == {"caller": "limited", "limit": "rate_limit"}
    assert details.retry_delay is not None and 0 < details.retry_delay <= 0.5
    assert "caller:limited" in quota_failure(caught.value)
    assert secure_gw.sandbox.requests["/sms/send"] == 2

    await asyncio.sleep(details.retry_delay + 0.05)
    await stub.SendSms(send(C, "13800000004"), metadata=key)  # 4 of 5 recipients
    await asyncio.sleep(0.55)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SendSms(send("13800000005", "13800000006"), metadata=key)
    details = details_of(caught.value)
    assert details.reason == "DAILY_QUOTA_EXCEEDED"
    assert details.retry_delay is not None and details.retry_delay > 60
    assert secure_gw.sandbox.requests["/sms/send"] == 3


@pytest.fixture
def gateway_overrides() -> dict[str, object]:
    return {"verification_code_limits": (Window(2, 60.0),)}


async def test_verification_codes_leave_out_pumped_numbers_and_send_the_rest(
    secure_gw: SecureGateway, keys: dict[str, str]
) -> None:
    stub, key = secure_gw.stub(), bearer(keys["admin"])
    await stub.SendSms(send(A, kind=VC), metadata=key)
    await stub.SendSms(send(A, B, kind=VC), metadata=key)
    # A has had its 2 per 60 s, B one: A is left out and named, B and C get it.
    mixed = await stub.SendSms(send(A, B, C, kind=VC), metadata=key)
    assert [v.phone_number for v in mixed.violations] == [A]
    assert mixed.violations[0].reason == "VERIFICATION_CODE_LIMIT"
    assert 0 < mixed.violations[0].retry_delay.ToTimedelta().total_seconds() <= 60
    assert [list(c.phone_numbers) for c in mixed.calls] == [[B, C]]
    assert (mixed.recipient_count, mixed.accepted_count, mixed.failed_count) == (3, 2, 0)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SendSms(send(A, kind=VC), metadata=key)
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details.reason == "VERIFICATION_CODE_LIMIT"
    assert list(quota_failure(caught.value)) == [f"phone_number:{A}"]
    assert details.retry_delay is not None and 0 < details.retry_delay <= 60
    # Other kinds are not subject to the per-number guard.
    assert (await stub.SendSms(send(A), metadata=key)).accepted_count == 1


async def test_a_retry_is_replayed_and_consumes_nothing(
    secure_gw: SecureGateway, keys: dict[str, str]
) -> None:
    stub, key = secure_gw.stub(), bearer(keys["admin"])
    first = send(A, kind=VC)
    await stub.SendSms(first, metadata=key)
    await stub.SendSms(send(A, kind=VC), metadata=key)  # the 2nd of 2 per 60 s
    for _ in range(3):  # a client retrying after a timeout: the answer, not a refusal
        again = await stub.SendSms(first, metadata=key)
        assert again.replayed and again.accepted_count == 1
    assert secure_gw.sandbox.requests["/sms/send"] == 2


async def test_replays_do_not_count_against_the_number(
    secure_gw: SecureGateway, keys: dict[str, str]
) -> None:
    stub, key = secure_gw.stub(), bearer(keys["admin"])
    first = send(B, kind=VC)
    await stub.SendSms(first, metadata=key)
    await stub.SendSms(first, metadata=key)  # replayed: refunded
    second = await stub.SendSms(send(B, kind=VC), metadata=key)
    assert second.accepted_count == 1 and not second.violations


@pytest.fixture
async def two_replicas(
    tmp_path: Path, callers_file: Path, redis_server: RedisServer, redis_prefix: str
) -> AsyncIterator[list[SecureGateway]]:
    """Two gateways sharing one Redis (events, idempotency, limits), as two pods would."""
    gateways: list[SecureGateway] = []
    clients = []
    for i in range(2):
        settings = secure_settings(
            tmp_path / f"replica{i}",
            callers_file=callers_file,
            verification_code_limits=(Window(1, 60.0),),
        )
        redis = RedisSettings(url=redis_server.url, key_prefix=redis_prefix)
        backend = await redis_backend.open_backend(redis_backend.RedisOptions(settings=redis))
        client = connect(redis)
        clients.append(client)
        gateway = await start_secure_gateway(
            settings, backend=backend, limits=RedisLimitStore(client, RedisKeys(redis_prefix))
        )
        gateway._closers.insert(0, backend.close)
        gateways.append(gateway)
    try:
        yield gateways
    finally:
        for gateway in gateways:
            await gateway.stop()
        for client in clients:
            await client.aclose()


async def test_limits_hold_across_two_replicas_on_redis(
    two_replicas: list[SecureGateway], keys: dict[str, str]
) -> None:
    one, two = (g.stub() for g in two_replicas)
    admin, limited = bearer(keys["admin"]), bearer(keys["limited"])
    await one.SendSms(send(A, kind=VC), metadata=admin)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await two.SendSms(send(A, kind=VC), metadata=admin)
    assert details_of(caught.value).reason == "VERIFICATION_CODE_LIMIT"
    # The caller's bucket (2 per second) is one bucket for both replicas.
    await one.SendSms(send(B), metadata=limited)
    await two.SendSms(send(C), metadata=limited)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await one.SendSms(send("13800000009"), metadata=limited)
    assert details_of(caught.value).reason == "RATE_LIMITED"


@pytest.fixture
async def ceiling_gw(tmp_path: Path, callers_file: Path) -> AsyncIterator[SecureGateway]:
    settings = secure_settings(
        tmp_path / "data", callers_file=callers_file, provider_max_sends_per_second=5.0
    )
    gateway = await start_secure_gateway(settings)
    try:
        yield gateway
    finally:
        await gateway.stop()


async def test_the_provider_ceiling_spaces_calls_and_respects_deadlines(
    ceiling_gw: SecureGateway, keys: dict[str, str]
) -> None:
    stub, key = ceiling_gw.stub(), bearer(keys["admin"])
    started = time.monotonic()
    answers = await asyncio.gather(
        *(stub.SendSms(send(f"1390000{i:04d}"), metadata=key, timeout=10) for i in range(10))
    )
    elapsed = time.monotonic() - started
    assert all(a.accepted_count == 1 for a in answers)
    assert elapsed >= 0.9  # 5 at once (the burst), then 5 more at 5 per second
    # With the ceiling used up, a call whose deadline comes first is not sent.
    await asyncio.gather(
        *(stub.SendSms(send(f"1391000{i:04d}"), metadata=key, timeout=10) for i in range(5))
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SendSms(send(B), metadata=key, timeout=0.1)
    assert caught.value.code() in (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    )
    assert ceiling_gw.sandbox.requests["/sms/send"] == 15
