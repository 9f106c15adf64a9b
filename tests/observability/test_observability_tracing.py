"""The gRPC interceptor's spans and metrics, over a real grpc.aio server and real HTTP.

A handler on a real grpc.aio server (port 0) calls a real aiohttp server inside a
client span, as the upstream client does; the caller sends a W3C traceparent in
metadata. The span tree, its attributes (no token, secret or phone number), the
final status codes (OK, abort, exception, streaming) and the metrics are asserted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from aiohttp import ClientSession, web
from grpc import aio
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from smsgateway.observability import metrics, metrics_server
from smsgateway.observability.grpc_interceptor import ObservabilityInterceptor
from smsgateway.observability.tracing import (
    configure_tracing,
    current_traceparent,
    delivery_span,
    exporter_from_env,
    ingest_span,
    link_from_traceparent,
    redact_url,
    span_context_from_traceparent,
)
from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

TOKEN = "tok-3f9a8b7c6d5e4f3a2b1c"
SECRET = "sec-0123456789abcdefghijklmnopq"
PHONE = "13651688564"
CALLER_TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
CALLER_SPAN_ID = 0x00F067AA0BA902B7
TRACEPARENT = f"00-{CALLER_TRACE_ID:032x}-{CALLER_SPAN_ID:016x}-01"

_tracer = trace.get_tracer("tests.observability")


class _Servicer(smsgateway_pb2_grpc.SmsGatewayServicer):  # type: ignore[misc]
    """Stands in for the real servicer: calls a real HTTP 'provider' like the upstream client."""

    def __init__(self, provider_url: str, session: ClientSession) -> None:
        self.provider_url = provider_url
        self.session = session

    async def SendSms(self, request: pb.SendSmsRequest, context: Any) -> pb.SendSmsResponse:
        if request.sign == "abort":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad number {PHONE}")
        if request.sign == "crash":
            raise RuntimeError(f"boom for {PHONE} with token={TOKEN}")
        if request.sign == "slow":
            await asyncio.sleep(30)
        if request.sign == "set-code":
            context.set_code(grpc.StatusCode.UNAVAILABLE)
            return pb.SendSmsResponse()
        url = f"{self.provider_url}/sms/send?token={TOKEN}"
        with _tracer.start_as_current_span(
            "POST /sms/send",
            kind=SpanKind.CLIENT,
            attributes={"http.request.method": "POST", "url.full": redact_url(url)},
        ) as span:
            async with self.session.post(
                url,
                data={"token": TOKEN, "phoneNumbers": ",".join(request.phone_numbers)},
            ) as resp:
                span.set_attribute("http.response.status_code", resp.status)
                await resp.read()
        return pb.SendSmsResponse(request_id=request.request_id, recipient_count=1)

    async def StreamDeliveryReports(
        self, request: pb.StreamDeliveryReportsRequest, context: Any
    ) -> AsyncIterator[pb.StreamDeliveryReportsResponse]:
        if request.consumer_group.name == "endless":
            while True:
                yield pb.StreamDeliveryReportsResponse(report=pb.DeliveryReport(cursor=1))
                await asyncio.sleep(0.01)
        for cursor in (1, 2, 3):
            # Work done while producing stream items runs inside the server span.
            with _tracer.start_as_current_span("deliver"):
                pass
            yield pb.StreamDeliveryReportsResponse(report=pb.DeliveryReport(cursor=cursor))
        if request.consumer_group.name == "fail":
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no such group")


@pytest.fixture
async def provider() -> AsyncIterator[str]:
    async def send(request: web.Request) -> web.Response:
        await request.post()
        return web.json_response({"code": "10000", "bizId": "39036632588910887018"})

    app = web.Application()
    app.router.add_post("/sms/send", send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://user:{SECRET}@127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def channel(provider: str) -> AsyncIterator[aio.Channel]:
    server = aio.server(interceptors=[ObservabilityInterceptor()])
    async with ClientSession() as session:
        smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(_Servicer(provider, session), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
        await server.stop(None)


@pytest.fixture
def stub(channel: aio.Channel) -> smsgateway_pb2_grpc.SmsGatewayStub:
    return smsgateway_pb2_grpc.SmsGatewayStub(channel)


def _count(method: str, code: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "smsgateway_grpc_requests_total", {"method": method, "code": code}
    )
    return value or 0.0


def _latency_count(method: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "smsgateway_grpc_request_duration_seconds_count", {"method": method}
    )
    return value or 0.0


async def _finished_span(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    for _ in range(500):
        found = _by_name(spans).get(name)
        if found is not None:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"no finished span {name}")


async def _wait_for_count(method: str, code: str, target: float) -> None:
    # The server records after the client already has its status; poll briefly.
    for _ in range(500):
        if _count(method, code) >= target:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{method} {code} never reached {target}")


def _by_name(spans: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans.get_finished_spans()}


def _all_attribute_text(span: ReadableSpan) -> str:
    parts = [span.name, *(f"{k}={v!s}" for k, v in (span.attributes or {}).items())]
    for event in span.events:
        parts += [event.name, *(f"{k}={v!s}" for k, v in (event.attributes or {}).items())]
    if span.status.description:
        parts.append(span.status.description)
    return " ".join(parts)


SEND = "smsgateway.v1.SmsGateway/SendSms"
STREAM = "smsgateway.v1.SmsGateway/StreamDeliveryReports"


async def test_upstream_span_is_child_of_server_span_in_callers_trace(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    before = _count(SEND, "OK")
    resp = await stub.SendSms(
        pb.SendSmsRequest(phone_numbers=[PHONE], sign="ok", content="hi", request_id="r1"),
        metadata=(("traceparent", TRACEPARENT),),
    )
    assert resp.recipient_count == 1

    by_name = _by_name(spans)
    server, client = by_name[SEND], by_name["POST /sms/send"]
    assert server.kind is SpanKind.SERVER
    assert server.context is not None and client.context is not None
    assert server.context.trace_id == CALLER_TRACE_ID
    assert server.parent is not None and server.parent.span_id == CALLER_SPAN_ID
    assert server.parent.is_remote
    assert client.context.trace_id == CALLER_TRACE_ID
    assert client.parent is not None and client.parent.span_id == server.context.span_id
    assert server.attributes is not None
    assert server.attributes["rpc.system"] == "grpc"
    assert server.attributes["rpc.service"] == "smsgateway.v1.SmsGateway"
    assert server.attributes["rpc.method"] == "SendSms"
    assert server.attributes["rpc.grpc.status_code"] == 0
    assert server.status.status_code is StatusCode.UNSET

    assert client.attributes is not None
    url = str(client.attributes["url.full"])
    assert url.startswith("http://127.0.0.1:") and url.endswith("/sms/send")
    for span in (server, client):
        text = _all_attribute_text(span)
        assert TOKEN not in text and SECRET not in text and PHONE not in text

    assert _count(SEND, "OK") == before + 1


async def test_without_traceparent_the_server_span_is_a_new_root(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    await stub.SendSms(pb.SendSmsRequest(phone_numbers=[PHONE], sign="ok"))
    by_name = _by_name(spans)
    server, client = by_name[SEND], by_name["POST /sms/send"]
    assert server.parent is None
    assert server.context is not None and client.context is not None
    assert client.context.trace_id == server.context.trace_id != CALLER_TRACE_ID


async def test_tracestate_takes_the_general_propagator_path(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    await stub.SendSms(
        pb.SendSmsRequest(phone_numbers=[PHONE], sign="ok"),
        metadata=(("traceparent", TRACEPARENT), ("tracestate", "vendor=abc")),
    )
    server = _by_name(spans)[SEND]
    assert server.parent is not None and server.parent.span_id == CALLER_SPAN_ID
    assert server.parent.trace_state.get("vendor") == "abc"
    assert server.context is not None and server.context.trace_id == CALLER_TRACE_ID


async def test_with_tracing_off_rpcs_are_counted_and_logs_keep_the_callers_trace() -> None:
    seen: list[str] = []

    class Servicer(smsgateway_pb2_grpc.SmsGatewayServicer):  # type: ignore[misc]
        async def SendSms(self, request: pb.SendSmsRequest, context: Any) -> pb.SendSmsResponse:
            seen.append(current_traceparent())
            return pb.SendSmsResponse()

    server = aio.server(
        interceptors=[ObservabilityInterceptor(tracer_provider=trace.NoOpTracerProvider())]
    )
    smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        before = _count(SEND, "OK")
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)
            await stub.SendSms(pb.SendSmsRequest(), metadata=(("traceparent", TRACEPARENT),))
            await stub.SendSms(pb.SendSmsRequest())
        assert _count(SEND, "OK") == before + 2
    finally:
        await server.stop(None)
    # No span of ours, but the caller's context is current inside the handler.
    assert seen == [TRACEPARENT, ""]


async def test_garbage_traceparent_starts_a_new_trace(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    await stub.SendSms(
        pb.SendSmsRequest(phone_numbers=[PHONE], sign="ok"),
        metadata=(("traceparent", "00-zzzz-not-a-trace"),),
    )
    server = _by_name(spans)[SEND]
    assert server.parent is None


async def test_abort_is_recorded_with_its_code_and_without_details(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    before = _count(SEND, "INVALID_ARGUMENT")
    with pytest.raises(aio.AioRpcError) as err:
        await stub.SendSms(pb.SendSmsRequest(sign="abort"))
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    # abort() sends the status before the handler unwinds: the client can be first.
    await _wait_for_count(SEND, "INVALID_ARGUMENT", before + 1)
    server = await _finished_span(spans, SEND)
    assert server.attributes is not None
    assert server.attributes["rpc.grpc.status_code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    # A caller error, not a server error.
    assert server.status.status_code is StatusCode.UNSET
    assert PHONE not in _all_attribute_text(server)


async def test_exception_is_unknown_error_span_without_message(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    before = _count(SEND, "UNKNOWN")
    with pytest.raises(aio.AioRpcError) as err:
        await stub.SendSms(pb.SendSmsRequest(sign="crash"))
    assert err.value.code() is grpc.StatusCode.UNKNOWN
    assert _count(SEND, "UNKNOWN") == before + 1
    server = _by_name(spans)[SEND]
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes is not None
    assert server.attributes["exception.type"] == "RuntimeError"
    text = _all_attribute_text(server)
    assert PHONE not in text and TOKEN not in text
    assert not server.events  # no exception event carrying the message


async def test_set_code_without_raising_is_counted(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    before = _count(SEND, "UNAVAILABLE")
    with pytest.raises(aio.AioRpcError) as err:
        await stub.SendSms(pb.SendSmsRequest(sign="set-code"))
    assert err.value.code() is grpc.StatusCode.UNAVAILABLE
    assert _count(SEND, "UNAVAILABLE") == before + 1
    assert _by_name(spans)[SEND].status.status_code is StatusCode.ERROR


async def test_server_stream_span_covers_the_stream(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    ok_before = _count(STREAM, "OK")
    latency_before = _latency_count(STREAM)
    call = stub.StreamDeliveryReports(
        pb.StreamDeliveryReportsRequest(), metadata=(("traceparent", TRACEPARENT),)
    )
    cursors = [item.report.cursor async for item in call]
    assert cursors == [1, 2, 3]
    assert _count(STREAM, "OK") == ok_before + 1
    assert _latency_count(STREAM) == latency_before + 1

    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.name == STREAM)
    delivers = [s for s in finished if s.name == "deliver"]
    assert len(delivers) == 3
    assert server.context is not None and server.context.trace_id == CALLER_TRACE_ID
    for d in delivers:
        assert d.parent is not None and d.parent.span_id == server.context.span_id
        assert d.end_time is not None and server.end_time is not None
        assert d.end_time <= server.end_time


async def test_server_stream_abort_after_items_is_counted(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    before = _count(STREAM, "FAILED_PRECONDITION")
    call = stub.StreamDeliveryReports(
        pb.StreamDeliveryReportsRequest(consumer_group=pb.ConsumerGroupOptions(name="fail"))
    )
    received = []
    with pytest.raises(aio.AioRpcError) as err:
        async for item in call:
            received.append(item.report.cursor)
    assert received == [1, 2, 3]
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    await _wait_for_count(STREAM, "FAILED_PRECONDITION", before + 1)


async def test_unknown_method_adds_no_series(channel: aio.Channel) -> None:
    bogus = channel.unary_unary("/smsgateway.v1.SmsGateway/Nope13651688564")
    with pytest.raises(aio.AioRpcError) as err:
        await bogus(b"")
    assert err.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert b"Nope" not in metrics_server.render()


async def test_deadline_exceeded_is_counted(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    before = _count(SEND, "DEADLINE_EXCEEDED")
    with pytest.raises(aio.AioRpcError) as err:
        await stub.SendSms(pb.SendSmsRequest(sign="slow"), timeout=0.2)
    assert err.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    await _wait_for_count(SEND, "DEADLINE_EXCEEDED", before + 1)


async def test_client_cancelling_a_stream_is_counted_as_cancelled(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, spans: InMemorySpanExporter
) -> None:
    before = _count(STREAM, "CANCELLED")
    call = stub.StreamDeliveryReports(
        pb.StreamDeliveryReportsRequest(consumer_group=pb.ConsumerGroupOptions(name="endless"))
    )
    await call.read()
    call.cancel()
    await _wait_for_count(STREAM, "CANCELLED", before + 1)
    server = await _finished_span(spans, STREAM)
    assert server.attributes is not None
    assert server.attributes["rpc.grpc.status_code"] == grpc.StatusCode.CANCELLED.value[0]


async def test_server_started_inside_a_span_does_not_parent_rpcs(
    provider: str, spans: InMemorySpanExporter
) -> None:
    with _tracer.start_as_current_span("startup"):
        server = aio.server(interceptors=[ObservabilityInterceptor()])
        async with ClientSession() as session:
            smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(
                _Servicer(provider, session), server
            )
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
    try:
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)
            await stub.SendSms(pb.SendSmsRequest(sign="set-code"), wait_for_ready=True)
    except aio.AioRpcError as err:
        assert err.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(None)
    assert _by_name(spans)[SEND].parent is None


def test_traceparent_round_trip_and_link(spans: InMemorySpanExporter) -> None:
    assert current_traceparent() == ""
    with _tracer.start_as_current_span("ingest") as span:
        tp = current_traceparent()
    ctx = span.get_span_context()
    assert tp == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
    link = link_from_traceparent(tp)
    assert link is not None
    assert link.context.trace_id == ctx.trace_id and link.context.span_id == ctx.span_id

    with _tracer.start_as_current_span("deliver", links=[link]):
        pass
    deliver = _by_name(spans)["deliver"]
    assert [lk.context.span_id for lk in deliver.links] == [ctx.span_id]


def test_stream_delivery_links_to_the_ingest_span(spans: InMemorySpanExporter) -> None:
    with ingest_span("reports", "push", 2):
        stored = current_traceparent()
    assert stored
    with _tracer.start_as_current_span(STREAM):
        with delivery_span("reports", stored, cursor=41):
            pass
        with delivery_span("reports", "", cursor=42):  # stored before tracing was on
            pass
    by_cursor = {
        s.attributes["smsgateway.cursor"]: s
        for s in spans.get_finished_spans()
        if s.name == "smsgateway.deliver reports" and s.attributes
    }
    ingest = _by_name(spans)["smsgateway.ingest reports"]
    rpc = _by_name(spans)[STREAM]
    assert ingest.attributes is not None
    assert ingest.attributes["smsgateway.events"] == 2
    assert ingest.context is not None and rpc.context is not None
    linked = by_cursor[41]
    assert [lk.context.span_id for lk in linked.links] == [ingest.context.span_id]
    assert linked.parent is not None and linked.parent.span_id == rpc.context.span_id
    assert not by_cursor[42].links


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "garbage",
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01",  # all-zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    ],
)
def test_bad_traceparent_gives_no_link(bad: str) -> None:
    assert link_from_traceparent(bad) is None
    assert span_context_from_traceparent(bad) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"http://appid:{SECRET}@gw.example.com:8080/api/token?appId=1&secret={SECRET}#x",
            "http://gw.example.com:8080/api/token",
        ),
        (f"https://gw.example.com/sms/deliver?token={TOKEN}", "https://gw.example.com/sms/deliver"),
        ("http://[::1]:9/sms/balance?token=t", "http://[::1]:9/sms/balance"),
        ("http://[bad", ""),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_exporter_from_env() -> None:
    assert exporter_from_env({}) is None
    assert exporter_from_env({"OTEL_TRACES_EXPORTER": "none"}) is None
    assert (
        exporter_from_env({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}) is None
    )
    assert type(exporter_from_env({"OTEL_TRACES_EXPORTER": "console"})).__name__ == (
        "ConsoleSpanExporter"
    )
    otlp = exporter_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"})
    assert type(otlp).__name__ == "OTLPSpanExporter"
    assert otlp is not None
    otlp.shutdown()
    with pytest.raises(ValueError, match="not supported"):
        exporter_from_env({"OTEL_TRACES_EXPORTER": "zipkin"})
    with pytest.raises(ValueError, match="only grpc"):
        exporter_from_env(
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
        )


@pytest.fixture
def no_otel_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"):
        monkeypatch.delenv(name, raising=False)
    yield


def test_configure_tracing_without_exporter_installs_nothing(no_otel_env: None) -> None:
    assert configure_tracing("smsgateway", env={}, set_global=False) is None


def test_configure_tracing_names_the_service(
    no_otel_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = configure_tracing("smsgateway", exporter=exporter, set_global=False)
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "smsgateway"
    provider.get_tracer("t").start_span("s").end()
    provider.force_flush()
    assert [s.name for s in exporter.get_finished_spans()] == ["s"]
    provider.shutdown()

    monkeypatch.setenv("OTEL_SERVICE_NAME", "sms-eu")
    provider = configure_tracing("smsgateway", exporter=InMemorySpanExporter(), set_global=False)
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "sms-eu"
    provider.shutdown()
