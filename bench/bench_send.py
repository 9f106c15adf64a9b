"""CPU per send: the floor and the gateway side by side, on each backend, in one run.

Separate processes, so that each one's CPU is its own: the sandbox provider
(`smsgateway sandbox`), the server under test, a `redis-server` (for the Redis
backend) and this load generator (grpc.aio, N concurrent callers of SendSms with a
request_id each). The server's CPU is read from /proc before and after the run;
for Redis the server's CPU and the commands it processed are printed too.

Targets, all running side by side against the same sandbox and loaded one at a time
in `--rounds` alternating bursts (floor, sqlite, redis, floor, ...): on a shared
machine the load drifts, so each figure is the median of its bursts, and every ratio
compares bursts seconds apart (the median of the per-round ratios is reported):
* `floor`: bench/floor_server.py, a bare grpc.aio SendSms making one aiohttp POST
  (no validation, idempotency, metrics or tracing): what no facade can beat.
* `sqlite`: the gateway on its embedded default (durable idempotency on).
* `redis`: the gateway on a redis-server started here (AOF everysec).

Usage: python bench/bench_send.py [--seconds 4] [--rounds 6] [--concurrency 32]
                                  [--recipients 1,100,1000] [--targets floor,sqlite,redis]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

TICKS = os.sysconf("SC_CLK_TCK")
API_KEY = "bench-key-" + "x" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def redis_commands(port: int) -> int:
    """total_commands_processed of a redis-server (INFO stats, over a raw socket)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"INFO stats\r\n")
        data = b""
        while b"total_commands_processed" not in data or not data.endswith(b"\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    for line in data.decode().splitlines():
        if line.startswith("total_commands_processed:"):
            return int(line.split(":", 1)[1])
    raise RuntimeError("no total_commands_processed in INFO stats")


@dataclass
class Result:
    target: str
    recipients: int
    sends: int
    failed: int
    seconds: float
    cpu_us: float
    redis_cpu_us: float | None = None
    redis_commands: float | None = None


async def wait_ready(target: str, proc: subprocess.Popen[bytes]) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)
        last: grpc.aio.AioRpcError | None = None
        for _ in range(300):
            if proc.poll() is not None:
                raise SystemExit("the server exited during start-up")
            try:
                await stub.GetBalance(
                    pb.GetBalanceRequest(),
                    timeout=1,
                    metadata=(("authorization", f"Bearer {API_KEY}"),),
                )
                return
            except grpc.aio.AioRpcError as exc:
                last = exc
                await asyncio.sleep(0.1)
    detail = f": {last.code()} {last.details()}" if last else ""
    raise SystemExit(f"the server did not become ready{detail}")


async def load(target: str, seconds: float, concurrency: int, recipients: int) -> tuple[int, int]:
    numbers = [f"138{i:08d}" for i in range(recipients)]
    metadata = (("authorization", f"Bearer {API_KEY}"),)
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
                    await stub.SendSms(request, timeout=30, metadata=metadata)
                    ok += 1
                except grpc.aio.AioRpcError:
                    failed += 1

        await asyncio.gather(*(caller() for _ in range(concurrency)))
    return ok, failed


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def callers_file(directory: Path) -> Path:
    """One caller with the bench key and a rate limit far above the load (checked, not hit)."""
    import hashlib

    path = directory / "callers.yaml"
    digest = hashlib.sha256(API_KEY.encode()).hexdigest()
    path.write_text(
        "callers:\n"
        "  - name: bench\n"
        f'    key_sha256: "{digest}"\n'
        "    permissions: [send, read_events]\n"
        '    signs: ["*"]\n'
        "    rate_limit_per_second: 1000000\n"
        "    daily_recipient_quota: 1000000000000\n"
    )
    return path


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            binary,
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)),
            *("--save", "", "--appendonly", "yes", "--appendfsync", "everysec"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            redis_commands(port)
            return proc, port
        except OSError:
            time.sleep(0.05)
    stop(proc)
    raise SystemExit("redis-server did not start")


@dataclass
class Server:
    """One target, started once and loaded in bursts (idle in between)."""

    target: str
    address: str
    proc: subprocess.Popen[bytes]
    redis: subprocess.Popen[bytes] | None = None
    redis_port: int = 0

    def stop(self) -> None:
        stop(self.proc, *([self.redis] if self.redis else []))


def start_server(target: str, sandbox_url: str, recipients: int, workdir: Path) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    grpc_port = free_port()
    env = {
        **os.environ,
        "SMSGW_UPSTREAM_URL": sandbox_url,
        "SMSGW_APP_ID": "benchapp",
        "SMSGW_SECRET": "sandbox-secret",
        "SMSGW_BIND_HOST": "127.0.0.1",
        "SMSGW_GRPC_PORT": str(grpc_port),
        "SMSGW_HTTP_PORT": str(free_port()),
        "SMSGW_METRICS_PORT": str(free_port()),
        "SMSGW_DATA_DIR": str(workdir / f"data-{target}-{recipients}"),
        "SMSGW_LOG_LEVEL": "WARNING",
        "SMSGW_BALANCE_REFRESH_SECONDS": "0",
        "SMSGW_CALLERS_FILE": str(callers_file(workdir)),
    }
    redis: subprocess.Popen[bytes] | None = None
    redis_port = 0
    if target == "redis":
        redis, redis_port = start_redis(workdir / f"redis-{recipients}")
        env["SMSGW_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    command = [sys.executable, "-m", "smsgateway", "serve"]
    if target == "floor":
        floor = str(Path(__file__).with_name("floor_server.py"))
        command = [sys.executable, floor, str(grpc_port), sandbox_url, "benchapp", "sandbox-secret"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Server(target, f"127.0.0.1:{grpc_port}", proc, redis, redis_port)
    try:
        time.sleep(0.3)
        asyncio.run(wait_ready(server.address, proc))
    except BaseException:
        server.stop()
        raise
    return server


def burst(server: Server, args: argparse.Namespace, recipients: int) -> Result:
    """`args.seconds` of load on one server; its CPU (and redis-server's) per send meanwhile."""
    redis = server.redis
    cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    rcpu0 = cpu_seconds(redis.pid) if redis else 0.0
    rcmd0 = redis_commands(server.redis_port) if redis else 0
    ok, failed = asyncio.run(load(server.address, args.seconds, args.concurrency, recipients))
    cpu1, t1 = cpu_seconds(server.proc.pid), time.monotonic()
    rcpu1 = cpu_seconds(redis.pid) if redis else 0.0
    rcmd1 = redis_commands(server.redis_port) if redis else 0
    sends = max(ok, 1)
    return Result(
        server.target,
        recipients,
        ok,
        failed,
        t1 - t0,
        (cpu1 - cpu0) / sends * 1e6,
        (rcpu1 - rcpu0) / sends * 1e6 if redis else None,
        (rcmd1 - rcmd0 - 2) / sends if redis else None,  # minus our two INFO calls
    )


def measure_all(
    targets: list[str], args: argparse.Namespace, sandbox_url: str, recipients: int, workdir: Path
) -> list[list[Result]]:
    """Every target running side by side, loaded one at a time in alternating bursts
    (floor, sqlite, redis, floor, ...): each gateway burst sits seconds from a floor burst,
    so the drift of a shared machine's load moves both alike. Returns one list per round."""
    servers: list[Server] = []
    try:
        for target in targets:
            servers.append(start_server(target, sandbox_url, recipients, workdir))
        for server in servers:
            asyncio.run(load(server.address, args.warmup, args.concurrency, recipients))
        return [[burst(server, args, recipients) for server in servers] for _ in range(args.rounds)]
    finally:
        for server in servers:
            server.stop()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def report(all_rounds: list[list[Result]]) -> None:
    """Per target: the median CPU per send over the rounds; per gateway target: the median
    of its per-round ratios (each round's floor was measured next to it)."""
    print(
        f"{'target':<8} {'recipients':>10} {'sends/s':>9} {'CPU/send µs':>12} "
        f"{'µs/recipient':>13} {'÷floor':>7} {'redis CPU µs':>13} {'redis cmds':>11}  "
        "per round: CPU/send µs (÷floor)"
    )
    keys = list(dict.fromkeys((r.target, r.recipients) for rnd in all_rounds for r in rnd))
    verdicts = []
    for target, recipients in keys:
        mine = [
            (r, next((f for f in rnd if f.target == "floor" and f.recipients == recipients), None))
            for rnd in all_rounds
            for r in rnd
            if (r.target, r.recipients) == (target, recipients)
        ]
        cpu = median([r.cpu_us for r, _ in mine])
        rate = median([r.sends / r.seconds for r, _ in mine])
        ratios = [r.cpu_us / f.cpu_us for r, f in mine if f is not None and target != "floor"]
        ratio = median(ratios) if ratios else None
        redis_cpu = [r.redis_cpu_us for r, _ in mine if r.redis_cpu_us is not None]
        redis_cmd = [r.redis_commands for r, _ in mine if r.redis_commands is not None]
        failed = sum(r.failed for r, _ in mine)
        rounds = " ".join(
            f"{r.cpu_us:.0f}" + (f" ({r.cpu_us / f.cpu_us:.2f})" if f and target != "floor" else "")
            for r, f in mine
        )
        print(
            f"{target:<8} {recipients:>10} {rate:9.0f} {cpu:12.0f} {cpu / recipients:13.1f} "
            + (f"{ratio:7.2f}" if ratio is not None else f"{'':>7}")
            + (f" {median(redis_cpu):13.0f}" if redis_cpu else f" {'':>13}")
            + (f" {median(redis_cmd):11.1f}" if redis_cmd else f" {'':>11}")
            + f"  [{rounds}]"
            + (f"  ({failed} failed)" if failed else "")
        )
        if ratio is not None:
            goal = 1.25 if target == "sqlite" else 1.4
            verdict = "within" if ratio <= goal else "ABOVE"
            verdicts.append(
                f"  {target}, {recipients} recipient(s): {ratio:.2f}x the floor "
                f"({verdict} the {goal}x goal)"
            )
    print("\n".join(verdicts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--recipients", default="1,100,1000", help="comma-separated")
    parser.add_argument("--targets", default="floor,sqlite,redis")
    args = parser.parse_args()
    recipient_counts = [int(x) for x in args.recipients.split(",")]
    targets = [t for t in args.targets.split(",") if t]
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-") as tmp:
        workdir = Path(tmp)
        sandbox_port = free_port()
        sandbox = subprocess.Popen(
            [
                *(sys.executable, "-m", "smsgateway", "sandbox", "--port", str(sandbox_port)),
                *("--report-delay", "3600", "--app-id", "benchapp", "--balance", "1000000000000"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            results = [
                round_results
                for n in recipient_counts
                for round_results in measure_all(
                    targets, args, f"http://127.0.0.1:{sandbox_port}", n, workdir / str(n)
                )
            ]
        finally:
            stop(sandbox)
    print(
        f"concurrency={args.concurrency} seconds={args.seconds:g} per target and round, "
        f"medians of {args.rounds} interleaved rounds (all targets running, loaded in turn)"
    )
    report(results)


if __name__ == "__main__":
    main()
