"""Event streams: push-to-subscriber latency and fan-out throughput.

    .venv/bin/python bench/bench_stream.py [--subscribers 1,100] [--latency-events 200]
        [--events 2000] [--batch 100] [--synchronous FULL|NORMAL] [--uvloop] [--dir /tmp]

Everything is real: a SQLite store, the Ingestor waking the hub, a grpc.aio
server on 127.0.0.1 and grpc.aio clients streaming `StreamDeliveryReports`.
The clients run in the same process, so the CPU figures include the client
side of every message (receive + parse), not only the gateway's.

* latency: one report ingested at a time (a commit each, as a push of one
  report); measured from the `ingest_reports` call to the moment each
  subscriber has the message; p50/p99 over all (event, subscriber) pairs.
* throughput: `--events` reports ingested in batches of `--batch` as fast as
  the store commits them; the time until every subscriber has all of them,
  deliveries/s (events x subscribers), and µs of process CPU per delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc

from smsgateway.api.events_api import EventsApi, EventStores
from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.events.hub import EventHub
from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import DeliveryReportIn, Source
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


async def run(args: argparse.Namespace) -> None:
    serial = 0
    for subscribers in args.subscribers:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            store = await sqlite_backend.open_backend(
                sqlite_backend.SqliteOptions(data_dir=Path(tmp), synchronous=args.synchronous)
            )
            hub = EventHub()
            ingestor = Ingestor(
                store.events, store.dead_letters, on_stored=hub.notify, opt_out=OptOutRules()
            )
            server = grpc.aio.server()
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
            # A few connections, as many client processes would open.
            channels = [
                grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(min(subscribers, 4))
            ]
            stubs = [smsgateway_pb2_grpc.SmsGatewayStub(c) for c in channels]
            subs = [_Subscriber() for _ in range(subscribers)]
            tasks = [
                asyncio.create_task(_follow(stubs[i % len(stubs)], s)) for i, s in enumerate(subs)
            ]
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
            await asyncio.sleep(0.5)
            latencies = [
                (sub.received[cursor] - t) * 1e3
                for sub in subs
                for cursor, t in sent.items()
                if cursor in sub.received
            ]
            missing = len(sent) * subscribers - len(latencies)
            q = statistics.quantiles(latencies, n=100)
            print(
                f"subscribers={subscribers:4d}  latency ms: p50 {q[49]:.2f}  p99 {q[98]:.2f}"
                f"  max {max(latencies):.2f}  (n={len(latencies)}, missing={missing});"
                f" of which the commit: p50 {statistics.median(commits):.2f}"
            )

            # -- throughput
            for sub in subs:
                sub.received.clear()
                sub.target = sub.count + args.events
                sub.done.clear()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for start in range(0, args.events, args.batch):
                await ingestor.ingest_reports(
                    _reports(serial + start, min(args.batch, args.events - start)), Source.PUSH
                )
            ingest_wall = time.perf_counter() - wall0
            await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in subs)), 600)
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            serial += args.events
            deliveries = args.events * subscribers
            print(
                f"subscribers={subscribers:4d}  throughput: {args.events} events in "
                f"{wall:.2f} s (ingest alone done at {ingest_wall:.2f} s) -> "
                f"{deliveries / wall:,.0f} deliveries/s, "
                f"{cpu / deliveries * 1e6:.1f} µs CPU per delivery (server + client)"
            )

            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for channel in channels:
                await channel.close()
            hub.close()
            await server.stop(grace=0.5)
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--subscribers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 100]
    )
    parser.add_argument("--latency-events", type=int, default=200)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--dir", default=None, help="where the store file goes")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.run(run(args))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
