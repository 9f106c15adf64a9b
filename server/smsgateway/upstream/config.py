"""Settings of the provider client."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class UpstreamConfig:
    """How to reach one provider account."""

    base_url: str
    """Scheme, host and optional path prefix, e.g. "http://openapi.gateway.paasw.com"."""
    app_id: str
    """The application id the provider assigned (`appId`, at most 10 characters)."""
    secret: str = field(repr=False)
    """The application secret (`secret`); never logged, never in a repr."""
    token_refresh_margin_seconds: float = 300.0
    """Fetch a new token this long before the current one expires."""
    token_rejected_codes: frozenset[str] = frozenset({"40001"})
    """Provider codes that mean "token not accepted" (HTTP 401/403 always do)."""
    connect_timeout_seconds: float = 3.0
    """Upper bound for opening a connection (within the call's deadline)."""
    request_timeout_seconds: float = 10.0
    """Whole-call timeout when the caller has no deadline; per attempt cap for reads."""
    max_attempts: int = 3
    """Attempts for reads that fail transiently and for sends that never left."""
    backoff_initial_seconds: float = 0.1
    """Backoff before the second attempt (jittered, doubled each further attempt)."""
    backoff_max_seconds: float = 2.0
    """Upper bound of one backoff sleep."""
    provider_utc_offset_hours: float = 8.0
    """Zone of the provider's "yyyy-MM-dd HH:mm:ss" times (China Standard Time)."""
    max_connections: int = 100
    """Connections to the provider at most (`new_pool`, `new_session`); callers beyond wait."""
    keepalive_timeout_seconds: float = 15.0
    """Close idle pooled connections after this long. Keep it below the provider's idle
    timeout: a send written to a connection the provider is closing has an unknown outcome."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("upstream base_url must be an http(s) URL with a host")
        if parts.query or parts.fragment:
            raise ValueError("upstream base_url must not carry a query or fragment")
        if not self.app_id:
            raise ValueError("upstream app_id is empty")
        if not self.secret:
            raise ValueError("upstream secret is empty")
        if self.max_attempts < 1:
            raise ValueError("upstream max_attempts must be at least 1")
        if self.max_connections < 1:
            raise ValueError("upstream max_connections must be at least 1")
        for name in (
            "connect_timeout_seconds",
            "request_timeout_seconds",
            "backoff_initial_seconds",
            "backoff_max_seconds",
            "keepalive_timeout_seconds",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"upstream {name} must be positive")
        if self.token_refresh_margin_seconds < 0:
            raise ValueError("upstream token_refresh_margin_seconds must not be negative")
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            raise ValueError("upstream backoff_max_seconds is below backoff_initial_seconds")
