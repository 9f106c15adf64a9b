"""Cost of the instrumentation: per call in isolation, and sends/s through the facade on vs off.

Part 1 (in-process, precise): CPU per call of what the instrumentation adds to one
single-recipient send — the gRPC interceptor around a unary handler (server span,
metrics with the final status code), one upstream client span, and the upstream
observer (counter + histogram) — measured with time.process_time over many calls,
against the same handler unwrapped. Modes: tracing off (no provider installed: the
OpenTelemetry API is a no-op, the default deployment) and tracing on (SDK provider,
always-on sampling, BatchSpanProcessor into an exporter that drops the spans, so span
creation, attributes and queueing are paid but no network).

Part 2 (whole facade, noisy on a shared machine): a sandbox provider process, a
gateway process (`smsgateway serve`) and bench_send.py's load generator, with
SMSGW_INSTRUMENTATION off, on, and on with tracing exported over OTLP/gRPC to a local
collector in this process; modes alternate across rounds; prints sends/s and the
gateway's own CPU per send (from /proc) for each.

Usage: python bench/bench_observability.py [--calls 30000] [--runs 5] [--e2e-seconds 8]
                                           [--rounds 2] [--concurrency 32] [--skip-e2e]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

from smsgateway.observability import upstream_metrics
from smsgateway.observability.grpc_interceptor import ObservabilityInterceptor
from smsgateway.observability.tracing import redact_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_send

METHOD = "/smsgateway.v1.SmsGateway/SendSms"
URL = "http://127.0.0.1:8090/sms/send?token=secret"


class _DropExporter(SpanExporter):
    """Accepts and discards spans: the cost of a collector without the network."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _Context:
    """The parts of grpc.aio.ServicerContext the interceptor reads."""

    def code(self) -> None:
        return None

    def time_remaining(self) -> float | None:
        return None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return _Details.invocation_metadata


class _Details:
    method = METHOD
    invocation_metadata = (
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("user-agent", "grpc-python/1.80"),
    )


async def _bare(request: Any, context: Any) -> Any:
    return request


def _instrumented_handler(provider: trace.TracerProvider | None) -> Callable[..., Awaitable[Any]]:
    tracer = trace.get_tracer("bench.upstream", tracer_provider=provider)
    observer = upstream_metrics.MetricsUpstreamObserver()

    async def handler(request: Any, context: Any) -> Any:
        # What the upstream client adds per provider POST.
        with tracer.start_as_current_span(
            "POST /sms/send",
            kind=SpanKind.CLIENT,
            attributes={"http.request.method": "POST", "url.full": redact_url(URL)},
        ) as span:
            span.set_attribute("http.response.status_code", 200)
        observer.request_finished("send", "success", 0.0004)
        return request

    return handler


async def _wrap(
    behaviour: Callable[..., Awaitable[Any]], provider: trace.TracerProvider | None
) -> tuple[Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]]:
    """(the wrapped behaviour, one intercept_service round as grpc runs it per RPC)."""
    interceptor = ObservabilityInterceptor(tracer_provider=provider)
    # grpc's continuation hands out the same registered handler object for a method.
    registered = grpc.unary_unary_rpc_method_handler(behaviour)

    async def continuation(_details: Any) -> grpc.RpcMethodHandler:
        return registered

    handler = await interceptor.intercept_service(continuation, _Details())
    assert handler is not None and handler.unary_unary is not None
    wrapped: Callable[..., Awaitable[Any]] = handler.unary_unary
    details = _Details()

    async def intercept(request: Any, context: Any) -> Any:
        return await interceptor.intercept_service(continuation, details)

    return wrapped, intercept


async def _cpu_per_call(fn: Callable[..., Awaitable[Any]], calls: int) -> float:
    ctx = _Context()
    for _ in range(min(calls // 10, 5000)):  # warm caches and label children
        await fn(b"", ctx)
    start = time.process_time()
    for _ in range(calls):
        await fn(b"", ctx)
    return (time.process_time() - start) / calls * 1e6


async def _best(fn: Callable[..., Awaitable[Any]], calls: int, runs: int) -> float:
    # The minimum is the least disturbed by other processes on a shared machine.
    return min([await _cpu_per_call(fn, calls) for _ in range(runs)])


async def _micro(calls: int, runs: int) -> None:
    sdk = TracerProvider()
    processor = BatchSpanProcessor(_DropExporter(), max_queue_size=65536)
    sdk.add_span_processor(processor)
    modes: list[tuple[str, trace.TracerProvider]] = [
        ("tracing off", trace.NoOpTracerProvider()),
        ("tracing on", sdk),
    ]
    print(f"Part 1: CPU µs per send, in isolation ({calls} calls, best of {runs})")
    bare = await _best(_bare, calls, runs)
    print(f"  {'':12s} {'interceptor':>12s} {'+ upstream span & observer':>28s} {'= total':>9s}")
    for name, provider in modes:
        wrapped_bare, intercept = await _wrap(_bare, provider)
        server = await _best(wrapped_bare, calls, runs) - bare
        server += await _best(intercept, calls, runs) - bare
        client = await _best(_instrumented_handler(provider), calls, runs) - bare
        print(f"  {name:12s} {server:12.1f} {client:28.1f} {server + client:9.1f}")
    print(
        "  (interceptor: per-RPC intercept_service + server span + gRPC metrics, with a\n"
        "   traceparent in the metadata; upstream: one client span + request metrics)"
    )
    processor.force_flush()
    sdk.shutdown()


class _Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """A local OTLP/gRPC endpoint that accepts and counts spans (runs in this process)."""

    def __init__(self) -> None:
        self.spans = 0

    def Export(self, request: Any, context: Any) -> Any:
        self.spans += sum(
            len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans
        )
        return trace_service_pb2.ExportTraceServiceResponse()


def _gateway_run(
    mode: str, seconds: float, warmup: float, concurrency: int, otlp_port: int
) -> tuple[float, float]:
    """(sends/s, gateway CPU µs per send) of one gateway process in `mode`."""
    sandbox_port, grpc_port = bench_send.free_port(), bench_send.free_port()
    sandbox = subprocess.Popen(
        # (the sandbox's default appId is longer than the 10 characters the gateway allows)
        [sys.executable, "-m", "smsgateway.sandbox", "--port", str(sandbox_port),
         "--app-id", "benchapp", "--report-delay", "3600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SMSGW_", "OTEL_"))},
        "SMSGW_UPSTREAM_URL": f"http://127.0.0.1:{sandbox_port}",
        "SMSGW_APP_ID": "benchapp",
        "SMSGW_SECRET": "sandbox-secret",
        "SMSGW_BIND_HOST": "127.0.0.1",
        "SMSGW_GRPC_PORT": str(grpc_port),
        "SMSGW_HTTP_PORT": str(bench_send.free_port()),
        "SMSGW_METRICS_PORT": str(bench_send.free_port()),
        "SMSGW_DATA_DIR": tempfile.mkdtemp(prefix="smsgw-obsbench-"),
        "SMSGW_LOG_LEVEL": "WARNING",
        "SMSGW_BALANCE_REFRESH_SECONDS": "0",
        "SMSGW_INSTRUMENTATION": "false" if mode == "off" else "true",
    }
    if mode == "on+tracing":
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{otlp_port}"
        env["OTEL_EXPORTER_OTLP_INSECURE"] = "true"
    # stderr to a file, not a pipe: nobody reads it during the run, and a full pipe
    # would block the gateway.
    stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in the finally below)
    gateway = subprocess.Popen(
        [sys.executable, "-m", "smsgateway", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    target = f"127.0.0.1:{grpc_port}"
    try:
        time.sleep(0.5)
        try:
            asyncio.run(bench_send.wait_ready(target, gateway))
        except SystemExit:
            stderr.seek(0)
            err = stderr.read().decode(errors="replace")
            raise SystemExit(f"gateway ({mode}) did not start:\n{err[-2000:]}") from None
        asyncio.run(bench_send.load(target, warmup, concurrency, 1))
        cpu0, t0 = bench_send.cpu_seconds(gateway.pid), time.monotonic()
        ok, _failed = asyncio.run(bench_send.load(target, seconds, concurrency, 1))
        cpu1, t1 = bench_send.cpu_seconds(gateway.pid), time.monotonic()
    finally:
        for proc in (gateway, sandbox):
            proc.send_signal(signal.SIGTERM)
        for proc in (gateway, sandbox):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        stderr.close()
    return ok / (t1 - t0), (cpu1 - cpu0) / max(ok, 1) * 1e6


def _e2e(seconds: float, rounds: int, concurrency: int) -> None:
    collector = _Collector()
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)  # type: ignore[no-untyped-call]
    otlp_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    modes = ("off", "on", "on+tracing")
    results: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    print(
        f"Part 2: whole facade, single-recipient SendSms, {concurrency} callers, "
        f"{seconds:.0f}s per run, {rounds} rounds (median)"
    )
    try:
        for _ in range(rounds):
            for mode in modes:  # alternate so drift on a shared machine hits every mode
                results[mode].append(_gateway_run(mode, seconds, 1.0, concurrency, otlp_port))
    finally:
        server.stop(None)
    base_sends = statistics.median(r[0] for r in results["off"])
    base_cpu = statistics.median(r[1] for r in results["off"])
    for mode in modes:
        sends = statistics.median(r[0] for r in results[mode])
        cpu = statistics.median(r[1] for r in results[mode])
        print(
            f"  instrumentation {mode:11s} {sends:7.0f} sends/s ({sends / base_sends - 1:+6.1%})"
            f"   gateway CPU/send {cpu:5.0f} µs ({cpu - base_cpu:+4.0f} µs)"
        )
    print(f"  (spans received by the local OTLP collector: {collector.spans})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=30_000)
    parser.add_argument("--e2e-seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5, help="repetitions in part 1")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    asyncio.run(_micro(args.calls, args.runs))
    if not args.skip_e2e:
        _e2e(args.e2e_seconds, args.rounds, args.concurrency)


if __name__ == "__main__":
    main()
