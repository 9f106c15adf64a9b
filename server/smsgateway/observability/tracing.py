"""OpenTelemetry tracing: provider set-up from the standard OTEL_* variables, and helpers.

Exporter choice (unless an exporter is passed in, as tests do):
- `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: nothing is installed;
- `OTEL_TRACES_EXPORTER=console`: spans are printed to stdout (debugging only);
- `OTEL_TRACES_EXPORTER=otlp` (or unset) *and* `OTEL_EXPORTER_OTLP_ENDPOINT` or
  `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set: the OTLP/gRPC exporter, which reads its
  endpoint, headers, certificates, compression and timeout from the environment itself;
- otherwise nothing (the default: no collector is assumed to exist).

When nothing is installed the OpenTelemetry API stays a no-op, which still carries an
incoming W3C trace context through the process, so upstream spans created by a later
provider, or trace ids in logs, stay consistent. Sampling (`OTEL_TRACES_SAMPLER`),
batching (`OTEL_BSP_*`), resource attributes (`OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_SERVICE_NAME`) and propagators (`OTEL_PROPAGATORS`, W3C tracecontext and baggage
by default) are the SDK's own handling of its variables.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, TraceFlags

__all__ = [
    "configure_tracing",
    "current_traceparent",
    "delivery_span",
    "exporter_from_env",
    "ingest_span",
    "link_from_traceparent",
    "redact_url",
    "shutdown_tracing",
    "tracing_installed",
]

_log = logging.getLogger(__name__)

_provider: TracerProvider | None = None

# A ProxyTracer: it follows whatever provider configure_tracing() installs later.
_events_tracer: Final = trace.get_tracer("smsgateway.events")


def exporter_from_env(env: Mapping[str, str] | None = None) -> SpanExporter | None:
    """The span exporter the OTEL_* variables ask for, or None for "do not trace".

    Raises ValueError for an exporter name this service does not ship, so a typo in a
    deployment fails at start rather than silently dropping every trace.
    """
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n]
    if not names:
        # The spec's default is "otlp"; we only honour it when an endpoint is configured,
        # so a bare deployment does not retry a collector on localhost forever.
        names = ["otlp"]
        has_endpoint = bool(
            env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        )
        if not has_endpoint:
            return None
    if names == ["none"]:
        return None
    if len(names) > 1:
        raise ValueError("OTEL_TRACES_EXPORTER: only one exporter is supported")
    name = names[0]
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        protocol = env.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        )
        if protocol.strip().lower() != "grpc":
            raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: only grpc is shipped")
        # Imported lazily: the gRPC exporter pulls in a lot that an untraced process
        # never needs.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r} is not supported (otlp, console, none)")


def _resource(service_name: str) -> Resource:
    # Resource.create() applies OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; our
    # name is only the fallback when the operator did not choose one.
    resource = Resource.create()
    current = str(resource.attributes.get(SERVICE_NAME, ""))
    if not current or current.startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    return resource


def configure_tracing(
    service_name: str,
    *,
    exporter: SpanExporter | None = None,
    env: Mapping[str, str] | None = None,
    set_global: bool = True,
) -> TracerProvider | None:
    """Install a tracer provider exporting through `exporter` or as the OTEL_* variables say.

    Returns the provider, or None when tracing is off (nothing installed). With
    `set_global` the provider becomes the process-wide one, which OpenTelemetry
    allows only once per process; call `shutdown_tracing()` at exit to flush spans.
    """
    global _provider
    chosen = exporter if exporter is not None else exporter_from_env(env)
    if chosen is None:
        _log.info("tracing disabled (no OTEL exporter configured)")
        return None
    provider = TracerProvider(resource=_resource(service_name))
    provider.add_span_processor(BatchSpanProcessor(chosen))
    if set_global:
        trace.set_tracer_provider(provider)
        _provider = provider
    _log.info("tracing enabled", extra={"exporter": type(chosen).__name__})
    return provider


def shutdown_tracing() -> None:
    """Flush and stop the provider installed by `configure_tracing` (no-op if none)."""
    global _provider
    provider, _provider = _provider, None
    if provider is not None:
        provider.shutdown()


def current_traceparent() -> str:
    """The W3C traceparent of the current span, or "" when there is no valid span.

    The ingest side stores it with each event so that stream deliveries can link back.
    """
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return ""
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


# W3C trace-context: lowercase hex; version ff is invalid; version 00 has exactly four
# fields, later versions may append "-..." fields that we ignore.
_TRACEPARENT: Final = re.compile(
    r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?"
)


def span_context_from_traceparent(tp: str) -> SpanContext | None:
    """Parse a W3C traceparent into a remote SpanContext, or None when it is not valid."""
    match = _TRACEPARENT.fullmatch(tp)
    if match is None:
        return None
    version, trace_hex, span_hex, flags_hex, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if not trace_id or not span_id:
        return None
    return SpanContext(
        trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(flags_hex, 16))
    )


def link_from_traceparent(tp: str) -> Link | None:
    """A span link to the span that `tp` names (e.g. the one that ingested an event)."""
    ctx = span_context_from_traceparent(tp) if tp else None
    return Link(ctx) if ctx is not None else None


@functools.lru_cache(maxsize=256)
def redact_url(url: str) -> str:
    """`url` without userinfo, query string or fragment, for span attributes and logs.

    The provider takes its token as a query parameter on GET endpoints, so the query
    is dropped entirely rather than filtered key by key. Unparseable input yields "".
    Cached: a client calls the same few URLs over and over.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def ingest_span(stream: str, source: str, count: int) -> AbstractContextManager[Span]:
    """A span around ingesting one group of events; current while it is open.

    Store `current_traceparent()` with the events from inside it, so that stream
    deliveries can link back (`delivery_span`). `stream` is "reports"/"uplinks",
    `source` "push"/"pull"; no event content goes into the span.
    """
    return _events_tracer.start_as_current_span(
        f"smsgateway.ingest {stream}",
        kind=SpanKind.INTERNAL,
        attributes={
            "smsgateway.stream": stream,
            "smsgateway.source": source,
            "smsgateway.events": count,
        },
    )


_TRACING_RECHECK = 1.0
"""Seconds between looks for a tracer provider while there is none (a look reads
os.environ: ~2.5 µs, too much for every delivery to every subscriber)."""
_tracing_seen = False
_tracing_next_check = 0.0


def tracing_installed() -> bool:
    """True once a tracer provider is installed globally. A provider, once set, stays
    (OpenTelemetry allows one per process); one installed later is noticed within
    `_TRACING_RECHECK` seconds."""
    global _tracing_seen, _tracing_next_check
    if _tracing_seen:
        return True
    now = time.monotonic()
    if now >= _tracing_next_check:
        _tracing_next_check = now + _TRACING_RECHECK
        _tracing_seen = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    return _tracing_seen


def delivery_span(stream: str, traceparent: str, cursor: int) -> AbstractContextManager[Span]:
    """A span for delivering one stored event on a stream, linked to the span that ingested it.

    Open it around turning the event into the response (not around the `yield`, which
    waits for the subscriber). It is a child of the current span, the stream's RPC.
    """
    if not tracing_installed():
        # No provider installed: the span would be a no-op, but opening one (and
        # making it current) was ~5 % of a delivery's CPU.
        return nullcontext(trace.INVALID_SPAN)
    link = link_from_traceparent(traceparent) if traceparent else None
    return _events_tracer.start_as_current_span(
        f"smsgateway.deliver {stream}",
        kind=SpanKind.INTERNAL,
        links=[link] if link is not None else None,
        attributes={"smsgateway.stream": stream, "smsgateway.cursor": cursor},
    )
