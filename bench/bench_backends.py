"""Shared by the benches: open the event store on SQLite or on a redis-server of their own.

`open_store("redis", directory)` starts `redis-server` on a free port in
`directory` (AOF on, `appendfsync everysec`, no RDB snapshots: the setting the
gateway is documented for) and stops it again when the store is closed, so a
bench never touches a Redis someone else runs. `--backend sqlite|redis|both`
is parsed by `backends_arg`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from smsgateway.backends import Backend
from smsgateway.backends import redis as redis_backend
from smsgateway.backends import sqlite as sqlite_backend

BACKENDS = ("sqlite", "redis")
TICKS = os.sysconf("SC_CLK_TCK")


def backends_arg(parser: argparse.ArgumentParser) -> None:
    """Add `--backend sqlite|redis|both` (default both)."""
    parser.add_argument("--backend", default="both", choices=[*BACKENDS, "both"])


def chosen(value: str) -> list[str]:
    """The backends `--backend` names."""
    return list(BACKENDS) if value == "both" else [value]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB (VmRSS from /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A redis-server of our own on a free port, AOF everysec, data in `directory`."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)),
            *("--save", "", "--appendonly", "yes", "--appendfsync", "everysec"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            time.sleep(0.05)
    stop_process(proc)
    raise SystemExit("redis-server did not start")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 30 s."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextlib.asynccontextmanager
async def open_store(
    backend: str, directory: Path, *, synchronous: str = "FULL"
) -> AsyncIterator[tuple[Backend, int | None]]:
    """The backend bundle and the redis-server's pid (None for SQLite); closed on exit."""
    os.makedirs(directory, exist_ok=True)
    if backend == "sqlite":
        store = await sqlite_backend.open_backend(
            sqlite_backend.SqliteOptions(data_dir=directory, synchronous=synchronous)
        )
        try:
            yield store, None
        finally:
            await store.close()
        return
    proc, port = start_redis(directory / "redis")
    try:
        store = await redis_backend.open_backend(
            redis_backend.RedisOptions(
                settings=redis_backend.RedisSettings(url=f"redis://127.0.0.1:{port}/0")
            )
        )
        try:
            yield store, proc.pid
        finally:
            await store.close()
    finally:
        stop_process(proc)


# -- a gateway process against the sandbox (bench_soak.py) -------------------------

API_KEY = "bench-key-" + "x" * 40
"""The caller key the benches' gateway accepts (a test value, not a secret)."""


def callers_file(directory: Path) -> Path:
    """One caller with the bench key and limits far above the load (checked, not hit)."""
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


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    """The sandbox provider (`smsgateway sandbox`) on `port`, reports far in the future."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "smsgateway", "sandbox", "--port", str(port)),
            *("--report-delay", "3600", "--app-id", "benchapp", "--balance", "1000000000000"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_gateway(
    backend: str, workdir: Path, sandbox_url: str, redis_port: int | None
) -> tuple[subprocess.Popen[bytes], str]:
    """`smsgateway serve` on free ports; returns the process and its gRPC address."""
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
        "SMSGW_DATA_DIR": str(workdir / f"data-{backend}"),
        "SMSGW_LOG_LEVEL": "WARNING",
        "SMSGW_BALANCE_REFRESH_SECONDS": "0",
        "SMSGW_CALLERS_FILE": str(callers_file(workdir)),
    }
    if redis_port is not None:
        env["SMSGW_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsgateway", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"127.0.0.1:{grpc_port}"
