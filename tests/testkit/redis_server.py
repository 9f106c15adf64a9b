"""A real `redis-server` for tests: started on a free port in a temp dir, stopped after.

Never skips: a test that needs Redis and cannot get one fails with a clear message
(`make test` installs Debian's redis-server when it is missing).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from testkit.certs import Pair
from testkit.ports import free_port

_START_TIMEOUT_S = 10.0


def redis_server_binary() -> str:
    """The redis-server executable, or a failure that says how to get one."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if found is None:
        raise RuntimeError(
            "redis-server is not installed: the Redis tests need it "
            "(`make test` installs Debian's redis-server; or `apt-get install redis-server`)"
        )
    return found


@dataclass
class RedisServer:
    """One redis-server process owned by a test."""

    directory: Path
    appendonly: bool = False
    appendfsync: str = "everysec"
    port: int = field(default_factory=free_port)
    password: str | None = None
    extra_args: tuple[str, ...] = ()
    tls: Pair | None = None
    """Serve TLS only (no plain port), with this certificate and key."""
    tls_ca: Path | None = None
    """The CA that issued `tls` (clients are not asked for certificates)."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{auth}127.0.0.1:{self.port}/0"

    def _port_args(self) -> list[str]:
        if self.tls is None:
            return ["--port", str(self.port)]
        assert self.tls_ca is not None, "a TLS server needs the CA that issued its certificate"
        return [
            *("--port", "0", "--tls-port", str(self.port)),
            *("--tls-cert-file", str(self.tls.cert), "--tls-key-file", str(self.tls.key)),
            *("--tls-ca-cert-file", str(self.tls_ca), "--tls-auth-clients", "no"),
        ]

    def start(self) -> RedisServer:
        """Start (or restart, on the same data directory) and wait until it answers PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            *self._port_args(),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            self.appendfsync,
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        if self.password:
            args += ["--requirepass", self.password]
        args += list(self.extra_args)
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited at start: {err} {log}")
            if self._answers_ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within 10 s")

    def _answers_ping(self) -> bool:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
            if self.tls is not None:
                context = ssl.create_default_context(cafile=self.tls_ca)
                sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
            with sock:
                if self.password:
                    sock.sendall(f"AUTH {self.password}\r\n".encode())
                    sock.recv(64)
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL (a crash: only what the AOF fsynced survives)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then SIGKILL after 10 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
