"""A real HA set-up for tests: one redis-server, one standalone sandbox, N gateway processes.

Every process is a real subprocess on its own free loopback ports, logging to a file in
the test's temp dir (the tail of the log is in every failure message). Every wait is
bounded; `Cluster.close` SIGKILLs whatever is still running, so a failing test leaves
nothing behind. Redis is a `testkit.redis_server.RedisServer` (it fails, never skips,
when redis-server is missing).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc
from testkit.certs import Authority
from testkit.ports import free_port
from testkit.redis_server import RedisServer

T = TypeVar("T")

START_TIMEOUT_S = 45.0
"""How long a process may take to become ready (three Python processes start at once on
two cores)."""
STOP_TIMEOUT_S = 10.0
APP_ID = "ha-test"
REPORT_PATH = "/callbacks/delivery-reports"
UPLINK_PATH = "/callbacks/uplinks"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _smsgateway_command() -> list[str]:
    """`.venv/bin/smsgateway` next to this interpreter, else `python -m smsgateway`."""
    script = Path(sys.executable).with_name("smsgateway")
    return [str(script)] if script.exists() else [sys.executable, "-m", "smsgateway"]


def _tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


async def wait_for(
    what: str,
    check: Callable[[], Awaitable[T | None]],
    *,
    within: float,
    interval: float = 0.05,
    context: Callable[[], str] = lambda: "",
) -> T:
    """Poll `check` until it returns something other than None/False; fail after `within` s."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            extra = context()
            raise AssertionError(f"{what}: not within {within:g} s\n{extra}".rstrip())
        await asyncio.sleep(interval)


@dataclass
class Process:
    """One child process and its log."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL and reap: no chance to flush or release anything."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL after STOP_TIMEOUT_S."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self) -> str:
        code = "running" if self.alive else f"exit {self.popen.returncode if self.popen else '-'}"
        return f"--- {self.name} ({code}), last lines of {self.log}:\n{_tail(self.log)}"


@dataclass
class Gateway:
    """One `smsgateway serve` replica on Redis, with its own ports and data dir."""

    name: str
    process: Process
    grpc_port: int
    http_port: int
    metrics_port: int
    _channel: grpc.aio.Channel | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    @property
    def stub(self) -> smsgateway_pb2_grpc.SmsGatewayStub:
        """A stub on this replica's channel (one channel, reopened after a restart)."""
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.target)
        return smsgateway_pb2_grpc.SmsGatewayStub(self._channel)

    async def close_channel(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close(grace=None)

    async def health(self) -> int | None:
        """The overall health status, or None when the replica does not answer."""
        async with grpc.aio.insecure_channel(self.target) as channel:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1.0
                )
            except grpc.aio.AioRpcError:
                return None
        return int(reply.status)

    async def wait_health(self, status: int, within: float) -> float:
        """Wait until health reports `status`; the seconds it took."""
        started = time.monotonic()

        async def reached() -> bool:
            if not self.process.alive:
                raise AssertionError(f"{self.name} died\n{self.process.tail()}")
            return await self.health() == status

        name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
        await wait_for(
            f"{self.name} health {name}", reached, within=within, context=self.process.tail
        )
        return time.monotonic() - started

    async def metric(self, name: str) -> float | None:
        """The value of an unlabelled metric from /metrics, or None when unreadable."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http,
                http.get(url) as reply,
            ):
                text = await reply.text()
        except (aiohttp.ClientError, TimeoutError):
            return None
        found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else None

    async def push(self, path: str, items: list[dict[str, Any]]) -> tuple[int, Any]:
        """POST a push as the provider would; (HTTP status, JSON body or None)."""
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.post(self.url(path), json=items) as reply,
        ):
            try:
                body = await reply.json(content_type=None)
            except ValueError:
                body = None
            return reply.status, body


@dataclass
class Cluster:
    """Redis, the sandbox and the gateways of one test (`start` them, always `close`)."""

    directory: Path
    replicas: int = 3
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra SMSGW_* settings for every gateway."""
    appendfsync: str = "always"
    sandbox_args: tuple[str, ...] = ()
    redis_tls: bool = False
    """Redis serves TLS only (a certificate from a test CA); the gateways get `rediss://`
    and the CA as SMSGW_REDIS_TLS_CA_FILE."""
    redis: RedisServer = field(init=False)
    sandbox: Process = field(init=False)
    sandbox_url: str = field(init=False)
    gateways: list[Gateway] = field(default_factory=list, init=False)
    _secret: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)

    def __post_init__(self) -> None:
        tls: dict[str, Any] = {}
        if self.redis_tls:
            ca = Authority.create(self.directory / "tls")
            tls = {"tls": ca.issue("redis", server=True), "tls_ca": ca.cert}
            self.env = {**self.env, "SMSGW_REDIS_TLS_CA_FILE": str(ca.cert)}
        self.redis = RedisServer(
            self.directory / "redis", appendonly=True, appendfsync=self.appendfsync, **tls
        )
        port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        self.sandbox = Process(
            "sandbox",
            [
                *_smsgateway_command(),
                *("sandbox", "--port", str(port), "--app-id", APP_ID, "--report-delay", "0.2"),
                *self.sandbox_args,
            ],
            {**os.environ, "SMSGW_SANDBOX_SECRET": self._secret},
            self.directory / "sandbox.log",
        )
        for i in range(self.replicas):
            name = "ABCDEFGH"[i]
            ports = free_port(), free_port(), free_port()
            data = self.directory / f"gateway-{name}"
            data.mkdir(parents=True, exist_ok=True)
            env = {
                **os.environ,
                "OTEL_SDK_DISABLED": "true",
                "SMSGW_REDIS_URL": "",  # set in start(), once Redis has its port
                "SMSGW_UPSTREAM_URL": self.sandbox_url,
                "SMSGW_APP_ID": APP_ID,
                "SMSGW_SECRET": self._secret,
                "SMSGW_BIND_HOST": "127.0.0.1",
                "SMSGW_GRPC_PORT": str(ports[0]),
                "SMSGW_HTTP_PORT": str(ports[1]),
                "SMSGW_METRICS_PORT": str(ports[2]),
                "SMSGW_DATA_DIR": str(data),
                "SMSGW_REPORT_CALLBACK_PATH": REPORT_PATH,
                "SMSGW_UPLINK_CALLBACK_PATH": UPLINK_PATH,
                "SMSGW_BALANCE_REFRESH_SECONDS": "0",
                "SMSGW_SHUTDOWN_GRACE_SECONDS": "1",
                **self.env,
            }
            process = Process(
                f"gateway-{name}", [*_smsgateway_command(), "serve"], env, data / "gateway.log"
            )
            self.gateways.append(Gateway(name, process, *ports))

    def context(self) -> str:
        """Every process's log tail (for failure messages)."""
        parts = [g.process.tail() for g in self.gateways] + [self.sandbox.tail()]
        parts.append(f"--- redis log:\n{_tail(self.redis.directory / 'redis.log', 10)}")
        return "\n".join(parts)

    async def start(self) -> Cluster:
        """Start everything and wait until the sandbox answers and every gateway is SERVING."""
        await asyncio.to_thread(self.redis.start)
        self.sandbox.start()
        for gateway in self.gateways:
            gateway.process.env["SMSGW_REDIS_URL"] = self.redis.url
            gateway.process.start()
        await wait_for(
            "sandbox answers", self._sandbox_answers, within=START_TIMEOUT_S, context=self.context
        )
        await asyncio.gather(*(g.wait_health(SERVING, START_TIMEOUT_S) for g in self.gateways))
        return self

    async def restart(self, gateway: Gateway) -> float:
        """Start a stopped replica again on the same ports; seconds until SERVING."""
        assert not gateway.process.alive, f"{gateway.name} still runs"
        await gateway.close_channel()
        gateway.process.start()
        return await gateway.wait_health(SERVING, START_TIMEOUT_S)

    async def close(self) -> None:
        """Stop the gateways (SIGTERM together, then SIGKILL), the sandbox, then Redis."""
        try:
            for gateway in self.gateways:
                await gateway.close_channel()
                if gateway.process.alive and gateway.process.popen is not None:
                    gateway.process.popen.terminate()
            await asyncio.to_thread(_stop_all, [g.process for g in self.gateways])
        finally:
            try:
                self.sandbox.stop()
            finally:
                self.redis.kill()

    async def _sandbox_answers(self) -> bool:
        if not self.sandbox.alive:
            raise AssertionError(f"the sandbox died\n{self.sandbox.tail()}")
        try:
            await self.sandbox_state()
        except (aiohttp.ClientError, TimeoutError):
            return False
        return True

    async def sandbox_state(self) -> dict[str, Any]:
        """GET /admin/state: `requests` per path, `tokensIssued`, pushed/pulled counters."""
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.get(f"{self.sandbox_url}/admin/state") as reply,
        ):
            assert reply.status == 200, await reply.text()
            state: dict[str, Any] = await reply.json()
            return state

    async def configure_sandbox(self, **settings: Any) -> None:
        """POST /admin/config (e.g. report_push_url, report_outcomes)."""
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.post(f"{self.sandbox_url}/admin/config", json=settings) as reply,
        ):
            assert reply.status == 200, await reply.text()

    async def leaders(self) -> list[Gateway]:
        """The live replicas whose `smsgateway_leader` gauge is 1."""
        live = [g for g in self.gateways if g.process.alive]
        values = await asyncio.gather(*(g.metric("smsgateway_leader") for g in live))
        return [g for g, v in zip(live, values, strict=True) if v == 1.0]


def _stop_all(processes: Iterable[Process]) -> None:
    for process in processes:
        if process.popen is None or process.popen.poll() is not None:
            continue
        try:
            process.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()


def report_item(phone: str, biz_id: str, code: str = "10000") -> dict[str, object]:
    """One delivery report as the provider pushes it (camelCase, times in UTC+8)."""
    return {
        "phoneNumber": phone,
        "sendTime": "2026-11-25 10:00:00",
        "reportTime": "2026-11-25 10:00:05",
        "success": code == "10000",
        "code": code,
        "message": "ok",
        "smsSize": "1",
        "bizId": biz_id,
    }


async def list_reports(
    stub: smsgateway_pb2_grpc.SmsGatewayStub,
    filter: pb.DeliveryReportFilter | None = None,
    *,
    limit: int = 100_000,
) -> list[pb.DeliveryReport]:
    """Every stored report (ListDeliveryReports, page by page), oldest first."""
    out: list[pb.DeliveryReport] = []
    token = ""
    while len(out) < limit:
        page = await stub.ListDeliveryReports(
            pb.ListDeliveryReportsRequest(filter=filter, page_size=1000, page_token=token),
            timeout=10,
        )
        out.extend(page.reports)
        token = page.next_page_token
        if not token:
            break
    return out
