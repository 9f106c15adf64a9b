"""Event streams: push-to-subscriber latency and fan-out throughput.

    .venv/bin/python bench/bench_stream.py [--backend sqlite|redis|both] [--subscribers 1,100]
        [--latency-events 200] [--events 2000] [--batch 100] [--synchronous FULL|NORMAL]
        [--uvloop] [--dir /tmp]

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
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
from bench_backends import backends_arg, chosen, cpu_seconds, open_store

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


@dataclass
class _Subscriber:
    received: dict[int, float] = field(default_factory=dict)
    count: int = 0
    target: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


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


async def _follow(stub: smsgateway_pb2_grpc.SmsGatewayStub, sub: _Subscriber) -> None:
    call = stub.StreamDeliveryReports(pb.StreamDeliveryReportsRequest())
    try:
        async for message in call:
            sub.received[message.report.cursor] = time.perf_counter()
            sub.count += 1
            if sub.target and sub.count >= sub.target:
                sub.done.set()
    finally:
        call.cancel()


class _Clients:
    """Subscribers, in this process or in a child one (same questions, same answers)."""

    def __init__(self, port: int, subscribers: int, mode: str) -> None:
        self.subscribers = subscribers
        self._inline: _Followers | None = None
        self._pipe: Any = None
        self._proc: Any = None
        if mode == "inline":
            self._inline = _Followers(port, subscribers)
        else:
            ctx = multiprocessing.get_context("spawn")
            self._pipe, child = ctx.Pipe()
            self._proc = ctx.Process(target=_child_main, args=(port, subscribers, child))
            self._proc.start()

    async def _ask(self, *command: Any) -> Any:
        if self._inline is not None:
            return await self._inline.answer(command)
        self._pipe.send(command)
        return await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)

    async def start(self) -> None:
        if self._inline is not None:
            self._inline.start()

    async def received(self, count: int) -> list[dict[int, float]]:
        """Each subscriber's {cursor: receive time}, once it has `count` messages (or 5 s)."""
        result: list[dict[int, float]] = await self._ask("collect", count)
        return result

    async def expect(self, count: int) -> float:
        """Wait until every subscriber has `count` more messages; the child's CPU seconds."""
        result: float = await self._ask("expect", count)
        return result

    async def close(self) -> None:
        await self._ask("stop")
        if self._proc is not None:
            self._proc.join(30)


class _Followers:
    def __init__(self, port: int, subscribers: int) -> None:
        self._port = port
        self._subs = [_Subscriber() for _ in range(subscribers)]
        self._tasks: list[asyncio.Task[None]] = []
        self._channels: list[grpc.aio.Channel] = []

    def start(self) -> None:
        # A few connections, as many client processes would open.
        self._channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{self._port}")
            for _ in range(min(len(self._subs), 4))
        ]
        stubs = [smsgateway_pb2_grpc.SmsGatewayStub(c) for c in self._channels]
        self._tasks = [
            asyncio.create_task(_follow(stubs[i % len(stubs)], s)) for i, s in enumerate(self._subs)
        ]

    async def answer(self, command: tuple[Any, ...]) -> Any:
        if command[0] == "collect":
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(  # noqa: ASYNC110
                len(s.received) < command[1] for s in self._subs
            ):
                await asyncio.sleep(0.05)
            out = [dict(s.received) for s in self._subs]
            for s in self._subs:
                s.received.clear()
            return out
        if command[0] == "expect":
            cpu = time.process_time()
            for sub in self._subs:
                sub.target = sub.count + command[1]
                sub.done.clear()
            await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in self._subs)), 600)
            return time.process_time() - cpu
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self._channels:
            await channel.close()
        return None


def _child_main(port: int, subscribers: int, pipe: Any) -> None:
    async def serve() -> None:
        followers = _Followers(port, subscribers)
        followers.start()
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command[0] == "expect":
                # Answered when done; the parent ingests meanwhile.
                pipe.send(await followers.answer(command))
                continue
            pipe.send(await followers.answer(command))
            if command[0] == "stop":
                return

    asyncio.run(serve())


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


async def run(args: argparse.Namespace) -> None:
    if args.floor:
        print("floor (bare grpc.aio streaming servicer, no store):", flush=True)
        for subscribers in args.subscribers:
            await run_one(None, subscribers, args)
    for backend in chosen(args.backend):
        print(f"{backend}:", flush=True)
        for subscribers in args.subscribers:
            with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
                async with open_store(backend, Path(tmp), synchronous=args.synchronous) as (
                    store,
                    _,
                ):
                    await run_one(store, subscribers, args)
        if args.groups:
            with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
                async with open_store(backend, Path(tmp), synchronous=args.synchronous) as (
                    store,
                    pid,
                ):
                    await bench_groups(store, pid, args)


async def run_one(store: Backend | None, subscribers: int, args: argparse.Namespace) -> None:
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
    clients = _Clients(port, subscribers, args.clients)
    await clients.start()
    while sum(hub.subscriber_counts().values()) < subscribers:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # past their LATEST start position

    # -- latency: one report per commit, spaced so deliveries do not queue.
    sent: dict[int, float] = {}
    commits: list[float] = []
    for _ in range(args.latency_events):
        t = time.perf_counter()
        stored = (await ingestor.ingest_reports(_reports(serial, 1), Source.PUSH)).stored
        commits.append((time.perf_counter() - t) * 1e3)
        serial += 1
        sent[stored[0].cursor] = t
        await asyncio.sleep(0.002 + subscribers * 0.0002)
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
        f" of which the commit: p50 {statistics.median(commits):.2f}",
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    backends_arg(parser)
    parser.add_argument(
        "--subscribers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 100]
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
