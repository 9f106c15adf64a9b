"""Typed settings, read from `SMSGW_*` environment variables and validated once at start.

Every problem is collected and reported together, naming the variable, so an
operator fixes a bad deployment in one round (`config_env.py` reads them).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from smsgateway.security.ports import Window
from smsgateway.security.windows import DEFAULT_VERIFICATION_WINDOWS

DEFAULT_OPT_OUT_KEYWORDS = frozenset({"T", "TD", "N", "退订", "退"})
SECRET_MAX = 256
"""The longest provider secret accepted (the provider issues them; its table is not a bound)."""


def is_loopback_host(host: str) -> bool:
    """True when a listen address is reachable from this machine only (127/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def unprotected_push_problem(settings: Settings) -> str | None:
    """Why these settings must not start: push endpoints beyond loopback that anyone may
    use (no callback token, no allowlist, not explicitly allowed); None when fine."""
    if (
        is_loopback_host(settings.bind_host)
        or settings.callback_token
        or settings.callback_allowed_networks
        or settings.allow_unauthenticated_push
    ):
        return None
    return (
        f"SMSGW_BIND_HOST={settings.bind_host!r} exposes the push endpoints (port "
        f"{settings.http_port}) beyond this machine, but neither SMSGW_CALLBACK_TOKEN nor "
        "SMSGW_CALLBACK_ALLOWED_NETWORKS protects them: anyone reaching the port could forge "
        "delivery reports and opt-outs. Set one of them, bind to 127.0.0.1, or set "
        "SMSGW_ALLOW_UNAUTHENTICATED_PUSH=true"
    )


class ConfigError(Exception):
    """One or more settings are invalid; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    """Everything the process can be told from outside."""

    upstream_url: str | None = None
    """SMSGW_UPSTREAM_URL: the provider's base URL. Unset: an in-process sandbox (demo, tests)."""
    app_id: str = ""
    """SMSGW_APP_ID: the provider application id (≤ 10 chars). Required with an upstream URL."""
    secret: str = field(default="", repr=False)
    """SMSGW_SECRET: the provider application secret (as the provider issued it, ≤ 256
    chars). Never logged."""
    bind_host: str = "127.0.0.1"
    """SMSGW_BIND_HOST: the address every listener binds to. Loopback by default; any other
    address needs SMSGW_CALLERS_FILE (or SMSGW_ALLOW_UNAUTHENTICATED=true)."""
    grpc_port: int = 50051
    """SMSGW_GRPC_PORT: the gRPC API (0 picks a free port)."""
    http_port: int = 8080
    """SMSGW_HTTP_PORT: the provider's push callbacks and /healthz."""
    metrics_port: int = 9090
    """SMSGW_METRICS_PORT: Prometheus /metrics."""
    sandbox_port: int = 8090
    """SMSGW_SANDBOX_PORT: the in-process sandbox, when no upstream URL is set."""
    data_dir: Path = Path("data")
    """SMSGW_DATA_DIR: where the embedded SQLite databases live."""
    log_level: str = "INFO"
    """SMSGW_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR."""
    redis_url: str | None = field(default=None, repr=False)
    """SMSGW_REDIS_URL: the shared store for many replicas (`redis://` or `rediss://` for TLS,
    optionally `user:password@`); unset: the embedded SQLite store. Never shown (it may hold
    a password)."""
    redis_password_file: Path | None = None
    """SMSGW_REDIS_PASSWORD_FILE: a file holding the Redis password (overrides the URL's)."""
    redis_key_prefix: str = "smsgw"
    """SMSGW_REDIS_KEY_PREFIX: the prefix of every key, so several gateways can share a Redis."""
    redis_wait_replicas: int = 0
    """SMSGW_REDIS_WAIT_REPLICAS: Redis replicas that must acknowledge a write before a push
    is answered (`WAIT`); 0: the primary's acknowledgment suffices."""
    redis_tls_ca_file: Path | None = None
    """SMSGW_REDIS_TLS_CA_FILE: the CA bundle that verifies a `rediss://` server."""
    shutdown_grace_seconds: float = 20.0
    """SMSGW_SHUTDOWN_GRACE_SECONDS: how long in-flight calls may finish after SIGTERM."""
    max_concurrent_calls: int = 8
    """SMSGW_MAX_CONCURRENT_CALLS: provider calls one send runs at once."""
    idempotency_ttl_seconds: float = 86400.0
    """SMSGW_IDEMPOTENCY_TTL_SECONDS: how long a request_id is remembered."""
    upstream_timeout_seconds: float = 10.0
    """SMSGW_UPSTREAM_TIMEOUT_SECONDS: provider call timeout when the caller set no deadline."""
    token_refresh_margin_seconds: float = 300.0
    """SMSGW_TOKEN_REFRESH_MARGIN_SECONDS: refresh the token this long before it expires."""
    token_rejected_codes: frozenset[str] = frozenset({"40001"})
    """SMSGW_TOKEN_REJECTED_CODES: codes meaning "token rejected" (HTTP 401/403 always do)."""
    provider_utc_offset_hours: float = 8.0
    """SMSGW_PROVIDER_UTC_OFFSET_HOURS: zone of the provider timestamps (China Standard Time)."""
    balance_refresh_seconds: float = 300.0
    """SMSGW_BALANCE_REFRESH_SECONDS: how often the balance metric is refreshed (0 disables)."""
    balance_alert_threshold: Decimal = Decimal("100")
    """SMSGW_BALANCE_ALERT_THRESHOLD: exported as a gauge; the low-balance alert fires below it."""
    report_callback_path: str = "/callbacks/delivery-reports"
    """SMSGW_REPORT_CALLBACK_PATH: where the provider pushes delivery reports."""
    uplink_callback_path: str = "/callbacks/uplinks"
    """SMSGW_UPLINK_CALLBACK_PATH: where the provider pushes uplinks."""
    callback_token: str | None = field(default=None, repr=False)
    """SMSGW_CALLBACK_TOKEN: a shared secret required as a last path segment or X-Callback-Token."""
    callback_allowed_networks: tuple[str, ...] = ()
    """SMSGW_CALLBACK_ALLOWED_NETWORKS: comma-separated CIDRs allowed to push (empty: any)."""
    max_push_bytes: int = 8 * 1024 * 1024
    """SMSGW_MAX_PUSH_BYTES: the largest push body accepted."""
    max_push_items: int = 10_000
    """SMSGW_MAX_PUSH_ITEMS: the most items one push may carry."""
    callback_trust_forwarded_for: bool = False
    """SMSGW_CALLBACK_TRUST_FORWARDED_FOR: check the allowlist against X-Forwarded-For (behind
    an ingress that sets it)."""
    allow_unauthenticated_push: bool = False
    """SMSGW_ALLOW_UNAUTHENTICATED_PUSH: accept pushes on a non-loopback SMSGW_BIND_HOST with
    neither SMSGW_CALLBACK_TOKEN nor SMSGW_CALLBACK_ALLOWED_NETWORKS (anyone reaching the
    port could forge reports and opt-outs); without it such a start is refused."""
    push_read_timeout_seconds: float = 10.0
    """SMSGW_PUSH_READ_TIMEOUT_SECONDS: a push body must arrive completely within this time,
    or the connection is closed; request headers and idle keep-alive connections get the same
    bound."""
    max_concurrent_pushes: int = 16
    """SMSGW_MAX_CONCURRENT_PUSHES: pushes read and ingested at once (both endpoints); the
    next waits up to 1 s for a turn, then gets 503 (the provider retries)."""
    push_lenient_max_bytes: int = 1024 * 1024
    """SMSGW_PUSH_LENIENT_MAX_BYTES: the largest non-strict-JSON push body the lenient parser
    repairs (off the event loop); larger ones are kept as a dead letter and answered 400.
    0 turns the lenient parser off."""
    dead_letter_max_count: int = 10_000
    """SMSGW_DEAD_LETTER_MAX_COUNT: dead letters kept at most (oldest dropped first, counted)."""
    dead_letter_max_bytes: int = 64 * 1024 * 1024
    """SMSGW_DEAD_LETTER_MAX_BYTES: bytes of dead-letter bodies kept at most (oldest dropped
    first); each dead letter keeps at most its first 64 KiB plus the original length."""
    poll_enabled: bool = False
    """SMSGW_POLL_ENABLED: also pull reports and uplinks from the provider."""
    poll_interval_seconds: float = 10.0
    """SMSGW_POLL_INTERVAL_SECONDS: time between two pulls."""
    poll_sign: str | None = None
    """SMSGW_POLL_SIGN: the sign to pull for (the provider requires one for uplinks)."""
    retention_days: float = 7.0
    """SMSGW_RETENTION_DAYS: how long events are kept."""
    retention_max_events: int = 5_000_000
    """SMSGW_RETENTION_MAX_EVENTS: the most events kept per stream."""
    max_consumer_groups: int = 1000
    """SMSGW_MAX_CONSUMER_GROUPS: consumer groups allowed (both streams); more get
    RESOURCE_EXHAUSTED."""
    consumer_group_idle_days: float = 7.0
    """SMSGW_CONSUMER_GROUP_IDLE_DAYS: a group nobody used for this long is deleted."""
    leader_lease_seconds: float = 10.0
    """SMSGW_LEADER_LEASE_SECONDS: the lease under which one replica runs the poller, the
    balance refresher and retention; another takes over within two lease periods."""
    store_check_seconds: float = 5.0
    """SMSGW_STORE_CHECK_SECONDS: how often the store's health is checked (health follows it)."""
    opt_out_keywords: frozenset[str] = DEFAULT_OPT_OUT_KEYWORDS
    """SMSGW_OPT_OUT_KEYWORDS: comma-separated uplink texts that unsubscribe from marketing."""
    instrumentation: bool = True
    """SMSGW_INSTRUMENTATION: per-RPC metrics and spans (off only to measure their cost)."""
    callers_file: Path | None = None
    """SMSGW_CALLERS_FILE: the YAML file of callers (key digests, permissions, signs, limits);
    reloaded when it changes or on SIGHUP. Unset: no keys, loopback only."""
    allow_unauthenticated: bool = False
    """SMSGW_ALLOW_UNAUTHENTICATED: serve beyond loopback without a callers file (anyone who
    reaches the port may send); a warning at start and `smsgateway_unauthenticated_mode`."""
    tls_cert_file: Path | None = None
    """SMSGW_TLS_CERT_FILE: PEM certificate chain of the gRPC port (with SMSGW_TLS_KEY_FILE);
    reloaded when it changes. Unset: plaintext gRPC."""
    tls_key_file: Path | None = field(default=None, repr=False)
    """SMSGW_TLS_KEY_FILE: PEM private key of SMSGW_TLS_CERT_FILE."""
    tls_client_ca_file: Path | None = None
    """SMSGW_TLS_CLIENT_CA_FILE: PEM CA bundle; when set, gRPC clients must present a
    certificate it signed (mTLS)."""
    verification_code_limits: tuple[Window, ...] = DEFAULT_VERIFICATION_WINDOWS
    """SMSGW_VERIFICATION_CODE_LIMITS: verification codes one phone number may receive, as
    COUNT/DURATION windows (default `1/60s,5/1h,10/1d`; `off` disables the guard)."""
    provider_max_sends_per_second: float = 0.0
    """SMSGW_PROVIDER_MAX_SENDS_PER_SECOND: ceiling of provider send calls per second for the
    account, shared by every replica, so the gateway never trips the provider's own limit
    ("超频"); 0: no ceiling."""

    @property
    def uses_sandbox(self) -> bool:
        """True when the process runs against its own in-process sandbox."""
        return self.upstream_url is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise `ConfigError` listing all problems."""
        from smsgateway.config_env import EnvReader  # (it builds Settings: imported late)

        return EnvReader(os.environ if env is None else env).settings()
