"""`make run-ha`: one Redis, the sandbox provider and three gateways sharing their state.

Starts, all on loopback, in a fresh temp dir (or `--dir`): `redis-server` (AOF on,
`appendfsync always`), `smsgateway sandbox` (pushing delivery reports and uplinks to
gateway A) and gateways A, B and C (`smsgateway serve` with SMSGW_REDIS_URL, each on its own
gRPC, HTTP and metrics ports). Ready means Redis answers PING, the sandbox answers HTTP and
every gateway's gRPC health says SERVING; then it prints how to watch them share the work.
Ctrl-C (or SIGTERM) stops the gateways first (they drain), then the sandbox, then Redis; if
any process dies, everything stops and the tail of its log is shown. Logs: <dir>/<name>.log.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPORT_PATH = "/callbacks/delivery-reports"
UPLINK_PATH = "/callbacks/uplinks"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
APP_ID = "ha-demo"


class Ports(NamedTuple):
    """Where one gateway listens: gRPC API, HTTP (pushes, /healthz), Prometheus /metrics."""

    grpc: int
    http: int
    metrics: int


class Child(NamedTuple):
    """A process this script started, and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path


class Failed(Exception):
    """A child died or did not get ready; the message carries the tail of its log."""

    def __init__(self, child: Child, why: str) -> None:
        text = child.log.read_text(errors="replace") if child.log.exists() else ""
        tail = "\n".join(text.splitlines()[-20:])
        super().__init__(f"{child.name} {why}; last lines of {child.log}:\n{tail}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_server_binary() -> str:
    for candidate in (shutil.which("redis-server"), "/usr/bin/redis-server"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit(
        "run-ha: redis-server is not installed (`make run-ha` installs Debian's redis-server "
        "when run as root; or `apt-get install redis-server`)"
    )


def start(name: str, args: list[str], run_dir: Path, env: dict[str, str] | None = None) -> Child:
    """Start a child in its own session, so Ctrl-C reaches only this script (which stops the
    children in order); its output goes to <run_dir>/<name>.log."""
    log = run_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    return Child(name, process, log)


def wait_until(child: Child, ready: Callable[[], bool]) -> None:
    """Poll `ready` until it is true; Failed when the child dies or START_TIMEOUT_S passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise Failed(child, f"exited with code {child.process.returncode}")
        if ready():
            return
        time.sleep(0.2)
    raise Failed(child, f"was not ready within {START_TIMEOUT_S:.0f} s")


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def sandbox_admin(url: str, settings: dict[str, object] | None = None) -> bool:
    """GET the sandbox's admin state (True when it answers), or POST new settings to it."""
    body = None if settings is None else json.dumps(settings).encode()
    path = "/admin/state" if body is None else "/admin/config"
    request = urllib.request.Request(
        url + path, data=body, method="GET" if body is None else "POST"
    )
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def grpc_serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def stop_all(children: list[Child]) -> None:
    """The gateways together first (SIGTERM: they drain), then the sandbox, then Redis (it
    outlives the gateways' last writes); SIGKILL after STOP_TIMEOUT_S."""
    gateways = [c for c in children if c.name.startswith("gateway")]
    for group in (gateways, *([c] for c in reversed(children) if c not in gateways)):
        running = [c for c in group if c.process.poll() is None]
        for child in running:
            child.process.terminate()
        for child in running:
            try:
                child.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(timeout=STOP_TIMEOUT_S)


def banner(run_dir: Path, redis_port: int, sandbox: str, gateways: dict[str, Ports]) -> str:
    smsctl = Path(sys.executable).with_name("smsctl")
    if smsctl.is_relative_to(Path.cwd()):
        smsctl = smsctl.relative_to(Path.cwd())
    a, b, c = (f"{smsctl} --target localhost:{p.grpc}" for p in gateways.values())
    lines = [
        f"HA demo is up: three gateways share one Redis (logs and data in {run_dir})",
        f"  redis      127.0.0.1:{redis_port}   (AOF on, appendfsync always)",
        f"  sandbox    {sandbox}   (the provider; pushes reports and uplinks to gateway A)",
        *(
            f"  gateway {name}  gRPC localhost:{p.grpc}   callbacks :{p.http}"
            f"   metrics http://localhost:{p.metrics}/metrics"
            for name, p in gateways.items()
        ),
        "",
        "See them share the work, each in its own terminal:",
        "  # a consumer group with a member on B and one on C: each report reaches one of them",
        f"  {b} watch reports --group demo",
        f"  {c} watch reports --group demo",
        "  # send through A; the sandbox pushes the reports to A; B and C share them",
        f"  {a} send --to 13800138000,13900139000,13700137000 --sign Demo --content hello",
        "  # the send's status (BIZID: one the send printed), asked of another replica",
        f"  {c} status BIZID",
        "  # the same request_id on A and on B: one provider call, the same answer twice",
        f"  {a} send --request-id demo-1 --to 13800138000 --sign Demo --content once",
        f"  {b} send --request-id demo-1 --to 13800138000 --sign Demo --content once",
        "  # the provider's view: one token for the three gateways, each send counted once",
        f"  {smsctl} sandbox state --sandbox-url {sandbox}",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def gateway_env(
    ports: Ports, run_dir: Path, redis_port: int, sandbox: str, secret: str
) -> dict[str, str]:
    """One gateway's settings: the shared Redis and provider, its own ports and scratch dir."""
    return os.environ | {
        "SMSGW_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "SMSGW_UPSTREAM_URL": sandbox,
        "SMSGW_APP_ID": APP_ID,
        "SMSGW_SECRET": secret,
        "SMSGW_BIND_HOST": "127.0.0.1",
        "SMSGW_GRPC_PORT": str(ports.grpc),
        "SMSGW_HTTP_PORT": str(ports.http),
        "SMSGW_METRICS_PORT": str(ports.metrics),
        "SMSGW_DATA_DIR": str(run_dir / f"gateway-{ports.grpc}"),
        "SMSGW_REPORT_CALLBACK_PATH": REPORT_PATH,
        "SMSGW_UPLINK_CALLBACK_PATH": UPLINK_PATH,
        "SMSGW_SHUTDOWN_GRACE_SECONDS": "5",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dir", type=Path, help="keep Redis data and logs here (default: temp)")
    parser.add_argument("--free-ports", action="store_true", help="any free ports, not fixed ones")
    args = parser.parse_args()

    def port(fixed: int) -> int:
        return free_port() if args.free_ports else fixed

    redis_port, sandbox_port = port(6380), port(8190)
    gateways = {
        n: Ports(port(50061 + i), port(8181 + i), port(9191 + i)) for i, n in enumerate("ABC")
    }
    run_dir: Path = args.dir or Path(tempfile.mkdtemp(prefix="smsgateway-ha-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    push = f"http://127.0.0.1:{gateways['A'].http}"
    secret = secrets.token_urlsafe(16)  # the sandbox account's secret; never printed
    python = [sys.executable, "-m", "smsgateway"]
    children: list[Child] = []
    # Ctrl-C and SIGTERM stop the demo, even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        redis_options = f"--port {redis_port} --bind 127.0.0.1 --appendonly yes"
        redis_options += " --appendfsync always --save"  # AOF only: no RDB snapshots
        redis_args = [redis_server_binary(), *redis_options.split(), "", "--dir", str(run_dir)]
        redis = start("redis", redis_args, run_dir)
        children.append(redis)
        wait_until(redis, functools.partial(redis_answers, redis_port))
        options = f"--port {sandbox_port} --app-id {APP_ID} --report-delay 2"
        options += " --report-outcome 10000=0.9 --report-outcome 4=0.1"
        options += f" --report-push-url {push}{REPORT_PATH} --uplink-push-url {push}{UPLINK_PATH}"
        env = os.environ | {"SMSGW_SANDBOX_SECRET": secret}
        sandbox = start("sandbox", [*python, "sandbox", *options.split()], run_dir, env)
        children.append(sandbox)
        wait_until(sandbox, functools.partial(sandbox_admin, sandbox_url))
        # Lenient about `kind`, like the in-process sandbox of `make run`.
        if not sandbox_admin(sandbox_url, {"require_kind": None}):
            raise Failed(sandbox, "refused its settings")
        for name, ports in gateways.items():
            env = gateway_env(ports, run_dir, redis_port, sandbox_url, secret)
            children.append(start(f"gateway-{name.lower()}", [*python, "serve"], run_dir, env))
        for child, ports in zip(children[2:], gateways.values(), strict=True):
            wait_until(child, functools.partial(grpc_serving, ports.grpc))
        print(banner(run_dir, redis_port, sandbox_url, gateways), flush=True)
        while True:
            for child in children:
                if child.process.poll() is not None:
                    raise Failed(child, f"exited with code {child.process.returncode}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping the gateways, then the sandbox, then Redis ...", flush=True)
        return 0
    except Failed as exc:
        print(f"run-ha: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stop_all(children)
        if args.dir is None:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
