"""`build_security`: everything the composition root installs for callers, limits and TLS.

```python
security = build_security(settings, backend.limits, provider_account=app_id)
await security.start()                        # stack.push_async_callback(security.stop)
server = grpc.aio.server(
    interceptors=[ObservabilityInterceptor(), *security.interceptors],
    options=[..., *security.grpc_options],
)
sends = SendService(..., limiter=security.limiter)
security.add_port(server, f"{host}:{port}")   # TLS when configured, else plaintext
```
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Final

from grpc import aio

from smsgateway.config import ConfigError, Settings, is_loopback_host
from smsgateway.observability import metrics
from smsgateway.security.callers import Caller
from smsgateway.security.interceptor import SecurityInterceptor
from smsgateway.security.limits import Limits, LimitsConfig
from smsgateway.security.ports import LimitStore
from smsgateway.security.registry import CallerRegistry
from smsgateway.security.tls import ReloadingCredentials, TlsFiles

log = logging.getLogger(__name__)

GRPC_OPTIONS: Final = (("grpc.so_reuseport", 0),)
"""A second process on the same port must fail to bind, not share the traffic."""


@dataclass
class Security:
    """The security parts of one gateway process."""

    interceptors: list[aio.ServerInterceptor]
    """Install after the observability interceptor (so it also counts the refusals)."""
    limiter: Limits
    """The `SendLimiter` for `SendService`."""
    registry: CallerRegistry | None
    """The callers in force; None without a callers file (every call is `anonymous`)."""
    credentials: ReloadingCredentials | None
    """TLS of the gRPC port; None: plaintext."""
    grpc_options: tuple[tuple[str, Any], ...] = GRPC_OPTIONS
    """Server options security needs (no SO_REUSEPORT)."""
    unauthenticated_beyond_loopback: bool = False
    _started: bool = field(default=False, repr=False)

    def add_port(self, server: aio.Server, address: str) -> int:
        """Bind the gRPC port (TLS when configured); raise OSError when it cannot bind."""
        try:
            if self.credentials is not None:
                port = server.add_secure_port(address, self.credentials.server_credentials())
            else:
                port = server.add_insecure_port(address)
        except RuntimeError:  # grpc's "Failed to bind to address"
            port = 0
        if port == 0:
            raise OSError(
                f"cannot bind the gRPC port {address}: in use by another process "
                "(is another gateway running?) or not an address of this machine"
            )
        return int(port)

    async def start(self) -> None:
        """Watch the callers file; announce an unauthenticated gateway loudly."""
        metrics.UNAUTHENTICATED_MODE.set(1 if self.unauthenticated_beyond_loopback else 0)
        if self.unauthenticated_beyond_loopback:
            log.warning(
                "serving WITHOUT authentication beyond loopback (SMSGW_ALLOW_UNAUTHENTICATED): "
                "anyone who reaches the gRPC port may send SMS, read every report and uplink "
                "and change suppressions; set SMSGW_CALLERS_FILE"
            )
        if self.registry is not None:
            self.registry.start()
        self._started = True

    async def stop(self) -> None:
        """Stop watching the callers file."""
        if self.registry is not None:
            await self.registry.stop()
        self._started = False


def build_security(
    settings: Settings, limit_store: LimitStore, *, provider_account: str = "default"
) -> Security:
    """Load the callers file and the TLS files (raise `ConfigError` naming every problem)
    and build the interceptor and the limiter on `limit_store`."""
    problems: list[str] = []
    registry: CallerRegistry | None = None
    if settings.callers_file is not None:
        registry = CallerRegistry(settings.callers_file)
        try:
            directory = registry.load()
        except ConfigError as exc:
            problems += exc.problems
        else:
            log.info(
                "callers loaded",
                extra={"callers_file": str(settings.callers_file), "callers": len(directory)},
            )
    credentials: ReloadingCredentials | None = None
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        try:
            credentials = ReloadingCredentials(
                TlsFiles(settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file)
            )
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)

    def lookup(name: str) -> Caller | None:
        return registry.directory.by_name(name) if registry is not None else None

    limiter = Limits(
        limit_store,
        lookup,
        LimitsConfig(
            verification_windows=settings.verification_code_limits,
            provider_calls_per_second=settings.provider_max_sends_per_second,
            provider_account=provider_account or "default",
            quota_utc_offset_hours=settings.provider_utc_offset_hours,
        ),
    )
    return Security(
        interceptors=[SecurityInterceptor(registry)],
        limiter=limiter,
        registry=registry,
        credentials=credentials,
        unauthenticated_beyond_loopback=registry is None
        and not is_loopback_host(settings.bind_host),
    )


def check_security(settings: Settings) -> None:
    """Validate the callers and TLS files (for `check-config`); raise `ConfigError`."""

    class _NoStore:
        async def admit(self, charge: Any) -> Any:
            raise NotImplementedError

        async def refund(self, charge: Any, verdict: Any) -> None:
            raise NotImplementedError

        async def reserve(self, *args: Any) -> float | None:
            raise NotImplementedError

        async def close(self) -> None:
            return None

    build_security(settings, _NoStore())


__all__ = ["GRPC_OPTIONS", "Security", "build_security", "check_security"]
