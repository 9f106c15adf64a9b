"""One grpc.aio server interceptor for traces and metrics of every RPC.

Per RPC it continues the caller's W3C trace from the invocation metadata, runs the
handler inside a SERVER span (so spans the handler starts, such as upstream HTTP
calls, become its children), and records `smsgateway_grpc_requests_total` and
`smsgateway_grpc_request_duration_seconds` with the final status code. Streaming
responses are covered for the whole stream.

The span never carries request fields, status details or exception messages: those
can contain phone numbers. It records the status code and the exception type only.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import Token
from typing import Any, Final

import grpc
from grpc import aio
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram

from smsgateway.observability import metrics
from smsgateway.observability.tracing import span_context_from_traceparent

__all__ = ["ObservabilityInterceptor"]

_OK: Final = grpc.StatusCode.OK

# Server-side codes that mean "the server failed" (OpenTelemetry RPC conventions);
# the other non-OK codes are the caller's problem and leave the span status unset.
_SERVER_ERROR_CODES: Final = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)

# Providers that record nothing: with these the interceptor skips span work entirely.
_OFF_PROVIDERS: Final = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)

_CODE_NAMES: Final[dict[grpc.StatusCode, str]] = {c: c.name for c in grpc.StatusCode}

_Behaviour = Callable[..., Any]


class _MethodInstruments:
    """Per-method cached metric children and span attributes (labels() costs a lock)."""

    __slots__ = ("_counter", "_method", "_requests", "attributes", "latency", "span_name")

    def __init__(self, full_method: str, counter: Counter, histogram: Histogram) -> None:
        name = full_method.lstrip("/")
        service, _, method = name.rpartition("/")
        self.span_name = name
        self.attributes: dict[str, str | int] = {
            "rpc.system": "grpc",
            "rpc.service": service,
            "rpc.method": method,
        }
        self._method = name
        self._counter = counter
        self._requests: dict[grpc.StatusCode, Any] = {}
        self.latency = histogram.labels(name)

    def count(self, code: grpc.StatusCode) -> None:
        child = self._requests.get(code)
        if child is None:
            child = self._counter.labels(self._method, _CODE_NAMES.get(code, "UNKNOWN"))
            self._requests[code] = child
        child.inc()


def _final_code(
    context: aio.ServicerContext[Any, Any], error: BaseException | None
) -> grpc.StatusCode:
    """The status the client will see, from the context or the exception that ended the RPC."""
    code = context.code()
    # Set by set_code() or abort() (which raises AbortError after setting it).
    if isinstance(code, grpc.StatusCode) and (error is None or code != _OK):
        return code
    if error is None:
        return _OK
    if isinstance(error, asyncio.CancelledError):
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED
    # grpc.aio turns any other exception into UNKNOWN.
    return grpc.StatusCode.UNKNOWN


# An explicitly empty context: without a caller's trace, the RPC starts a new trace
# even if the server happened to be started inside some span.
_ROOT: Final = otel_context.Context()


def _default_propagators() -> bool:
    names = os.environ.get("OTEL_PROPAGATORS", "tracecontext,baggage")
    return {n.strip().lower() for n in names.split(",") if n.strip()} <= {"tracecontext", "baggage"}


# With the default W3C propagators and a bare traceparent (no tracestate, no baggage),
# parse it directly: the generic propagate.extract() costs ~10 µs per call.
_FAST_TRACEPARENT: Final = _default_propagators()


def _parent_context(metadata: Sequence[tuple[str, str | bytes]] | None) -> otel_context.Context:
    """The caller's trace context from gRPC metadata, or an empty one (new root trace)."""
    if not metadata:
        return _ROOT
    carrier: dict[str, str] = {}
    for key, value in metadata:
        if isinstance(value, str):
            carrier[key] = value
    traceparent = carrier.get("traceparent")
    if traceparent is None:
        return _ROOT
    if _FAST_TRACEPARENT and "tracestate" not in carrier and "baggage" not in carrier:
        remote = span_context_from_traceparent(traceparent.strip())
        if remote is None:
            return _ROOT
        return trace.set_span_in_context(trace.NonRecordingSpan(remote), _ROOT)
    return propagate.extract(carrier, context=_ROOT)


class ObservabilityInterceptor(aio.ServerInterceptor):  # type: ignore[misc]
    """Traces and measures every RPC; install first so it also sees other interceptors' aborts.

    Wrapped handlers are built once per method and reused: the per-RPC cost is the
    continuation, one dict lookup, and inside the call the span and two metric updates.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        requests: Counter = metrics.GRPC_REQUESTS,
        latency: Histogram = metrics.GRPC_LATENCY,
    ) -> None:
        # A ProxyTracer from the global provider resolves to the real one once
        # configure_tracing() installs it, so construction order does not matter.
        self._tracer = trace.get_tracer("smsgateway.grpc", tracer_provider=tracer_provider)
        self._provider = tracer_provider
        self._requests = requests
        self._latency = latency
        # method -> (the handler grpc gave us, our wrapped version of it)
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            # Unknown method: grpc answers UNIMPLEMENTED itself; the name is caller-chosen,
            # so it must not become a label value.
            return None
        method: str = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        instruments = _MethodInstruments(method, self._requests, self._latency)
        wrapped = self._wrap(handler, instruments)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(
        self, handler: grpc.RpcMethodHandler, instruments: _MethodInstruments
    ) -> grpc.RpcMethodHandler:
        behaviour = (
            handler.unary_unary
            or handler.stream_unary
            or handler.unary_stream
            or handler.stream_stream
        )
        if not (inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour)):
            # A synchronous handler runs in grpc's thread pool; it is not ours to wrap.
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, instruments),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(handler.stream_unary, instruments),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(handler.unary_stream, instruments),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            self._streaming(handler.stream_stream, instruments),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _tracing_on(self) -> bool:
        if self._provider is not None:
            return not isinstance(self._provider, _OFF_PROVIDERS)
        # Read per call (a global lookup): configure_tracing() may run after we are built.
        return not isinstance(trace.get_tracer_provider(), _OFF_PROVIDERS)

    def _start(
        self, instruments: _MethodInstruments, context: Any
    ) -> tuple[trace.Span, Token[otel_context.Context] | None]:
        """Start the SERVER span as the current span; returns it and the context token."""
        parent = _parent_context(context.invocation_metadata())
        if not self._tracing_on():
            # No tracing: no span. A caller's trace context is still made current so
            # that log lines carry the caller's trace id; without one, nothing to do.
            if parent is _ROOT:
                return trace.INVALID_SPAN, None
            return trace.get_current_span(parent), otel_context.attach(parent)
        span = self._tracer.start_span(
            instruments.span_name,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=instruments.attributes,
        )
        # attach/detach by hand: the context-manager helpers cost several µs per call.
        return span, otel_context.attach(trace.set_span_in_context(span, parent))

    def _unary(self, behaviour: _Behaviour, instruments: _MethodInstruments) -> _Behaviour:
        start_span = self._start

        async def observed(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            start = time.perf_counter()
            span, token = start_span(instruments, context)
            error: BaseException | None = None
            try:
                return await behaviour(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                _finish(span, instruments, context, error, start)
                if token is not None:
                    otel_context.detach(token)
                span.end()

        return observed

    def _streaming(self, behaviour: _Behaviour, instruments: _MethodInstruments) -> _Behaviour:
        if not inspect.isasyncgenfunction(behaviour):
            # A coroutine handler that writes with context.write(): same as unary.
            return self._unary(behaviour, instruments)
        start_span = self._start

        async def observed_gen(
            request: Any, context: aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            start = time.perf_counter()
            # The generator is driven by the RPC's own task, so the span stays the
            # current one across yields for code running inside the handler.
            span, token = start_span(instruments, context)
            error: BaseException | None = None
            try:
                async for item in behaviour(request, context):
                    yield item
            except BaseException as exc:
                error = exc
                raise
            finally:
                _finish(span, instruments, context, error, start)
                if token is not None:
                    otel_context.detach(token)
                span.end()

        return observed_gen


def _finish(
    span: trace.Span,
    instruments: _MethodInstruments,
    context: aio.ServicerContext[Any, Any],
    error: BaseException | None,
    start: float,
) -> None:
    code = _final_code(context, error)
    instruments.latency.observe(time.perf_counter() - start)
    instruments.count(code)
    if span.is_recording():
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if error is not None and not isinstance(error, aio.AbortError):
            # The type only: messages and tracebacks may quote request data.
            span.set_attribute("exception.type", type(error).__qualname__)
        if code in _SERVER_ERROR_CODES:
            span.set_status(Status(StatusCode.ERROR, code.name))
