"""The security parts as the real `App` wires them (the other security tests use the same
parts on a smaller harness): keys, permissions, isolation, limits, TLS, one process per port."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from smsgateway.app import App
from smsgateway.config import Settings
from smsgateway.sandbox import SandboxConfig
from smsgateway.security.keys import new_key
from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc
from testkit.callers import SIGN_A, SIGN_B, callers_yaml
from testkit.certs import Authority
from testkit.rich_status import details_of
from testkit.settings import gateway_settings

CALLERS = {
    "tenant_a": {"permissions": ["send", "read_events"], "signs": [SIGN_A]},
    "tenant_b": {"permissions": ["send", "read_events"], "signs": [SIGN_B]},
    "reader_a": {"permissions": ["read_events"], "signs": [SIGN_A]},
    "limited": {"permissions": ["send"], "signs": [SIGN_A], "rate_limit_per_second": 1},
}


def _settings(data_dir: Path, **overrides: object) -> Settings:
    return gateway_settings(data_dir, **overrides)


@pytest.fixture
def keys() -> dict[str, str]:
    return {name: new_key() for name in CALLERS}


@pytest.fixture
async def app(tmp_path: Path, keys: dict[str, str]) -> AsyncIterator[App]:
    callers = tmp_path / "callers.yaml"
    callers.write_text(callers_yaml(keys, CALLERS), encoding="utf-8")
    gateway = App(
        _settings(tmp_path / "data", callers_file=callers),
        sandbox_config=SandboxConfig(report_delay_seconds=0.05, seed=7),
    )
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


def _stub(
    target: str, creds: grpc.ChannelCredentials | None = None
) -> tuple[grpc.aio.Channel, smsgateway_pb2_grpc.SmsGatewayStub]:
    channel = grpc.aio.secure_channel(target, creds) if creds else grpc.aio.insecure_channel(target)
    return channel, smsgateway_pb2_grpc.SmsGatewayStub(channel)


def _key(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


async def _status_once_recorded(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, biz_id: str, key: str
) -> pb.GetSendStatusResponse:
    """GetSendStatus once the send log has the call (it is written within milliseconds)."""
    async with asyncio.timeout(10):
        while True:
            try:
                return await stub.GetSendStatus(
                    pb.GetSendStatusRequest(biz_id=biz_id), metadata=_key(key), timeout=5
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            await asyncio.sleep(0.02)


def _send(sign: str = SIGN_A, phone: str = "13651688564") -> pb.SendSmsRequest:
    return pb.SendSmsRequest(
        phone_numbers=[phone],
        sign=sign,
        content="你的快件56682551825已签收，谢谢使用",
        kind=pb.SMS_KIND_NOTICE,
        request_id=str(uuid.uuid4()),
    )


async def test_the_app_authenticates_authorises_and_isolates(
    app: App, keys: dict[str, str]
) -> None:
    assert app.ports is not None
    channel, stub = _stub(f"127.0.0.1:{app.ports.grpc}")
    async with channel:
        # No key, a wrong key: UNAUTHENTICATED. Health needs none.
        for metadata in ((), _key("smsgw_" + "x" * 43)):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.SendSms(_send(), metadata=metadata, timeout=10)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        health = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=10
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        # A sign the caller lacks, a permission it lacks: PERMISSION_DENIED naming what.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SendSms(_send(SIGN_B), metadata=_key(keys["tenant_a"]), timeout=10)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert details_of(caught.value).metadata["missing"] == f"sign:{SIGN_B}"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SendSms(_send(), metadata=_key(keys["reader_a"]), timeout=10)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert details_of(caught.value).metadata["missing"] == "permission:send"
        # Its own sign goes out; another tenant cannot see its send.
        sent = await stub.SendSms(_send(), metadata=_key(keys["tenant_a"]), timeout=10)
        biz_id = sent.calls[0].biz_id
        own = await _status_once_recorded(stub, biz_id, keys["reader_a"])
        assert own.caller == "tenant_a"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetSendStatus(
                pb.GetSendStatusRequest(biz_id=biz_id),
                metadata=_key(keys["tenant_b"]),
                timeout=10,
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        # The rate limit of a caller: RESOURCE_EXHAUSTED with RetryInfo.
        await stub.SendSms(_send(), metadata=_key(keys["limited"]), timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SendSms(_send(), metadata=_key(keys["limited"]), timeout=10)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert details_of(caught.value).retry_delay is not None


async def test_a_second_app_on_the_same_grpc_port_fails_to_start(app: App, tmp_path: Path) -> None:
    assert app.ports is not None
    second = App(
        _settings(tmp_path / "data2", grpc_port=app.ports.grpc),
        sandbox_config=SandboxConfig(seed=7),
    )
    with pytest.raises(OSError, match="in use"):
        await second.start()


async def test_the_app_serves_tls_with_the_configured_certificate(tmp_path: Path) -> None:
    ca = Authority.create(tmp_path / "pki")
    server = ca.issue("server", server=True)
    settings = dataclasses.replace(
        _settings(tmp_path / "data"), tls_cert_file=server.cert, tls_key_file=server.key
    )
    app = App(settings, sandbox_config=SandboxConfig(seed=7))
    await app.start()
    try:
        assert app.ports is not None
        creds = grpc.ssl_channel_credentials(root_certificates=ca.cert.read_bytes())
        channel, stub = _stub(f"127.0.0.1:{app.ports.grpc}", creds)
        async with channel:
            balance = await stub.GetBalance(pb.GetBalanceRequest(), timeout=10)
            assert balance.balance
        plain, plain_stub = _stub(f"127.0.0.1:{app.ports.grpc}")
        async with plain:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await plain_stub.GetBalance(pb.GetBalanceRequest(), timeout=5)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await app.stop()
