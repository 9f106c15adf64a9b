"""Keys, the provider secret and the callers file never reach logs, spans, metrics or errors.

Every kind of call is made — accepted, refused for each reason, with a wrong key, with a
key in the wrong place — while the JSON log, an in-memory span exporter and the metrics
exposition are captured; then none of them may contain any secret.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from smsgateway.observability import metrics_server
from smsgateway.observability.logging import JsonFormatter
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.callers import SIGN_A, SIGN_B
from testkit.secure_gateway import SecureGateway, bearer, secure_settings, start_secure_gateway

WRONG_KEY = "smsgw_WRONGwrongWRONGwrongWRONGwrongWRONGwrong1"


@pytest.fixture
async def observed(
    tmp_path: Path, callers_file: Path
) -> AsyncIterator[tuple[SecureGateway, io.StringIO, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    gateway = await start_secure_gateway(
        secure_settings(tmp_path / "data", callers_file=callers_file), tracer_provider=provider
    )
    try:
        yield gateway, out, exporter
    finally:
        await gateway.stop()
        root.removeHandler(handler)
        root.setLevel(level)


def _send(sign: str = SIGN_A, **fields: object) -> pb.SendSmsRequest:
    values: dict[str, object] = {
        "phone_numbers": ["13800000001"],
        "sign": sign,
        "content": "code 1234",
        "kind": pb.SMS_KIND_VERIFICATION_CODE,
    }
    values.update(fields)
    return pb.SendSmsRequest(**values)  # type: ignore[arg-type]


async def test_no_secret_reaches_logs_spans_metrics_or_errors(
    observed: tuple[SecureGateway, io.StringIO, InMemorySpanExporter],
    keys: dict[str, str],
    callers_file: Path,
) -> None:
    gateway, log_out, spans = observed
    stub = gateway.stub()
    errors: list[grpc.aio.AioRpcError] = []

    async def attempt(call: object) -> None:
        try:
            await call  # type: ignore[misc]
        except grpc.aio.AioRpcError as exc:
            errors.append(exc)

    await attempt(stub.SendSms(_send(), metadata=bearer(keys["tenant_a"])))
    await attempt(stub.SendSms(_send(), metadata=bearer(keys["tenant_a"])))  # per-number limit
    await attempt(stub.SendSms(_send(SIGN_B), metadata=bearer(keys["tenant_a"])))  # foreign sign
    await attempt(stub.SendSms(_send(), metadata=bearer(WRONG_KEY)))
    await attempt(stub.SendSms(_send(), metadata=(("authorization", WRONG_KEY),)))
    await attempt(stub.SendSms(_send(), metadata=(("x-api-key", WRONG_KEY),)))
    await attempt(stub.GetBalance(pb.GetBalanceRequest(), metadata=bearer(keys["reader_a"])))
    for _ in range(4):
        await attempt(
            stub.SendSms(_send(kind=pb.SMS_KIND_NOTICE), metadata=bearer(keys["limited"]))
        )
    await attempt(
        stub.ListDeliveryReports(pb.ListDeliveryReportsRequest(), metadata=bearer(keys["multi"]))
    )
    # A bad reload of the callers file is reported, without its content.
    original = await asyncio.to_thread(callers_file.read_text)
    await asyncio.to_thread(callers_file.write_text, original + "  - broken: [\n")
    assert gateway.security.registry is not None
    gateway.security.registry.reload()

    assert {e.code() for e in errors} >= {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.INVALID_ARGUMENT,
    }
    token = gateway.sandbox._state.tokens.current  # the provider token the gateway was issued
    assert token
    secrets = [*keys.values(), WRONG_KEY, gateway.sandbox.config.secret, token]
    secrets += [k[6:26] for k in keys.values()]  # no part of a key either
    logs = log_out.getvalue()
    assert "call refused" in logs and "audit_send" in logs  # the lines are there...
    exposition = metrics_server.render().decode()
    assert 'caller="tenant_a"' in exposition
    span_text = "\n".join(
        f"{s.name} {dict(s.attributes or {})} {[e.attributes for e in s.events]}"
        for s in spans.get_finished_spans()
    )
    assert span_text
    error_text = "\n".join(
        f"{e.details()} {e.trailing_metadata()} {e.debug_error_string()}" for e in errors
    )
    for secret in secrets:
        for where, text in (
            ("logs", logs),
            ("metrics", exposition),
            ("spans", span_text),
            ("errors", error_text),
        ):
            assert secret not in text, f"a secret reached the {where}"
    # ...and they never quote the callers file's digests either.
    for line in original.splitlines():
        if "key_sha256" in line:
            assert line.split('"')[1] not in logs
