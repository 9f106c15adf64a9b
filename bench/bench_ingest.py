"""Ingest throughput: delivery-report pushes over real HTTP into the store, on each backend.

    .venv/bin/python bench/bench_ingest.py [--backend sqlite|redis|both] [--batches 50]
        [--sizes 100,1000] [--concurrency 1,8] [--synchronous FULL|NORMAL] [--dir /tmp]
        [--stages floor,store,http]

Prints, per backend and batch size: events/s committed and µs of CPU per event for

* `floor cN`: a bare aiohttp handler that reads the body, `json.loads` it and
  answers (no validation, no store): what no HTTP ingest can beat here;
* `store`: `EventLog.append_reports` called directly, one batch at a time
  (SQLite: one transaction and one fsync per batch; Redis: one script);
* `http cN`: the provider's JSON pushed to the webhook endpoint over a real
  socket, N pushes in flight, each answered only after its commit.

The HTTP client runs in the same process (bodies are encoded beforehand), so
its CPU (one aiohttp POST per batch) is included in the µs/event figure; for
Redis the redis-server's CPU per event is printed apart (`redis µs`).
Redis runs here with AOF `appendfsync everysec`, SQLite with `synchronous=FULL`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
from aiohttp import web
from bench_backends import backends_arg, chosen, cpu_seconds, open_store

from smsgateway.backends import Backend
from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import DeliveryReportIn, Source, StoredEvent, Stream
from smsgateway.events.optout import OptOutRules
from smsgateway.events.webhooks import WebhookConfig, WebhookServer

CST = timezone(timedelta(hours=8))
_serial = 0


def report_items(batch: int, size: int) -> list[dict[str, object]]:
    return [
        {
            "phoneNumber": f"139{(batch * size + i) % 100_000_000:08d}",
            "sendTime": "2026-01-01 12:00:00",
            "reportTime": f"2026-01-01 12:00:{i % 60:02d}",  # a push spans a minute
            "success": True,
            "code": "10000",
            "message": "请求成功",
            "smsSize": "1",
            "bizId": f"{39036632588910887018 + batch}",
        }
        for i in range(size)
    ]


def reports(batch: int, size: int) -> list[DeliveryReportIn]:
    t = datetime(2026, 1, 1, 12, 0, 0, tzinfo=CST)
    return [
        DeliveryReportIn(
            biz_id=f"D{batch}",
            phone_number=f"139{i:08d}",
            provider_code="10000",
            success=True,
            message="请求成功",
            sms_size=1,
            send_time=t,
            report_time=t + timedelta(seconds=i % 60),
        )
        for i in range(size)
    ]


class Clock:
    """Wall and CPU (this process, plus redis-server when there is one)."""

    def __init__(self, redis_pid: int | None) -> None:
        self._redis = redis_pid
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        self._rcpu = cpu_seconds(redis_pid) if redis_pid else 0.0

    def line(self, label: str, events: int) -> None:
        wall = time.perf_counter() - self._wall
        cpu = time.process_time() - self._cpu
        extra = ""
        if self._redis:
            rcpu = cpu_seconds(self._redis) - self._rcpu
            extra = f"  redis {rcpu / events * 1e6:6.1f} µs/event"
        print(
            f"  {label:<12} {events:>8} events  {events / wall:>10,.0f} events/s"
            f"  {cpu / events * 1e6:>7.1f} µs CPU/event  {wall / events * 1e6:>7.1f} µs wall/event"
            f"{extra}",
            flush=True,
        )


async def post_all(url: str, bodies: list[bytes], concurrency: int) -> None:
    """POST every body, `concurrency` in flight; each must be answered 200."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                async with session.post(url, data=body) as resp:
                    answer = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"push failed: {resp.status} {answer!r}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def bodies_for(size: int, batches: int) -> list[bytes]:
    global _serial
    out = [
        json.dumps(report_items(_serial + b, size), ensure_ascii=False).encode()
        for b in range(batches)
    ]
    _serial += batches
    return out


async def bench_floor(size: int, batches: int, concurrency: int) -> None:
    async def handle(request: web.Request) -> web.Response:
        json.loads(await request.read())
        return web.Response(body=b'{"code":10000,"msg":"ok"}', content_type="application/json")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/push", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    bodies = bodies_for(size, batches)
    try:
        await post_all(f"http://127.0.0.1:{port}/push", [b"[]"], 1)
        clock = Clock(None)
        await post_all(f"http://127.0.0.1:{port}/push", bodies, concurrency)
        clock.line(f"floor c{concurrency}", size * batches)
    finally:
        await runner.cleanup()


async def bench_store(store: Backend, pid: int | None, size: int, batches: int) -> None:
    global _serial
    prepared = [reports(_serial + b, size) for b in range(batches)]
    _serial += batches
    clock = Clock(pid)
    for batch in prepared:
        await store.events.append_reports(batch, Source.PUSH)
    clock.line("store", size * batches)


async def bench_http(
    store: Backend, pid: int | None, size: int, batches: int, concurrency: int
) -> None:
    stored = 0

    def on_stored(_stream: Stream, events: Sequence[StoredEvent]) -> None:
        nonlocal stored
        stored += len(events)

    ingestor = Ingestor(
        store.events, store.dead_letters, on_stored=on_stored, opt_out=OptOutRules()
    )
    server = WebhookServer(ingestor, WebhookConfig(), host="127.0.0.1", port=0)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/callbacks/delivery-reports"
    bodies = bodies_for(size, batches)
    try:
        # One warm-up push (connection set-up, first statements prepared).
        await post_all(url, [b"[]"], 1)
        clock = Clock(pid)
        await post_all(url, bodies, concurrency)
        assert stored == size * batches, (stored, size * batches)
        clock.line(f"http c{concurrency}", stored)
    finally:
        await server.stop()
        ingestor.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    backends_arg(parser)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--dir", type=Path, default=None, help="where the data files go")
    parser.add_argument("--stages", default="floor,store,http", help="which lines to print")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    print(f"{args.batches} batches per run, {os.cpu_count()} CPUs")
    stages = set(args.stages.split(","))
    if "floor" in stages:
        print("floor (bare aiohttp + json.loads, no store):")
        for size in sizes:
            print(f" batch size {size}:")
            for concurrency in concurrencies:
                await bench_floor(size, args.batches, concurrency)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for backend in chosen(args.backend):
            durability = (
                f"synchronous={args.synchronous}" if backend == "sqlite" else "AOF everysec"
            )
            print(f"{backend} ({durability}):")
            async with open_store(backend, Path(tmp) / backend, synchronous=args.synchronous) as (
                store,
                pid,
            ):
                for size in sizes:
                    print(f" batch size {size}:")
                    if "store" in stages:
                        await bench_store(store, pid, size, args.batches)
                    for concurrency in concurrencies if "http" in stages else []:
                        await bench_http(store, pid, size, args.batches, concurrency)


if __name__ == "__main__":
    asyncio.run(main())
