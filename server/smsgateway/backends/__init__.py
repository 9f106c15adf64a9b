"""Storage backends. Each subpackage implements every port and returns a `Backend`.

* `sqlite`: the embedded default, one process (files under `SMSGW_DATA_DIR`).
* `redis`: shared state for many replicas (`SMSGW_REDIS_URL`).

Only `app.py` imports a backend; every other module depends on the ports
(`events.ports`, `sending.ports`, `upstream.ports`, `leadership`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from smsgateway.events.ports import ConsumerGroups, DeadLetters, EventFeed, EventLog
from smsgateway.leadership import LeaseStore
from smsgateway.security.ports import LimitStore
from smsgateway.sending.ports import IdempotencyStore, SendLog, Suppressions
from smsgateway.upstream.ports import TokenStore


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What the backend reports about itself at start (logged and exported as metrics)."""

    name: str
    """"sqlite" or "redis"."""
    shared: bool
    """True when several replicas may share it."""
    durability: dict[str, str] = field(default_factory=dict)
    """Persistence settings as read from the store (e.g. appendonly, appendfsync)."""


@dataclass(frozen=True, slots=True)
class Backend:
    """Every storage port, from one backend, plus its lifecycle and health."""

    info: BackendInfo
    events: EventLog
    feed: EventFeed
    groups: ConsumerGroups
    dead_letters: DeadLetters
    send_log: SendLog
    suppressions: Suppressions
    idempotency: IdempotencyStore
    tokens: TokenStore
    leases: LeaseStore
    limits: LimitStore
    """Rate limits, quotas and per-number windows (shared across replicas on Redis)."""
    check: Callable[[], Awaitable[None]]
    """Raises `StoreUnavailableError` (with a clear message) when the store is unusable."""
    close: Callable[[], Awaitable[None]]
    """Release every resource."""
