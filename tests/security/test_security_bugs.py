"""The bugs found on the way, replayed: the provider's own secret refused, a second instance
sharing the port, invalid UTF-8 → UNKNOWN with an ERROR log, forged page tokens → INTERNAL."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from smsgateway.config import ConfigError, Settings
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.ports import free_port
from testkit.rich_status import details_of
from testkit.secure_gateway import SecureGateway, bearer, secure_settings, start_secure_gateway

DOC_SECRET = "23f757bad208226ec301e117e40006ed"  # the provider document's own example


def test_the_providers_example_secret_is_accepted() -> None:
    env = {"SMSGW_UPSTREAM_URL": "http://gw.example", "SMSGW_APP_ID": "app1"}
    settings = Settings.from_env({**env, "SMSGW_SECRET": DOC_SECRET})
    assert settings.secret == DOC_SECRET
    assert Settings.from_env({**env, "SMSGW_SECRET": "s" * 256}).secret == "s" * 256
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**env, "SMSGW_SECRET": "s" * 257})
    assert "longer than 256" in str(caught.value)
    assert "s" * 257 not in str(caught.value)


async def test_grpcs_default_lets_a_second_server_share_the_port() -> None:
    """The bug: with grpc's default (SO_REUSEPORT on) a second server binds the same port
    and the kernel splits the connections between the two."""
    port = free_port()
    one, two = grpc.aio.server(), grpc.aio.server()
    try:
        assert one.add_insecure_port(f"127.0.0.1:{port}") == port
        assert two.add_insecure_port(f"127.0.0.1:{port}") == port
    finally:
        await one.stop(0)
        await two.stop(0)


async def test_a_second_instance_on_the_same_port_fails_to_start(tmp_path: Path) -> None:
    port = free_port()
    first = await start_secure_gateway(
        secure_settings(tmp_path / "one"), address=f"127.0.0.1:{port}"
    )
    try:
        with pytest.raises(OSError, match="in use by another process"):
            await start_secure_gateway(
                secure_settings(tmp_path / "two"), address=f"127.0.0.1:{port}"
            )
        # Not even a server with grpc's defaults can join it now.
        default = grpc.aio.server()
        try:
            with pytest.raises(RuntimeError):
                default.add_insecure_port(f"127.0.0.1:{port}")
        finally:
            await default.stop(0)
    finally:
        await first.stop()


def _raw(gateway: SecureGateway, method: str, streaming: bool = False) -> object:
    channel = grpc.aio.insecure_channel(gateway.target)
    gateway.channels.append(channel)
    factory = channel.unary_stream if streaming else channel.unary_unary
    return factory(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)


def _field(number: int, payload: bytes) -> bytes:
    return bytes([(number << 3) | 2, len(payload)]) + payload


@pytest.mark.parametrize(
    ("method", "body", "field", "streaming"),
    [
        # SendSmsRequest.sign = b"\xff\xfe"
        ("SendSms", _field(1, b"13800000000") + _field(2, b"\xff\xfe"), "sign", False),
        ("SendSms", _field(1, b"13800000000") + _field(1, b"1380\xc3"), "phone_numbers[1]", False),
        # StreamDeliveryReportsRequest.filter (2) → DeliveryReportFilter.phone_numbers (2)
        (
            "StreamDeliveryReports",
            _field(2, _field(2, b"13800000000") + _field(2, b"\xed\xa0\x80")),
            "filter.phone_numbers[1]",
            True,
        ),
        ("ListSuppressions", _field(1, b"\x80"), "sign", False),
        ("SendSms", b"\x0a\x05ab", "request", False),  # truncated: no single field to blame
    ],
)
async def test_undecodable_requests_are_invalid_argument_naming_the_field(
    secure_gw: SecureGateway,
    keys: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    method: str,
    body: bytes,
    field: str,
    streaming: bool,
) -> None:
    call = _raw(secure_gw, f"/smsgateway.v1.SmsGateway/{method}", streaming)
    with caplog.at_level(logging.WARNING), pytest.raises(grpc.aio.AioRpcError) as caught:
        if streaming:
            async for _ in call(body, metadata=bearer(keys["admin"]), timeout=5):  # type: ignore[operator]
                pass
        else:
            await call(body, metadata=bearer(keys["admin"]), timeout=5)  # type: ignore[operator]
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(details.violations) == [field]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert secure_gw.sandbox.requests["/sms/send"] == 0


async def test_undecodable_health_checks_are_invalid_argument(secure_gw: SecureGateway) -> None:
    call = _raw(secure_gw, "/grpc.health.v1.Health/Check")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(_field(1, b"\xff"), timeout=5)  # type: ignore[operator]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    ok = health_pb2.HealthCheckResponse.FromString(await call(b"", timeout=5))  # type: ignore[operator]
    assert ok.status == health_pb2.HealthCheckResponse.SERVING


def _token(kind: str, fingerprint_of: str, after: object) -> str:
    fingerprint = hashlib.sha256(fingerprint_of.encode()).hexdigest()[:16]
    raw = json.dumps({"v": 1, "k": kind, "f": fingerprint, "a": after}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("method", "token"),
    [
        ("ListDeliveryReports", _token("reports", "{}", 2**63)),
        ("ListDeliveryReports", _token("reports", "{}", 10**40)),
        ("ListDeliveryReports", _token("reports", "{}", -1)),
        ("ListDeliveryReports", _token("reports", "{}", 1.5)),
        ("ListUplinks", _token("uplinks", "{}", 2**64)),
        ("ListSuppressions", _token("suppressions", "", ["\ud800", "13800000000"])),
        ("ListSuppressions", _token("suppressions", "", ["x" * 5000, "1"])),
        ("ListSuppressions", _token("suppressions", "", [1, 2])),
        ("ListDeliveryReports", base64.urlsafe_b64encode(b"\xff\xfe{").decode()),
        ("ListDeliveryReports", base64.urlsafe_b64encode(b"[" * 700).decode()),
        ("ListDeliveryReports", "!!!not base64!!!"),
    ],
)
async def test_forged_page_tokens_are_invalid_argument(
    secure_gw: SecureGateway, keys: dict[str, str], method: str, token: str
) -> None:
    requests = {
        "ListDeliveryReports": pb.ListDeliveryReportsRequest,
        "ListUplinks": pb.ListUplinksRequest,
        "ListSuppressions": pb.ListSuppressionsRequest,
    }
    stub = secure_gw.stub()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, method)(
            requests[method](page_token=token), metadata=bearer(keys["admin"]), timeout=5
        )
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert list(details.violations) == ["page_token"]
