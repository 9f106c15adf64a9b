"""The composition root: the one module that knows every part, and owns their lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace

from smsgateway import __version__
from smsgateway.api.events_api import EventsApi, EventStores
from smsgateway.api.reflection import reflection_pool
from smsgateway.api.servicer import SmsGatewayServicer
from smsgateway.backends import Backend
from smsgateway.backends import redis as redis_backend
from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.config import Settings
from smsgateway.events.hub import EventHub
from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import Retention, StoredEvent, StoredReport, StoredUplink, Stream
from smsgateway.events.optout import OptOutRules
from smsgateway.events.poller import Poller, PollerConfig
from smsgateway.events.webhooks import (
    WebhookConfig,
    build_webhook_app,
    parse_limits_from_settings,
)
from smsgateway.leadership import Leadership
from smsgateway.maintenance import Maintenance
from smsgateway.observability import metrics, metrics_server, upstream_metrics
from smsgateway.observability.balance import BalanceRefresher
from smsgateway.observability.grpc_interceptor import ObservabilityInterceptor
from smsgateway.sandbox import SandboxConfig, SandboxProvider
from smsgateway.security.setup import build_security
from smsgateway.sending.service import SendService
from smsgateway.store_monitor import StoreMonitor
from smsgateway.upstream.client import ProviderClient
from smsgateway.upstream.config import UpstreamConfig
from smsgateway.upstream.session import new_pool
from smsgateway.v1 import smsgateway_pb2, smsgateway_pb2_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = smsgateway_pb2.DESCRIPTOR.services_by_name["SmsGateway"].full_name


@dataclass(frozen=True, slots=True)
class BoundPorts:
    """The ports the listeners actually bound (differ from the settings when those are 0)."""

    grpc: int
    http: int
    metrics: int
    sandbox: int | None


class App:
    """Builds every part from `Settings`, starts them in order, stops them in reverse."""

    def __init__(self, settings: Settings, *, sandbox_config: SandboxConfig | None = None) -> None:
        self.settings = settings
        self._sandbox_config = sandbox_config
        self.sandbox: SandboxProvider | None = None
        self.ports: BoundPorts | None = None
        self._stack = contextlib.AsyncExitStack()
        self._health = health.aio.HealthServicer()
        self._tasks: list[asyncio.Task[None]] = []
        self.backend: Backend | None = None
        self._monitor: StoreMonitor | None = None
        self._serving = False

    async def start(self) -> BoundPorts:
        """Start everything; on failure, stop what was started and re-raise."""
        try:
            return await self._start()
        except BaseException:
            await self._stack.aclose()
            raise

    async def _start(self) -> BoundPorts:
        s = self.settings
        stack = self._stack
        s.data_dir.mkdir(parents=True, exist_ok=True)
        metrics.BUILD_INFO.info({"version": __version__})

        backend = await self._open_backend()
        stack.push_async_callback(backend.close)
        self.backend = backend
        for setting, value in backend.info.durability.items():
            metrics.STORE_PERSISTENCE.labels(backend.info.name, setting, value).set(1)
        log.info(
            "store opened",
            extra={"backend": backend.info.name, "persistence": backend.info.durability},
        )
        monitor = StoreMonitor(
            backend.check,
            self._set_serving,
            interval_seconds=s.store_check_seconds,
            on_result=lambda ok: _store_checked(backend.info.name, ok),
        )
        self._monitor = monitor
        # Listeners for pushes come first so that the sandbox can push to them.
        hub = EventHub()
        ingestor = Ingestor(
            backend.events,
            backend.dead_letters,
            on_stored=lambda stream, events: _on_stored(hub, stream, events),
            opt_out=OptOutRules(keywords=s.opt_out_keywords),
            utc_offset_hours=s.provider_utc_offset_hours,
            parse_limits=parse_limits_from_settings(s),
        )
        stack.callback(ingestor.close)
        webhooks = web.AppRunner(
            build_webhook_app(
                ingestor,
                WebhookConfig.from_settings(s),
                serving=lambda: self._serving,
            ),
            access_log=None,
        )
        await webhooks.setup()
        stack.push_async_callback(webhooks.cleanup)
        http_site = web.TCPSite(webhooks, s.bind_host, s.http_port)
        await http_site.start()
        http_port = _runner_port(webhooks)

        upstream_url, app_id, secret = s.upstream_url, s.app_id, s.secret
        sandbox_port: int | None = None
        if s.uses_sandbox:
            self.sandbox, upstream_url = await self._start_sandbox(http_port)
            stack.push_async_callback(self.sandbox.stop)
            sandbox_port = int(upstream_url.rsplit(":", 1)[1])
            app_id, secret = self.sandbox.config.app_id, self.sandbox.config.secret
        assert upstream_url is not None

        upstream_config = UpstreamConfig(
            base_url=upstream_url,
            app_id=app_id,
            secret=secret,
            token_refresh_margin_seconds=s.token_refresh_margin_seconds,
            token_rejected_codes=s.token_rejected_codes,
            request_timeout_seconds=s.upstream_timeout_seconds,
            provider_utc_offset_hours=s.provider_utc_offset_hours,
        )
        # One HTTP client (the lean keep-alive pool) for the whole process.
        session = new_pool(upstream_config)
        stack.push_async_callback(session.close)
        tracer_provider = _tracer_provider()
        client = ProviderClient(
            session,
            upstream_config,
            observer=upstream_metrics.MetricsUpstreamObserver(),
            token_store=backend.tokens,
            tracer_provider=tracer_provider,
        )
        stack.push_async_callback(client.close)
        upstream_metrics.bind_token_expiry(lambda: client.tokens.seconds_until_expiry)

        # Jobs that exactly one replica runs: the leader of the "singletons" lease.
        singletons: list[_Singleton] = []
        if s.poll_enabled:
            singletons.append(
                Poller(
                    client,
                    ingestor,
                    PollerConfig(
                        enabled=True, interval_seconds=s.poll_interval_seconds, sign=s.poll_sign
                    ),
                )
            )

        security = build_security(s, backend.limits, provider_account=app_id)
        await security.start()
        stack.push_async_callback(security.stop)
        sends = SendService(
            client,
            backend.idempotency,
            backend.send_log,
            backend.suppressions,
            max_concurrent_calls=s.max_concurrent_calls,
            limiter=security.limiter,
        )
        stack.push_async_callback(sends.close)
        events_api = EventsApi(
            EventStores(backend.events, backend.groups, backend.send_log, backend.suppressions),
            hub,
        )

        server = grpc.aio.server(
            interceptors=[
                *(
                    [ObservabilityInterceptor(tracer_provider=tracer_provider)]
                    if s.instrumentation
                    else []
                ),
                *security.interceptors,
            ],
            options=[
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
                *security.grpc_options,
            ],
        )
        smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(
            SmsGatewayServicer(sends, client, events_api), server
        )
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME),
            server,
            reflection_pool(),
        )
        grpc_port = security.add_port(server, f"{_grpc_host(s.bind_host)}:{s.grpc_port}")
        await server.start()

        async def stop_grpc() -> None:
            await self._set_serving(False)
            hub.close()
            await server.stop(s.shutdown_grace_seconds)

        stack.push_async_callback(stop_grpc)

        metrics_runner = await metrics_server.start_metrics_server(s.bind_host, s.metrics_port)
        stack.push_async_callback(metrics_runner.cleanup)
        metrics_port = _runner_port(metrics_runner)

        if s.balance_refresh_seconds > 0:

            async def fetch_balance() -> Decimal:
                return (await client.balance()).amount

            singletons.append(
                BalanceRefresher(
                    fetch_balance,
                    s.balance_refresh_seconds,
                    alert_threshold=s.balance_alert_threshold,
                )
            )
        leadership = self._leadership(backend, singletons)
        leadership.start()
        stack.push_async_callback(leadership.close)

        retention = Retention(
            max_age_seconds=s.retention_days * 86400, max_events=s.retention_max_events
        )
        maintenance = Maintenance(
            backend,
            hub,
            leadership,
            retention=retention,
            group_idle_seconds=s.consumer_group_idle_days * 86400,
        )
        self._spawn(maintenance.run())
        self._spawn(backend.feed.run(hub.notify))
        self._spawn(monitor.run())
        stack.push_async_callback(self._cancel_tasks)

        await self._set_serving(await monitor.check_once())
        self.ports = BoundPorts(grpc_port, http_port, metrics_port, sandbox_port)
        log.info(
            "smsgateway serving",
            extra={
                "grpc_port": grpc_port,
                "http_port": http_port,
                "metrics_port": metrics_port,
                "upstream": "sandbox" if s.uses_sandbox else "provider",
            },
        )
        return self.ports

    async def stop(self) -> None:
        """NOT_SERVING, drain in-flight calls (up to the grace period), stop every part."""
        await self._stack.aclose()

    async def _start_sandbox(self, http_port: int) -> tuple[SandboxProvider, str]:
        s = self.settings
        callbacks = f"http://127.0.0.1:{http_port}"
        token = f"/{s.callback_token}" if s.callback_token else ""
        config = self._sandbox_config or SandboxConfig(
            require_kind=None,
            report_delay_seconds=2.0,
            report_outcomes={"10000": 0.9, "4": 0.05, "9": 0.05},
        )
        sandbox = SandboxProvider(config)
        sandbox.configure(
            report_push_url=f"{callbacks}{s.report_callback_path}{token}",
            uplink_push_url=f"{callbacks}{s.uplink_callback_path}{token}",
        )
        # Loopback only: the sandbox's admin API has no authentication.
        url = await sandbox.start("127.0.0.1", s.sandbox_port)
        log.info("in-process sandbox provider started", extra={"url": url})
        return sandbox, url

    async def _set_serving(self, serving: bool) -> None:
        self._serving = serving
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", SERVICE_NAME):
            await self._health.set(name, status)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(coro))

    async def _cancel_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _open_backend(self) -> Backend:
        s = self.settings
        if s.redis_url is not None:
            return await redis_backend.open_backend(
                redis_backend.RedisOptions(
                    settings=redis_backend.RedisSettings(
                        url=s.redis_url,
                        password_file=s.redis_password_file,
                        key_prefix=s.redis_key_prefix,
                        wait_replicas=s.redis_wait_replicas,
                        tls_ca_file=s.redis_tls_ca_file,
                    ),
                    idempotency_ttl_seconds=s.idempotency_ttl_seconds,
                    max_groups=s.max_consumer_groups,
                    dead_letter_max_count=s.dead_letter_max_count,
                    dead_letter_max_bytes=s.dead_letter_max_bytes,
                )
            )
        return await sqlite_backend.open_backend(
            sqlite_backend.SqliteOptions(
                data_dir=s.data_dir,
                idempotency_ttl_seconds=s.idempotency_ttl_seconds,
                max_groups=s.max_consumer_groups,
                dead_letter_max_count=s.dead_letter_max_count,
                dead_letter_max_bytes=s.dead_letter_max_bytes,
            )
        )

    def _leadership(self, backend: Backend, singletons: Sequence[_Singleton]) -> Leadership:
        """The lease under which this replica runs the poller and the balance refresher."""

        async def start_jobs() -> None:
            log.info("leading: running the singleton jobs", extra={"holder": holder})
            metrics.LEADER.set(1)
            for job in singletons:
                job.start()

        async def stop_jobs() -> None:
            metrics.LEADER.set(0)
            for job in singletons:
                await job.stop()

        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        return Leadership(
            backend.leases,
            "singletons",
            holder,
            on_start=start_jobs,
            on_stop=stop_jobs,
            ttl_seconds=self.settings.leader_lease_seconds,
        )


def _on_stored(hub: EventHub, stream: Stream, events: Sequence[StoredEvent]) -> None:
    hub.notify(stream, events)
    for event in events:
        if isinstance(event, StoredReport):
            metrics.REPORTS.labels(
                event.source.value, metrics.report_status_label(event.report.provider_code)
            ).inc()
        elif isinstance(event, StoredUplink):
            metrics.UPLINKS.labels(event.source.value).inc()
            if event.opt_out:
                metrics.OPT_OUTS.inc()
    if events:
        metrics.LAST_REPORT.labels(stream.value).set(events[-1].receive_time.timestamp())


class _Singleton(Protocol):
    """A job only the leader runs."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


def _store_checked(backend: str, ok: bool) -> None:
    metrics.STORE_UP.labels(backend).set(1 if ok else 0)
    if not ok:
        metrics.STORE_CHECK_FAILURES.labels(backend).inc()


def _grpc_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _runner_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        return int(address[1])
    raise RuntimeError("an HTTP listener bound no address")


def _tracer_provider() -> trace.TracerProvider:
    """The provider tracing was configured with (the CLI does it before the App starts),
    or an explicit no-op one: handing it over saves a global lookup (with an environment
    read) per RPC and per provider call while tracing is off."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        return trace.NoOpTracerProvider()
    return provider
