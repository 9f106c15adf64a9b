"""TEMPORARY: the event-aggregate contract (tests/events_store/test_events_store_contract.py)
run against the Redis classes.

The test functions are imported from the contract module itself, so this runs
exactly what SQLite runs; only the `harness` / `store` fixtures here differ: a
bundle of the Redis classes on a real redis-server (session fixture
`redis_server`), one key prefix per test. Delete this file once the contract
harness in tests/events_store is parametrised over ["sqlite", "redis"].
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from events_store.test_events_store_contract import *  # noqa: F403

from smsgateway.backends.redis.connection import Client, RedisSettings, connect
from smsgateway.backends.redis.dead_letters import RedisDeadLetters
from smsgateway.backends.redis.event_log import RedisEventLog
from smsgateway.backends.redis.feed import RedisEventFeed
from smsgateway.backends.redis.groups import RedisConsumerGroups
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.backends.redis.send_log import RedisSendLog
from smsgateway.backends.redis.suppressions import RedisSuppressions
from testkit.redis_server import RedisServer


class FakeClock:
    """A settable wall clock (seconds since the epoch)."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


@dataclass
class RedisEventBundle:
    """The event-aggregate ports of the Redis backend, as `Backend` names them."""

    client: Client
    events: RedisEventLog
    feed: RedisEventFeed
    groups: RedisConsumerGroups
    send_log: RedisSendLog
    suppressions: RedisSuppressions
    dead_letters: RedisDeadLetters

    async def close(self) -> None:
        await self.client.aclose()


def open_bundle(url: str, prefix: str, clock: FakeClock, **groups_args: int) -> RedisEventBundle:
    client = connect(RedisSettings(url=url))
    keys = RedisKeys(prefix)
    events = RedisEventLog(client, keys, clock)
    return RedisEventBundle(
        client=client,
        events=events,
        feed=RedisEventFeed(client, keys, origin=events.origin),
        groups=RedisConsumerGroups(client, keys, clock, **groups_args),
        send_log=RedisSendLog(client, keys),
        suppressions=RedisSuppressions(client, keys, clock),
        dead_letters=RedisDeadLetters(client, keys, clock),
    )


@dataclass
class RedisHarness:
    """Opens (and re-opens, on the same keys) the Redis classes."""

    url: str
    prefix: str
    backend: str = "redis"
    clock: FakeClock = field(default_factory=FakeClock)
    opened: list[RedisEventBundle] = field(default_factory=list)

    async def open(self) -> RedisEventBundle:
        bundle = open_bundle(self.url, self.prefix, self.clock)
        self.opened.append(bundle)
        return bundle


@pytest.fixture
async def harness(redis_server: RedisServer, redis_prefix: str) -> AsyncIterator[RedisHarness]:
    h = RedisHarness(redis_server.url, redis_prefix)
    yield h
    for bundle in h.opened:
        await bundle.close()


@pytest.fixture
async def store(harness: RedisHarness) -> RedisEventBundle:
    return await harness.open()
