"""A gateway with security wired as `security.setup` prescribes, for the security tests.

It composes the real parts the way the composition root does — a real grpc.aio
server with the observability and security interceptors, the servicer, a real
backend (SQLite or Redis), the limits store of that backend, the sandbox
provider over HTTP — so the attacks and the auth matrix run end to end. Events
(reports, uplinks) are appended to the backend's event log directly, as the
ingestor would after a push.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from smsgateway.api.events_api import EventsApi, EventStores
from smsgateway.api.servicer import SmsGatewayServicer
from smsgateway.backends import Backend
from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.backends.sqlite.limits import SqliteLimitStore
from smsgateway.config import Settings
from smsgateway.events.hub import EventHub
from smsgateway.events.model import DeliveryReportIn, Source, Stream, UplinkIn
from smsgateway.observability.grpc_interceptor import ObservabilityInterceptor
from smsgateway.sandbox import SandboxConfig, SandboxProvider
from smsgateway.security.ports import LimitStore
from smsgateway.security.setup import Security, build_security
from smsgateway.sending.service import SendService
from smsgateway.upstream.client import ProviderClient
from smsgateway.upstream.config import UpstreamConfig
from smsgateway.upstream.session import new_session
from smsgateway.v1 import smsgateway_pb2, smsgateway_pb2_grpc

SERVICE = smsgateway_pb2.DESCRIPTOR.services_by_name["SmsGateway"].full_name


def bearer(key: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying `key` (none for None)."""
    return () if key is None else (("authorization", f"Bearer {key}"),)


@dataclass
class SecureGateway:
    """A running gateway (gRPC on loopback) and what tests need to drive it."""

    settings: Settings
    backend: Backend
    limits: LimitStore
    security: Security
    sandbox: SandboxProvider
    hub: EventHub
    server: grpc.aio.Server
    port: int
    sends: SendService
    _closers: list[Any] = field(default_factory=list)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stub(
        self, credentials: grpc.ChannelCredentials | None = None, **options: Any
    ) -> smsgateway_pb2_grpc.SmsGatewayStub:
        channel = (
            grpc.aio.secure_channel(self.target, credentials, options=list(options.items()))
            if credentials is not None
            else grpc.aio.insecure_channel(self.target)
        )
        self.channels.append(channel)
        return smsgateway_pb2_grpc.SmsGatewayStub(channel)

    async def add_reports(self, reports: Sequence[DeliveryReportIn]) -> None:
        """Store reports as a push would, and wake the streams."""
        result = await self.backend.events.append_reports(reports, Source.PUSH)
        self.hub.notify(Stream.REPORTS, result.stored)

    async def add_uplinks(self, uplinks: Sequence[UplinkIn]) -> None:
        """Store uplinks as a push would, and wake the streams."""
        result = await self.backend.events.append_uplinks(uplinks, Source.PUSH)
        self.hub.notify(Stream.UPLINKS, result.stored)

    async def stop(self) -> None:
        for channel in self.channels:
            await channel.close()
        self.hub.close()
        await self.server.stop(0.5)
        for close in reversed(self._closers):
            await close()


def report(biz_id: str, phone: str, code: str = "10000") -> DeliveryReportIn:
    now = datetime.now(UTC)
    return DeliveryReportIn(
        biz_id=biz_id,
        phone_number=phone,
        provider_code=code,
        success=code == "10000",
        message="ok",
        sms_size=1,
        send_time=now,
        report_time=now,
    )


def uplink(phone: str, sign: str, sequence_id: int, content: str = "hi") -> UplinkIn:
    return UplinkIn(
        phone_number=phone,
        content=content,
        sign=sign,
        sequence_id=sequence_id,
        send_time=datetime.now(UTC),
    )


async def start_secure_gateway(
    settings: Settings,
    *,
    backend: Backend | None = None,
    limits: LimitStore | None = None,
    sandbox_config: SandboxConfig | None = None,
    address: str = "127.0.0.1:0",
    tracer_provider: Any = None,
) -> SecureGateway:
    """Start a gateway; `backend`/`limits` default to SQLite files under `data_dir`."""
    closers: list[Any] = []
    try:
        return await _start(
            settings, backend, limits, sandbox_config, address, closers, tracer_provider
        )
    except BaseException:
        for close in reversed(closers):
            await close()
        raise


async def _start(
    settings: Settings,
    backend: Backend | None,
    limits: LimitStore | None,
    sandbox_config: SandboxConfig | None,
    address: str,
    closers: list[Any],
    tracer_provider: Any,
) -> SecureGateway:
    if backend is None:
        backend = await sqlite_backend.open_backend(
            sqlite_backend.SqliteOptions(data_dir=settings.data_dir)
        )
        closers.append(backend.close)
    if limits is None:
        sqlite_limits = SqliteLimitStore(settings.data_dir / "limits.db")
        await sqlite_limits.open()
        closers.append(sqlite_limits.close)
        limits = sqlite_limits
    sandbox = SandboxProvider(sandbox_config or SandboxConfig(report_delay_seconds=3600, seed=7))
    url = await sandbox.start("127.0.0.1", 0)
    closers.append(sandbox.stop)
    upstream = UpstreamConfig(
        base_url=url, app_id=sandbox.config.app_id, secret=sandbox.config.secret
    )
    session = new_session(upstream)
    closers.append(session.close)
    client = ProviderClient(session, upstream, token_store=backend.tokens)
    closers.append(client.close)
    security = build_security(settings, limits, provider_account=upstream.app_id)
    await security.start()
    closers.append(security.stop)
    sends = SendService(
        client,
        backend.idempotency,
        backend.send_log,
        backend.suppressions,
        max_concurrent_calls=settings.max_concurrent_calls,
        limiter=security.limiter,
    )
    closers.append(sends.close)
    hub = EventHub()
    events_api = EventsApi(
        EventStores(backend.events, backend.groups, backend.send_log, backend.suppressions), hub
    )
    server = grpc.aio.server(
        interceptors=[
            ObservabilityInterceptor(tracer_provider=tracer_provider),
            *security.interceptors,
        ],
        options=[*security.grpc_options],
    )
    smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(
        SmsGatewayServicer(sends, client, events_api), server
    )
    health_servicer = health.aio.HealthServicer()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    closers.append(lambda: server.stop(0))
    port = security.add_port(server, address)
    await server.start()
    return SecureGateway(
        settings=settings,
        backend=backend,
        limits=limits,
        security=security,
        sandbox=sandbox,
        hub=hub,
        server=server,
        port=port,
        sends=sends,
        _closers=closers,
    )


def secure_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings of a test gateway on loopback (`callers_file` etc. as overrides)."""
    values: dict[str, object] = {
        "bind_host": "127.0.0.1",
        "grpc_port": 0,
        "data_dir": data_dir,
        "max_concurrent_calls": 4,
    }
    values.update(overrides)
    data_dir.mkdir(parents=True, exist_ok=True)
    return dataclasses.replace(Settings(), **values)  # type: ignore[arg-type]
