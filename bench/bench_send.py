"""Sends/s through the facade, and the facade's own CPU per send.

Three processes, so that each one's CPU is its own: the sandbox provider
(`smsgateway sandbox`), the gateway (`smsgateway serve` against it), and this
load generator (grpc.aio, N concurrent callers of single-recipient SendSms).
The gateway's CPU is read from /proc before and after the run.

Usage: python bench/bench_send.py [--seconds 10] [--concurrency 64] [--recipients 1]
                                  [--no-instrumentation] [--tracing]
Budget (DESIGN.md): a bare grpc.aio unary RPC ~200 µs CPU + an aiohttp POST ~115 µs
= ~315 µs per single-recipient send; the facade should stay within 1.25x (~395 µs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

FLOOR_US = 315.0
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


async def wait_ready(target: str, proc: subprocess.Popen[bytes]) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)
        last: grpc.aio.AioRpcError | None = None
        for _ in range(300):
            if proc.poll() is not None:
                raise SystemExit("gateway exited during start-up")
            try:
                await stub.GetBalance(pb.GetBalanceRequest(), timeout=1)
                return
            except grpc.aio.AioRpcError as exc:
                last = exc
                await asyncio.sleep(0.1)
    detail = f": {last.code()} {last.details()}" if last else ""
    raise SystemExit(f"gateway did not become ready{detail}")


async def load(target: str, seconds: float, concurrency: int, recipients: int) -> tuple[int, int]:
    numbers = [f"138{i:08d}" for i in range(recipients)]
    ok = failed = 0
    stop_at = time.monotonic() + seconds
    async with grpc.aio.insecure_channel(target) as channel:
        stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)

        async def caller() -> None:
            nonlocal ok, failed
            while time.monotonic() < stop_at:
                request = pb.SendSmsRequest(
                    phone_numbers=numbers,
                    sign="Bench",
                    content="benchmark message",
                    kind=pb.SMS_KIND_NOTICE,
                    request_id=str(uuid.uuid4()),
                )
                try:
                    await stub.SendSms(request, timeout=10)
                    ok += 1
                except grpc.aio.AioRpcError:
                    failed += 1

        await asyncio.gather(*(caller() for _ in range(concurrency)))
    return ok, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--recipients", type=int, default=1)
    parser.add_argument("--no-instrumentation", action="store_true")
    parser.add_argument(
        "--tracing", action="store_true", help="trace every call (console exporter to /dev/null)"
    )
    parser.add_argument(
        "--floor", action="store_true", help="measure bench/floor_server.py instead of the gateway"
    )
    args = parser.parse_args()

    sandbox_port, grpc_port = free_port(), free_port()
    data_dir = tempfile.mkdtemp(prefix="smsgw-bench-")
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smsgateway",
            "sandbox",
            "--port",
            str(sandbox_port),
            "--report-delay",
            "3600",
            "--app-id",
            "benchapp",
            "--balance",
            "1000000000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        **os.environ,
        "SMSGW_UPSTREAM_URL": f"http://127.0.0.1:{sandbox_port}",
        "SMSGW_APP_ID": "benchapp",
        "SMSGW_SECRET": "sandbox-secret",
        "SMSGW_BIND_HOST": "127.0.0.1",
        "SMSGW_GRPC_PORT": str(grpc_port),
        "SMSGW_HTTP_PORT": str(free_port()),
        "SMSGW_METRICS_PORT": str(free_port()),
        "SMSGW_DATA_DIR": data_dir,
        "SMSGW_LOG_LEVEL": "WARNING",
        "SMSGW_BALANCE_REFRESH_SECONDS": "0",
        "SMSGW_INSTRUMENTATION": "false" if args.no_instrumentation else "true",
    }
    if args.tracing:
        env["OTEL_TRACES_EXPORTER"] = "console"  # spans serialised to /dev/null
    command = [sys.executable, "-m", "smsgateway", "serve"]
    if args.floor:
        floor = str(Path(__file__).with_name("floor_server.py"))
        url = env["SMSGW_UPSTREAM_URL"]
        command = [sys.executable, floor, str(grpc_port), url, "benchapp", "sandbox-secret"]
    gateway = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    target = f"127.0.0.1:{grpc_port}"
    try:
        time.sleep(0.5)
        asyncio.run(wait_ready(target, gateway))
        asyncio.run(load(target, args.warmup, args.concurrency, args.recipients))
        cpu0, t0 = cpu_seconds(gateway.pid), time.monotonic()
        ok, failed = asyncio.run(load(target, args.seconds, args.concurrency, args.recipients))
        cpu1, t1 = cpu_seconds(gateway.pid), time.monotonic()
    finally:
        for proc in (gateway, sandbox):
            proc.send_signal(signal.SIGTERM)
        for proc in (gateway, sandbox):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    elapsed = t1 - t0
    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    cpu_us = (user + system) / max(ok, 1) * 1e6
    mode = "off" if args.no_instrumentation else ("on+tracing" if args.tracing else "on")
    if args.floor:
        mode = "n/a (FLOOR: bare grpc.aio + one aiohttp POST)"
    print(
        f"instrumentation={mode} recipients/send={args.recipients} "
        f"concurrency={args.concurrency}\n"
        f"  sends/s            {ok / elapsed:10.0f}   "
        f"({ok} ok, {failed} failed in {elapsed:.1f}s)\n"
        f"  gateway CPU/send   {cpu_us:10.0f} µs   (floor ~{FLOOR_US:.0f} µs; "
        f"ratio {cpu_us / FLOOR_US:.2f}x)\n"
        f"  of which system    {system / max(ok, 1) * 1e6:10.0f} µs\n"
        f"  gateway CPU util   {(user + system) / elapsed * 100:10.0f} %"
    )


if __name__ == "__main__":
    main()
