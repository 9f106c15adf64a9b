"""The shared backend: every port on one Redis, for many replicas (`SMSGW_REDIS_URL`).

Keys live under `SMSGW_REDIS_KEY_PREFIX`, one hash tag per aggregate (`keys.py`),
so each aggregate sits in one Cluster slot and its atomic steps are Lua scripts.

* `connection.py`: settings, the client (hiredis, timeouts, reconnect with
  backoff), persistence settings, `WAIT` for replicas, Lua script runner.
* `errors.py`: Redis failures as `StoreUnavailableError` / `StoreFullError`.
* `idempotency.py`, `tokens.py`, `leases.py`: request_id records, the shared
  provider token, leader leases.
* `event_log.py`, `feed.py`, `groups.py`, `send_log.py`, `suppressions.py`,
  `dead_letters.py`: the event aggregate (Redis Streams).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from smsgateway.backends import Backend, BackendInfo
from smsgateway.backends.redis.connection import (
    RedisSettings,
    ReplicaWait,
    connect,
    ping,
    read_persistence,
    safe_url,
)
from smsgateway.backends.redis.dead_letters import RedisDeadLetters
from smsgateway.backends.redis.event_log import RedisEventLog
from smsgateway.backends.redis.feed import RedisEventFeed
from smsgateway.backends.redis.groups import RedisConsumerGroups
from smsgateway.backends.redis.idempotency import RedisIdempotencyStore
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.backends.redis.leases import RedisLeaseStore
from smsgateway.backends.redis.limits import RedisLimitStore
from smsgateway.backends.redis.send_log import RedisSendLog
from smsgateway.backends.redis.suppressions import RedisSuppressions
from smsgateway.backends.redis.tokens import RedisTokenStore

__all__ = ["RedisOptions", "RedisSettings", "open_backend"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RedisOptions:
    """How the shared backend is set up."""

    settings: RedisSettings
    """How to reach Redis (URL, password file, key prefix, timeouts, `WAIT`)."""
    idempotency_ttl_seconds: float = 24 * 3600
    """How long a request_id is remembered."""
    max_groups: int = 1000
    """Consumer groups allowed, both streams together."""
    dead_letter_max_count: int = 10_000
    """Dead letters kept at most (oldest dropped first)."""
    dead_letter_max_bytes: int = 64 * 1024 * 1024
    """Bytes of dead-letter bodies kept at most (oldest dropped first)."""
    dead_letter_max_body_bytes: int = 64 * 1024
    """Bytes kept of one dead letter's body (its full length is recorded too)."""


async def open_backend(options: RedisOptions, *, clock: Callable[[], float] = time.time) -> Backend:
    """Connect, read the server's persistence settings, and return every port on Redis.

    Raises `StoreUnavailableError` (naming the server, never the password) when
    Redis does not answer or refuses the credentials: a replica does not start
    without its shared state. `close` releases every connection.
    """
    settings = options.settings
    client = connect(settings)
    try:
        await ping(client, settings)
        durability = await read_persistence(client)
    except BaseException:
        await client.aclose()
        raise
    durability["wait_replicas"] = str(settings.wait_replicas)
    log.info(
        "Redis at %s: appendonly=%s appendfsync=%s wait_replicas=%d",
        safe_url(settings.url),
        durability["appendonly"],
        durability["appendfsync"],
        settings.wait_replicas,
    )
    if durability["appendonly"] == "no":
        log.warning(
            "Redis runs without AOF: a Redis restart loses acknowledged pushes and sends' "
            "records (set appendonly yes, appendfsync always or everysec)"
        )
    keys = RedisKeys(settings.key_prefix)
    wait = ReplicaWait.of(settings)
    idempotency = RedisIdempotencyStore(
        client, keys, ttl_seconds=options.idempotency_ttl_seconds, clock=clock, wait=wait
    )
    await idempotency.open()
    # Pushes wait for the replicas (`wait`); the feed skips what this replica appended.
    events = RedisEventLog(client, keys, clock, wait=wait)

    async def check() -> None:
        await ping(client, settings)

    async def close() -> None:
        try:
            await idempotency.close()
        finally:
            await client.aclose()

    return Backend(
        info=BackendInfo(name="redis", shared=True, durability=durability),
        events=events,
        feed=RedisEventFeed(client, keys, origin=events.origin),
        groups=RedisConsumerGroups(client, keys, clock, max_groups=options.max_groups),
        dead_letters=RedisDeadLetters(
            client,
            keys,
            clock,
            max_count=options.dead_letter_max_count,
            max_bytes=options.dead_letter_max_bytes,
            max_body_bytes=options.dead_letter_max_body_bytes,
        ),
        send_log=RedisSendLog(client, keys),
        suppressions=RedisSuppressions(client, keys, clock),
        idempotency=idempotency,
        tokens=RedisTokenStore(client, keys),
        leases=RedisLeaseStore(client, keys),
        limits=RedisLimitStore(client, keys),
        check=check,
        close=close,
    )
