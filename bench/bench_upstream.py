"""Sends/s and client CPU per send of `ProviderClient` against the in-process sandbox.

Both HTTP clients are measured: the lean pool the gateway uses (`new_pool`) and an
aiohttp session (`new_session`).

A plain script, not a test:
    .venv/bin/python bench/bench_upstream.py [--sends 3000] [--rounds 3] [--concurrency 32]
                                             [--tracing]

The sandbox runs in this process but on its own thread and event loop, so the CPU of the
load side is read with `time.thread_time()` on the client's thread (the sandbox's CPU
is not counted); `time.process_time()` (both sides) is printed too. For reference, the
same sends as bare `aiohttp` POSTs (token in the form, no token cache, no parsing, no
spans) give the floor the client's overhead is measured against.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from smsgateway.sandbox import SandboxConfig, SandboxProvider
from smsgateway.upstream import ProviderClient, UpstreamConfig, new_pool, new_session

SIGN = "bench"
CONTENT = "【bench】your code is 123456"


class SandboxThread:
    """The sandbox on a daemon thread with its own loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.sandbox: SandboxProvider | None = None

    def start(self) -> tuple[str, SandboxProvider]:
        self.thread.start()

        async def boot() -> tuple[str, SandboxProvider]:
            sandbox = SandboxProvider(
                SandboxConfig(seed=1, balance=10**9, report_delay_seconds=3600)
            )
            return await sandbox.start(), sandbox

        url, self.sandbox = asyncio.run_coroutine_threadsafe(boot(), self.loop).result()
        return url, self.sandbox

    def stop(self) -> None:
        if self.sandbox is not None:
            future = asyncio.run_coroutine_threadsafe(self.sandbox.stop(), self.loop)
            future.result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


async def drive(
    send: Callable[[int], Awaitable[object]], sends: int, concurrency: int
) -> tuple[float, float, float]:
    """Run `sends` calls with `concurrency` workers; wall s, thread CPU s, process CPU s."""
    counter = iter(range(sends))

    async def worker() -> None:
        for i in counter:
            await send(i)

    wall, thread_cpu, process_cpu = time.perf_counter(), time.thread_time(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (
        time.perf_counter() - wall,
        time.thread_time() - thread_cpu,
        time.process_time() - process_cpu,
    )


def report(label: str, sends: int, wall: float, thread_cpu: float, process_cpu: float) -> float:
    per_send = thread_cpu / sends * 1e6
    print(
        f"{label:<48} {sends / wall:8.0f} sends/s   client CPU {per_send:6.1f} µs/send   "
        f"(process incl. sandbox {process_cpu / sends * 1e6:6.1f} µs/send)"
    )
    return per_send


async def main(args: argparse.Namespace) -> None:
    sandbox_thread = SandboxThread()
    url, sandbox = sandbox_thread.start()
    config = UpstreamConfig(
        base_url=url, app_id=sandbox.config.app_id, secret=sandbox.config.secret
    )
    if args.tracing:
        from opentelemetry.sdk.trace import TracerProvider

        tracer_provider = TracerProvider()  # spans made and ended, exported nowhere
    else:
        tracer_provider = None
    try:
        session = new_session(config)
        client = ProviderClient(session, config, tracer_provider=tracer_provider)
        token = await client.tokens.get()
        pool = new_pool(config)
        pooled = ProviderClient(pool, config, tracer_provider=tracer_provider)
        await pooled.tokens.get()

        async def via_client(i: int) -> object:
            return await client.send(
                phone_numbers=[f"139{i:08d}"], sign=SIGN, content=CONTENT, kind=1
            )

        async def via_pool(i: int) -> object:
            return await pooled.send(
                phone_numbers=[f"139{i:08d}"], sign=SIGN, content=CONTENT, kind=1
            )

        async def bare(i: int) -> object:
            body = urlencode(
                {
                    "token": token,
                    "phoneNumbers": f"139{i:08d}",
                    "sign": SIGN,
                    "content": CONTENT,
                    "kind": "1",
                }
            ).encode()
            async with session.post(
                f"{url}/sms/send",
                data=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ) as response:
                return await response.read()

        warmup = min(500, args.sends)
        await drive(via_client, warmup, args.concurrency)
        await drive(bare, warmup, args.concurrency)
        await drive(via_pool, warmup, args.concurrency)
        # The machine is shared: alternate them and keep each one's best round.
        spans = " +spans" if args.tracing else ""
        label = "ProviderClient.send, aiohttp session" + spans
        pool_label = "ProviderClient.send, lean pool (the gateway's)" + spans
        best: dict[str, tuple[float, float, float]] = {}
        for _ in range(args.rounds):
            for name, send in (
                ("bare aiohttp POST", bare),
                (label, via_client),
                (pool_label, via_pool),
            ):
                result = await drive(send, args.sends, args.concurrency)
                if name not in best or result[1] < best[name][1]:
                    best[name] = result
        floor = report("bare aiohttp POST", args.sends, *best["bare aiohttp POST"])
        for name in (label, pool_label):
            ours = report(name, args.sends, *best[name])
            print(
                f"  over a bare aiohttp POST: {ours - floor:+.1f} µs/send "
                f"({ours / floor:.2f}x); best of {args.rounds} rounds each"
            )
        accepted = len(sandbox.batches)
        expected = 3 * (warmup + args.rounds * args.sends)
        assert accepted == expected, f"sandbox accepted {accepted} sends, expected {expected}"
        await client.close()
        await pooled.close()
        await session.close()
        await pool.close()
    finally:
        sandbox_thread.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tracing", action="store_true", help="install an SDK TracerProvider")
    asyncio.run(main(parser.parse_args()))
