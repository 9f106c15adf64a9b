"""Ingest throughput: delivery-report pushes over real HTTP into the SQLite store.

    .venv/bin/python bench/bench_ingest.py [--batches 50] [--sizes 100,1000]
        [--concurrency 1,8] [--synchronous FULL|NORMAL] [--dir /tmp]

Prints, per batch size: events/s committed and µs of process CPU per event for

* `store`: `EventLog.append_reports` (SQLite) called directly (one transaction
  and one fsync per batch);
* `http cN`: the provider's JSON pushed to the webhook endpoint over a real
  socket, N pushes in flight, each answered only after its commit.

The HTTP client runs in the same process (bodies are encoded beforehand), so
its CPU (one aiohttp POST per batch) is included in the µs/event figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp

from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import DeliveryReportIn, Source, StoredEvent, Stream
from smsgateway.events.optout import OptOutRules
from smsgateway.events.webhooks import WebhookConfig, WebhookServer

CST = timezone(timedelta(hours=8))


def report_items(batch: int, size: int) -> list[dict[str, object]]:
    return [
        {
            "phoneNumber": f"139{(batch * size + i) % 100_000_000:08d}",
            "sendTime": "2026-01-01 12:00:00",
            "reportTime": "2026-01-01 12:00:05",
            "success": True,
            "code": "10000",
            "message": "请求成功",
            "smsSize": "1",
            "bizId": f"{39036632588910887018 + batch}",
        }
        for i in range(size)
    ]


def reports(batch: int, size: int) -> list[DeliveryReportIn]:
    t = datetime(2026, 1, 1, 12, 0, 5, tzinfo=CST)
    return [
        DeliveryReportIn(
            biz_id=f"D{batch}",
            phone_number=f"139{i:08d}",
            provider_code="10000",
            success=True,
            message="请求成功",
            sms_size=1,
            send_time=t,
            report_time=t,
        )
        for i in range(size)
    ]


def line(label: str, events: int, wall: float, cpu: float) -> None:
    print(
        f"  {label:<12} {events:>8} events  {events / wall:>10,.0f} events/s"
        f"  {cpu / events * 1e6:>7.1f} µs CPU/event  {wall / events * 1e6:>7.1f} µs wall/event"
    )


async def bench_store(directory: Path, size: int, batches: int, synchronous: str) -> None:
    store = await sqlite_backend.open_backend(
        sqlite_backend.SqliteOptions(data_dir=directory / f"direct-{size}", synchronous=synchronous)
    )
    try:
        prepared = [reports(b, size) for b in range(batches)]
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in prepared:
            await store.events.append_reports(batch, Source.PUSH)
        line("store", size * batches, time.perf_counter() - wall, time.process_time() - cpu)
    finally:
        await store.close()


async def bench_http(
    directory: Path, size: int, batches: int, concurrency: int, synchronous: str
) -> None:
    store = await sqlite_backend.open_backend(
        sqlite_backend.SqliteOptions(
            data_dir=directory / f"http-{size}-{concurrency}", synchronous=synchronous
        )
    )
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
    bodies = [
        json.dumps(report_items(b, size), ensure_ascii=False).encode() for b in range(batches)
    ]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    try:
        async with aiohttp.ClientSession() as session:

            async def worker() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    async with session.post(url, data=body) as resp:
                        answer = await resp.read()
                        if resp.status != 200:
                            raise RuntimeError(f"push failed: {resp.status} {answer!r}")

            # One warm-up push (connection set-up, first statements prepared).
            async with session.post(url, data=b"[]") as resp:
                await resp.read()
            wall, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert stored == size * batches, (stored, size * batches)
        line(f"http c{concurrency}", stored, wall, cpu)
    finally:
        await server.stop()
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--dir", type=Path, default=None, help="where the database files go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        print(f"SQLite synchronous={args.synchronous}, {args.batches} batches per run, in {tmp}")
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"batch size {size}:")
            await bench_store(directory, size, args.batches, args.synchronous)
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                await bench_http(directory, size, args.batches, concurrency, args.synchronous)


if __name__ == "__main__":
    asyncio.run(main())
