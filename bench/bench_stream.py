"""Event streams: push-to-subscriber latency and fan-out throughput.

    .venv/bin/python bench/bench_stream.py [--backend sqlite|redis|both] [--subscribers 1,100]
        [--per-response 1,100] [--latency-events 200] [--events 2000] [--batch 100]
        [--synchronous FULL|NORMAL] [--uvloop] [--dir /tmp]

Everything is real: the store (SQLite, or a redis-server started here with AOF
everysec), the Ingestor waking the hub, a grpc.aio
server on 127.0.0.1 and grpc.aio clients streaming `StreamDeliveryReports`.
The clients run in the same process, so the CPU figures include the client
side of every message (receive + parse), not only the gateway's.

With `--clients process` (the default) the subscribers run in a child process,
as real subscribers do, so the CPU per delivery is the server's alone (the
child's is printed apart); `--clients inline` runs them on the server's loop.

* latency: one report ingested at a time (a commit each, as a push of one
  report); measured from the `ingest_reports` call to the moment each
  subscriber has the message; p50/p99 over all (event, subscriber) pairs.
* throughput: `--events` reports ingested in batches of `--batch` as fast as
  the store commits them; the time until every subscriber has all of them,
  deliveries/s (events x subscribers), and µs of process CPU per delivery.
* consumer group (`--groups`, on by default): `--events` stored events claimed
  `--batch` at a time by one member and acknowledged, on the store directly (no
  gRPC): events/s and CPU per event (this process; redis-server apart).

Each backend runs once per `--per-response` value: the subscribers ask for that
many events per response (`max_events_per_response`; 1 = unbatched, one event
per response as before batching). The floor (`--floor`, on by default) is a bare
grpc.aio servicer streaming prebuilt one-event messages to the same subscribers
(no store, no hub), in the same run. A summary table at the end puts the floor
and every backend/mode side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
from bench_backends import backends_arg, chosen, cpu_seconds, open_store
from stream_subscribers import Clients

from smsgateway.api.events_api import EventsApi, EventStores
from smsgateway.backends import Backend
from smsgateway.events.hub import EventHub
from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import DeliveryReportIn, Source, Stream
from smsgateway.events.optout import OptOutRules
from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

T0 = datetime(2026, 1, 1, 4, 0, tzinfo=UTC)


class _Servicer(smsgateway_pb2_grpc.SmsGatewayServicer):
    def __init__(self, api: EventsApi) -> None:
        self.StreamDeliveryReports = api.stream_delivery_reports
        self.AcknowledgeEvents = api.acknowledge_events


def _reports(start: int, n: int) -> list[DeliveryReportIn]:
    return [
        DeliveryReportIn(
            biz_id=f"{39036632588910887018 + (start + i) // 100}",
            phone_number=f"139{(start + i) % 100_000_000:08d}",
            provider_code="10000",
            success=True,
            message="DELIVRD",
            sms_size=1,
            send_time=T0,
            report_time=T0 + timedelta(microseconds=start + i),
        )
        for i in range(n)
    ]


class _Floor(smsgateway_pb2_grpc.SmsGatewayServicer):
    """The fan-out floor: a bare servicer yielding one prebuilt response per event to
    every subscriber (a queue each; no store, no hub, no filter, no tracing)."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[pb.StreamDeliveryReportsResponse]] = set()
        self._cursor = 0

    async def StreamDeliveryReports(
        self, request: pb.StreamDeliveryReportsRequest, context: Any
    ) -> AsyncIterator[pb.StreamDeliveryReportsResponse]:
        queue: asyncio.Queue[pb.StreamDeliveryReportsResponse] = asyncio.Queue()
        self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)

    def subscriber_counts(self) -> dict[Stream, int]:
        return {Stream.REPORTS: len(self._queues)}

    async def ingest_reports(self, reports: list[DeliveryReportIn], _source: Source) -> Any:
        stored = []
        for report in reports:
            self._cursor += 1
            message = pb.StreamDeliveryReportsResponse(
                report=pb.DeliveryReport(
                    cursor=self._cursor, biz_id=report.biz_id, phone_number=report.phone_number
                )
            )
            for queue in self._queues:
                queue.put_nowait(message)
            stored.append(SimpleNamespace(cursor=self._cursor))
        return SimpleNamespace(stored=stored)


async def bench_groups(store: Backend, pid: int | None, args: argparse.Namespace) -> None:
    """Consumer-group claim + ack of `--events` stored events, `--batch` per claim, on the store."""
    stream = Stream.REPORTS
    ingestor = Ingestor(
        store.events, store.dead_letters, on_stored=lambda _s, _e: None, opt_out=OptOutRules()
    )
    start = await store.events.last_cursor(stream)
    for first in range(0, args.events, 1000):
        count = min(1000, args.events - first)
        await ingestor.ingest_reports(_reports(10**7 + first, count), Source.PUSH)
    await store.groups.join_group(stream, "bench", start, "{}")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    rcpu0 = cpu_seconds(pid) if pid else 0.0
    done = 0
    while done < args.events:
        claimed = await store.groups.claim(stream, "bench", "m1", args.batch, 30.0)
        if not claimed:
            break
        await store.groups.ack(stream, "bench", [e.cursor for e in claimed])
        done += len(claimed)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    redis = f", redis-server {(cpu_seconds(pid) - rcpu0) / done * 1e6:.1f} µs" if pid else ""
    print(
        f"consumer group: {done} events claimed + acked, {args.batch} per claim, in {wall:.2f} s"
        f" -> {done / wall:,.0f} events/s, {cpu / done * 1e6:.1f} µs CPU per event{redis}",
        flush=True,
    )


async def bench_group_stream(
    store: Backend, pid: int | None, args: argparse.Namespace, per_response: int
) -> None:
    """A consumer-group member over gRPC: `--events` stored events streamed to one member
    (`max_events_per_response` = per_response, max_outstanding 1,000) and acknowledged
    with one AcknowledgeEvents per response; client and server in this process."""
    stream = Stream.REPORTS
    hub = EventHub()
    ingestor = Ingestor(
        store.events, store.dead_letters, on_stored=hub.notify, opt_out=OptOutRules()
    )
    api = EventsApi(
        EventStores(store.events, store.groups, store.send_log, store.suppressions), hub
    )
    server = grpc.aio.server()
    smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(_Servicer(api), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    start = await store.events.last_cursor(stream)
    for first in range(0, args.events, 1000):
        count = min(1000, args.events - first)
        await ingestor.ingest_reports(
            _reports((2 + per_response) * 10**7 + first, count), Source.PUSH
        )
    name = f"bench-{per_response}"
    request = pb.StreamDeliveryReportsRequest(
        start=pb.StreamStart(after_cursor=start),
        consumer_group=pb.ConsumerGroupOptions(name=name, max_outstanding=1000),
        max_events_per_response=per_response,
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        rcpu0 = cpu_seconds(pid) if pid else 0.0
        done = 0
        call = stub.StreamDeliveryReports(request)
        async for response in call:
            cursors = [r.cursor for r in response.reports] or [response.report.cursor]
            await stub.AcknowledgeEvents(
                pb.AcknowledgeEventsRequest(
                    stream=pb.EVENT_STREAM_DELIVERY_REPORTS, consumer_group=name, cursors=cursors
                )
            )
            done += len(cursors)
            if done >= args.events:
                break
        call.cancel()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        deadline = time.monotonic() + 10
        while hub.subscriber_count(stream) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # the member releases its leases before the store closes
    redis = f", redis-server {(cpu_seconds(pid) - rcpu0) / done * 1e6:.1f} µs" if pid else ""
    mode = "unbatched" if per_response == 1 else f"batched ≤{per_response}"
    print(
        f"consumer group over gRPC, {mode}: {done} events streamed + acked in {wall:.2f} s"
        f" -> {done / wall:,.0f} events/s, {cpu / done * 1e6:.1f} µs CPU per event"
        f" (server + client){redis}",
        flush=True,
    )
    hub.close()
    await server.stop(grace=0.5)


@dataclass
class _Result:
    """One line of the summary."""

    what: str
    subscribers: int
    p50: float
    p99: float
    deliveries_per_s: float
    cpu_us: float


async def run(args: argparse.Namespace) -> None:
    results: list[_Result] = []
    if args.floor:
        print("floor (bare grpc.aio streaming servicer, no store):", flush=True)
        for subscribers in args.subscribers:
            results.append(await run_one(None, subscribers, 1, args, "floor"))
    for backend in chosen(args.backend):
        print(f"{backend}:", flush=True)
        for subscribers in args.subscribers:
            for per_response in args.per_response:
                mode = "unbatched" if per_response == 1 else f"batched ≤{per_response}"
                print(f"  {mode} (max_events_per_response={per_response})", flush=True)
                with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
                    async with open_store(backend, Path(tmp), synchronous=args.synchronous) as (
                        store,
                        _,
                    ):
                        results.append(
                            await run_one(
                                store, subscribers, per_response, args, f"{backend} {mode}"
                            )
                        )
        if args.groups:
            with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
                async with open_store(backend, Path(tmp), synchronous=args.synchronous) as (
                    store,
                    pid,
                ):
                    await bench_groups(store, pid, args)
                    for per_response in args.per_response:
                        await bench_group_stream(store, pid, args, per_response)
    print("\nsummary (push -> subscriber latency; fan-out throughput, server CPU):", flush=True)
    print(
        f"  {'':24s} {'subs':>5s} {'p50 ms':>8s} {'p99 ms':>8s} {'deliveries/s':>13s}"
        f" {'µs CPU/delivery':>16s}"
    )
    for r in results:
        print(
            f"  {r.what:24s} {r.subscribers:5d} {r.p50:8.2f} {r.p99:8.2f}"
            f" {r.deliveries_per_s:13,.0f} {r.cpu_us:16.1f}",
            flush=True,
        )


async def run_one(
    store: Backend | None,
    subscribers: int,
    per_response: int,
    args: argparse.Namespace,
    what: str,
) -> _Result:
    serial = 0
    hub: Any
    ingestor: Any
    server = grpc.aio.server()
    if store is None:
        hub = ingestor = _Floor()
        smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(hub, server)
    else:
        hub = EventHub()
        ingestor = Ingestor(
            store.events, store.dead_letters, on_stored=hub.notify, opt_out=OptOutRules()
        )
        smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(
            _Servicer(
                EventsApi(
                    EventStores(store.events, store.groups, store.send_log, store.suppressions),
                    hub,
                )
            ),
            server,
        )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    clients = Clients(port, subscribers, args.clients, per_response)
    await clients.start()
    while sum(hub.subscriber_counts().values()) < subscribers:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # past their LATEST start position

    # -- latency: one report per commit, spaced so deliveries do not queue.
    sent: dict[int, float] = {}
    commits: list[float] = []
    latency_cpu0 = time.process_time()
    for _ in range(args.latency_events):
        t = time.perf_counter()
        stored = (await ingestor.ingest_reports(_reports(serial, 1), Source.PUSH)).stored
        commits.append((time.perf_counter() - t) * 1e3)
        serial += 1
        sent[stored[0].cursor] = t
        await asyncio.sleep(0.002 + subscribers * 0.0002)
    latency_cpu = time.process_time() - latency_cpu0
    # perf_counter is CLOCK_MONOTONIC: comparable across processes on one machine.
    received = await clients.received(len(sent))
    latencies = [
        (got[cursor] - t) * 1e3 for got in received for cursor, t in sent.items() if cursor in got
    ]
    missing = len(sent) * subscribers - len(latencies)
    q = statistics.quantiles(latencies, n=100)
    print(
        f"subscribers={subscribers:4d}  latency ms: p50 {q[49]:.2f}  p99 {q[98]:.2f}"
        f"  max {max(latencies):.2f}  (n={len(latencies)}, missing={missing});"
        f" of which the commit: p50 {statistics.median(commits):.2f};"
        f" {latency_cpu / (len(sent) * subscribers) * 1e6:.1f} µs CPU per delivery"
        " (one event per commit, commit included)",
        flush=True,
    )

    # -- throughput
    waiting = asyncio.ensure_future(clients.expect(args.events))
    await asyncio.sleep(0.05)  # the targets are set before the first event
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, args.events, args.batch):
        await ingestor.ingest_reports(
            _reports(serial + start, min(args.batch, args.events - start)), Source.PUSH
        )
    ingest_wall = time.perf_counter() - wall0
    client_cpu = await waiting
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    serial += args.events
    deliveries = args.events * subscribers
    who = "server + client" if args.clients == "inline" else "server"
    child = f", clients {client_cpu / deliveries * 1e6:.1f} µs" if args.clients == "process" else ""
    print(
        f"subscribers={subscribers:4d}  throughput: {args.events} events in "
        f"{wall:.2f} s (ingest alone done at {ingest_wall:.2f} s) -> "
        f"{deliveries / wall:,.0f} deliveries/s, "
        f"{cpu / deliveries * 1e6:.1f} µs CPU per delivery ({who}){child}",
        flush=True,
    )
    await clients.close()
    if store is not None:
        hub.close()
    await server.stop(grace=0.5)
    return _Result(what, subscribers, q[49], q[98], deliveries / wall, cpu / deliveries * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    backends_arg(parser)
    parser.add_argument(
        "--subscribers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 100]
    )
    parser.add_argument(
        "--per-response",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 100],
        help="max_events_per_response values to run each backend with (1 = unbatched)",
    )
    parser.add_argument("--latency-events", type=int, default=200)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--clients", default="process", choices=["process", "inline"])
    parser.add_argument("--floor", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--groups", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--dir", default=None, help="where the store file goes")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.run(run(args))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
