"""The real upstream client under the interceptor: its spans join the caller's trace, redacted.

A grpc.aio server with `ObservabilityInterceptor` whose handler sends through the real
`ProviderClient` to the real sandbox provider over HTTP, with the metrics observer.
The caller's traceparent must reach every upstream span (token fetch and send), and
no span may carry the token, the secret, the appId's secret query or a phone number.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from grpc import aio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from smsgateway.observability import metrics, upstream_metrics
from smsgateway.observability.grpc_interceptor import ObservabilityInterceptor
from smsgateway.sandbox import SandboxConfig, SandboxProvider
from smsgateway.upstream import ProviderClient, UpstreamConfig, new_session
from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

APP_ID = "obsapp01"
SECRET = "obs-secret-0123456789abcdefghij"
PHONE = "13651688564"
CALLER_TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
CALLER_SPAN_ID = 0xB7AD6B7169203331
TRACEPARENT = f"00-{CALLER_TRACE_ID:032x}-{CALLER_SPAN_ID:016x}-01"
SEND = "smsgateway.v1.SmsGateway/SendSms"


class _Servicer(smsgateway_pb2_grpc.SmsGatewayServicer):  # type: ignore[misc]
    def __init__(self, client: ProviderClient) -> None:
        self.client = client

    async def SendSms(self, request: pb.SendSmsRequest, context: Any) -> pb.SendSmsResponse:
        receipt = await self.client.send(
            phone_numbers=list(request.phone_numbers),
            sign=request.sign,
            content=request.content,
            kind=1,
        )
        assert receipt.biz_id
        return pb.SendSmsResponse(recipient_count=len(request.phone_numbers))


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[smsgateway_pb2_grpc.SmsGatewayStub, ProviderClient]]:
    sandbox = SandboxProvider(
        SandboxConfig(app_id=APP_ID, secret=SECRET, report_delay_seconds=3600)
    )
    base_url = await sandbox.start()
    config = UpstreamConfig(base_url=base_url, app_id=APP_ID, secret=SECRET)
    session = new_session(config)
    client = ProviderClient(session, config, observer=upstream_metrics.MetricsUpstreamObserver())
    server = aio.server(interceptors=[ObservabilityInterceptor()])
    smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(_Servicer(client), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield smsgateway_pb2_grpc.SmsGatewayStub(channel), client
    finally:
        await server.stop(None)
        await client.close()
        await session.close()
        await sandbox.stop()


def _text(span: ReadableSpan) -> str:
    parts = [span.name, *(f"{k}={v!s}" for k, v in (span.attributes or {}).items())]
    for event in span.events:
        parts += [event.name, *(f"{k}={v!s}" for k, v in (event.attributes or {}).items())]
    parts.append(span.status.description or "")
    return " ".join(parts)


async def test_upstream_spans_join_the_callers_trace_without_secrets(
    gateway: tuple[smsgateway_pb2_grpc.SmsGatewayStub, ProviderClient],
    spans: InMemorySpanExporter,
) -> None:
    stub, client = gateway
    sends_before = (
        metrics.REGISTRY.get_sample_value(
            "smsgateway_upstream_requests_total", {"endpoint": "send", "outcome": "success"}
        )
        or 0.0
    )
    resp = await stub.SendSms(
        pb.SendSmsRequest(phone_numbers=[PHONE], sign="Obs", content="【Obs】hello"),
        metadata=(("traceparent", TRACEPARENT),),
    )
    assert resp.recipient_count == 1
    token = await client.tokens.get()
    assert token

    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.name == SEND)
    upstream = [s for s in finished if s.kind is SpanKind.CLIENT]
    assert {s.name for s in upstream} >= {"GET /api/token", "POST /sms/send"}, [
        s.name for s in finished
    ]
    assert server.context is not None and server.context.trace_id == CALLER_TRACE_ID
    assert server.parent is not None and server.parent.span_id == CALLER_SPAN_ID

    # Every upstream span descends from the server span, within the caller's trace.
    by_id = {s.context.span_id: s for s in finished if s.context is not None}
    for span in upstream:
        assert span.context is not None and span.context.trace_id == CALLER_TRACE_ID
        ancestor = span
        while ancestor.parent is not None and ancestor.parent.span_id in by_id:
            ancestor = by_id[ancestor.parent.span_id]
        assert ancestor is server, span.name

    for span in [server, *upstream]:
        text = _text(span)
        for secret in (token, SECRET, PHONE, "token=", "secret="):
            assert secret not in text, (span.name, secret)

    assert (
        metrics.REGISTRY.get_sample_value(
            "smsgateway_upstream_requests_total", {"endpoint": "send", "outcome": "success"}
        )
        == sends_before + 1
    )
