"""Memory soak and large sends, on each backend: the gateway in its own process.

    .venv/bin/python bench/bench_soak.py [--backend sqlite|redis|both] [--mode soak,large]
        [--seconds 300] [--probe-seconds 10] [--concurrency 32] [--recipients 100000]
        [--large-runs 2]

Separate processes, so that each one's CPU and memory are its own: the sandbox
provider, `smsgateway serve` (durable idempotency, a caller key, rate limits on),
a `redis-server` of our own for Redis (AOF everysec), and this load generator.

* `soak`: the maximum rate is measured first (`--concurrency` closed-loop callers
  of single-recipient SendSms with a request_id, `--probe-seconds`); then sends
  are offered at 80 % of it, open loop, for `--seconds` (default 300). The
  gateway's RSS (VmRSS) is printed after the warm-up (start), every minute, and
  at the end, with the rate achieved and the sends that failed.
* `large`: one SendSms to `--recipients` numbers (default 100,000) on an idle
  gateway: the gateway process's CPU for it (validation, splitting into provider
  calls of 125 numbers, the records, the provider calls' client side; the sandbox's own
  time is another process and not counted) and its wall time. Then the same
  send again while 4 callers send single-recipient SMS in a loop: the p50/p99 of
  those small sends, against their p50/p99 with no large send running, and the
  provider's share of it: the same provider calls made straight to the sandbox
  while 4 loops POST single-number sends (the sandbox shares this machine's two
  cores, so it slows down under the large send's calls too). Last, the
  pieces of such a send timed apart in this process (`large_breakdown.py`): parse,
  validate, fingerprint, split ("validate+split"), the idempotency claim, the calls
  taken, the outcomes and the send log ("records"), the response, and the provider
  calls' client side.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import grpc
from bench_backends import (
    API_KEY,
    chosen,
    cpu_seconds,
    free_port,
    rss_mib,
    start_gateway,
    start_redis,
    start_sandbox,
    stop_process,
)
from large_breakdown import breakdown

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

METADATA = (("authorization", f"Bearer {API_KEY}"),)


def request(numbers: list[str]) -> pb.SendSmsRequest:
    return pb.SendSmsRequest(
        phone_numbers=numbers,
        sign="Bench",
        content="benchmark message",
        kind=pb.SMS_KIND_NOTICE,
        request_id=str(uuid.uuid4()),
    )


async def wait_ready(stub: smsgateway_pb2_grpc.SmsGatewayStub) -> None:
    for _ in range(300):
        try:
            await stub.GetBalance(pb.GetBalanceRequest(), timeout=1, metadata=METADATA)
            return
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.1)
    raise SystemExit("the gateway did not become ready")


async def closed_loop(
    stub: smsgateway_pb2_grpc.SmsGatewayStub,
    seconds: float,
    concurrency: int,
    latencies: list[float] | None = None,
    stop: asyncio.Event | None = None,
) -> tuple[int, int]:
    """`concurrency` callers sending one SMS after the other; (ok, failed)."""
    ok = failed = 0
    stop_at = time.monotonic() + seconds

    async def caller(i: int) -> None:
        nonlocal ok, failed
        number = [f"137{i:08d}"]
        while time.monotonic() < stop_at and not (stop and stop.is_set()):
            t = time.perf_counter()
            try:
                await stub.SendSms(request(number), timeout=30, metadata=METADATA)
                ok += 1
            except grpc.aio.AioRpcError:
                failed += 1
            if latencies is not None:
                latencies.append((time.perf_counter() - t) * 1e3)

    await asyncio.gather(*(caller(i) for i in range(concurrency)))
    return ok, failed


async def soak(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, pid: int, args: argparse.Namespace
) -> None:
    await closed_loop(stub, 2.0, args.concurrency)  # warm-up
    ok, failed = await closed_loop(stub, args.probe_seconds, args.concurrency)
    max_rate = ok / args.probe_seconds
    rate = 0.8 * max_rate
    print(f"  max rate {max_rate:,.0f} sends/s ({failed} failed); soaking at {rate:,.0f}/s")
    start_rss = rss_mib(pid)
    print(f"  RSS start: {start_rss:.1f} MiB", flush=True)
    in_flight = asyncio.Semaphore(4 * args.concurrency)
    sent = done = errors = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(i: int) -> None:
        nonlocal done, errors
        try:
            await stub.SendSms(request([f"136{i % 10**8:08d}"]), timeout=30, metadata=METADATA)
            done += 1
        except grpc.aio.AioRpcError:
            errors += 1
        finally:
            in_flight.release()

    t0 = time.monotonic()
    next_report = t0 + 60
    tick = 0.01
    while (now := time.monotonic()) - t0 < args.seconds:
        due = int((now - t0) * rate) - sent
        for _ in range(due):
            await in_flight.acquire()
            task = asyncio.create_task(one(sent))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        if now >= next_report:
            print(f"  RSS at {now - t0:4.0f} s: {rss_mib(pid):.1f} MiB", flush=True)
            next_report += 60
        await asyncio.sleep(tick)
    await asyncio.gather(*tasks)
    wall = time.monotonic() - t0
    end_rss = rss_mib(pid)
    print(
        f"  RSS end:   {end_rss:.1f} MiB ({end_rss - start_rss:+.1f} MiB) after {wall:.0f} s;"
        f" {done / wall:,.0f} sends/s achieved, {errors} failed"
    )


async def large(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, pid: int, args: argparse.Namespace
) -> None:
    numbers = [f"139{i:08d}" for i in range(args.recipients)]
    await closed_loop(stub, 2.0, 4)  # warm-up
    for _ in range(args.large_runs):
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        response = await stub.SendSms(request(numbers), timeout=600, metadata=METADATA)
        cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - t0
        calls = len(response.calls)
        print(
            f"  {args.recipients:,} recipients alone: gateway CPU {cpu:.2f} s"
            f" ({cpu / args.recipients * 1e6:.1f} µs/recipient), wall {wall:.2f} s,"
            f" {calls} provider calls (sandbox CPU not counted)",
            flush=True,
        )
    quiet: list[float] = []
    await closed_loop(stub, 3.0, 4, quiet)
    busy: list[float] = []
    stop = asyncio.Event()
    small = asyncio.create_task(closed_loop(stub, 600, 4, busy, stop))
    await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    await stub.SendSms(request(numbers), timeout=600, metadata=METADATA)
    wall = time.perf_counter() - t0
    stop.set()
    await small

    def q(values: list[float]) -> str:
        cuts = statistics.quantiles(values, n=100)
        return f"p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms, max {max(values):.1f} ms"

    print(f"  small sends, no large send running: {q(quiet)} (n={len(quiet)})")
    print(
        f"  small sends during a {args.recipients:,}-recipient send ({wall:.2f} s):"
        f" {q(busy)} (n={len(busy)})"
    )


async def provider_alone(sandbox_url: str, recipients: int) -> None:
    """The same provider calls without the gateway: the large send's calls (125 numbers,
    8 at a time) straight to the sandbox while 4 loops POST single-number sends; their
    latency is the provider's share of the small sends' latency above."""
    async with aiohttp.ClientSession() as session:
        params = {"appId": "benchapp", "secret": "sandbox-secret"}
        async with session.get(f"{sandbox_url}/api/token", params=params) as reply:
            token = (await reply.json())["token"]

        async def post(numbers: list[str]) -> None:
            form = {"token": token, "phoneNumbers": ",".join(numbers), "sign": "Bench"}
            form |= {"content": "【Bench】bench", "kind": "2"}
            async with session.post(f"{sandbox_url}/sms/send", data=form) as reply:
                await reply.read()

        latencies: list[float] = []
        stop = asyncio.Event()

        async def small() -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                await post(["13800000001"])
                latencies.append((time.perf_counter() - t0) * 1000)

        batch = [f"139{i:08d}" for i in range(125)]
        limit = asyncio.Semaphore(8)

        async def large_call() -> None:
            async with limit:
                await post(batch)

        smalls = [asyncio.create_task(small()) for _ in range(4)]
        await asyncio.gather(*(large_call() for _ in range(max(1, recipients // 125))))
        stop.set()
        await asyncio.gather(*smalls)
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"  the provider alone (sandbox, no gateway), small POSTs during those calls:"
        f" p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms, max {max(latencies):.1f} ms"
        f" (n={len(latencies)})"
    )


async def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    sandbox_port = free_port()
    sandbox = start_sandbox(sandbox_port)
    redis = None
    redis_port = None
    if backend == "redis":
        redis, redis_port = start_redis(workdir / "redis")
    gateway, address = start_gateway(
        backend, workdir, f"http://127.0.0.1:{sandbox_port}", redis_port
    )
    try:
        options = [("grpc.max_send_message_length", 16 * 1024 * 1024)]
        async with grpc.aio.insecure_channel(address, options=options) as channel:
            stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)
            await wait_ready(stub)
            print(f"{backend}:", flush=True)
            if "large" in args.mode:
                await large(stub, gateway.pid, args)
                await provider_alone(f"http://127.0.0.1:{sandbox_port}", args.recipients)
            if "soak" in args.mode:
                await soak(stub, gateway.pid, args)
    finally:
        for proc in (gateway, sandbox, *([redis] if redis else [])):
            stop_process(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="both", choices=["sqlite", "redis", "both"])
    parser.add_argument("--mode", default="soak,large")
    parser.add_argument("--seconds", type=float, default=300.0, help="soak length")
    parser.add_argument("--probe-seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--large-runs", type=int, default=2, help="large sends measured alone")
    args = parser.parse_args()
    for backend in chosen(args.backend):
        with tempfile.TemporaryDirectory(prefix=f"smsgw-soak-{backend}-") as tmp:
            asyncio.run(run_backend(backend, args, Path(tmp)))
        if "large" in args.mode:
            # The same pieces in this process, apart: validation, splitting, the records.
            asyncio.run(breakdown(backend, args.recipients, runs=3, provider=True))


if __name__ == "__main__":
    main()
