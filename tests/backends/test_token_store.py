"""TokenStore contract (Redis and in-memory) and TokenCache's single flight across replicas.

A "replica" is a TokenCache with its own Redis client, as separate processes have.
The provider is a counting fetch function: these tests count fetches, not HTTP.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio

from smsgateway.backends.redis.connection import RedisSettings, connect
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.backends.redis.tokens import RedisTokenStore
from smsgateway.backends.sqlite.tokens import LocalTokenStore
from smsgateway.store_errors import StoreUnavailableError
from smsgateway.upstream.errors import TokenUnavailableError
from smsgateway.upstream.models import Token
from smsgateway.upstream.ports import TokenStore
from smsgateway.upstream.token import TokenCache
from testkit.redis_server import RedisServer

MakeStore = Callable[[], TokenStore]


@pytest.fixture
async def clients(redis_server: RedisServer) -> AsyncIterator[list[redis.asyncio.Redis]]:
    """Redis clients the test opens through `new_client`; all closed afterwards."""
    opened: list[redis.asyncio.Redis] = []
    yield opened
    for client in opened:
        await client.aclose()


@pytest.fixture(params=["redis", "local"])
def make_store(
    request: pytest.FixtureRequest,
    redis_prefix: str,
) -> MakeStore:
    """A new view of one shared store (a new client each time, for Redis)."""
    if request.param == "local":
        local = LocalTokenStore()
        return lambda: local
    server: RedisServer = request.getfixturevalue("redis_server")
    opened: list[redis.asyncio.Redis] = request.getfixturevalue("clients")

    def make() -> TokenStore:
        client = connect(RedisSettings(url=server.url))
        opened.append(client)
        return RedisTokenStore(client, RedisKeys(redis_prefix))

    return make


async def test_a_saved_token_is_shared_until_its_ttl(make_store: MakeStore) -> None:
    a, b = make_store(), make_store()
    assert await a.load() is None
    await a.save("tok-1", 0.3)
    found = await b.load()
    assert found is not None and found[0] == "tok-1" and 0.2 < found[1] <= 0.3
    await asyncio.sleep(0.35)
    assert await b.load() is None
    await a.save("tok-2", 0)  # already expired: not kept
    assert await b.load() is None


async def test_one_lock_holder_at_a_time_until_unlock_or_expiry(make_store: MakeStore) -> None:
    a, b = make_store(), make_store()
    lock = await a.try_lock(0.3)
    assert lock is not None
    assert await b.try_lock(0.3) is None
    await b.unlock("not-the-holder")  # a stale unlock frees nothing
    assert await b.try_lock(0.3) is None
    await a.unlock(lock)
    second = await b.try_lock(0.2)
    assert second is not None and second != lock
    await asyncio.sleep(0.25)  # the holder "died": its lock expires
    assert await a.try_lock(1) is not None


async def test_invalidate_only_removes_the_rejected_value(make_store: MakeStore) -> None:
    a, b = make_store(), make_store()
    await a.save("tok-1", 10)
    assert await b.invalidate("tok-1") is True
    assert await a.load() is None
    assert await b.invalidate("tok-1") is False
    await a.save("tok-2", 10)
    assert await b.invalidate("tok-1") is False  # already replaced: a late rejection
    found = await a.load()
    assert found is not None and found[0] == "tok-2"


class Provider:
    """Counts token fetches; each takes `delay` and lives `lifetime` seconds."""

    def __init__(self, lifetime: float = 7200.0, delay: float = 0.05) -> None:
        self.lifetime = lifetime
        self.delay = delay
        self.calls = 0

    def fetch_for(self) -> Callable[[], Awaitable[Token]]:
        async def fetch() -> Token:
            self.calls += 1
            n = self.calls
            await asyncio.sleep(self.delay)
            return Token(value=f"tok-{n}", expires_at=time.monotonic() + self.lifetime)

        return fetch


def replica(
    provider: Provider,
    store: TokenStore,
    *,
    refresh_margin_seconds: float = 300,
    fetch_timeout_seconds: float = 5,
    min_refresh_interval_seconds: float = 10,
) -> TokenCache:
    return TokenCache(
        provider.fetch_for(),
        store=store,
        refresh_margin_seconds=refresh_margin_seconds,
        fetch_timeout_seconds=fetch_timeout_seconds,
        min_refresh_interval_seconds=min_refresh_interval_seconds,
    )


async def test_many_cold_callers_on_many_replicas_cause_one_fetch(make_store: MakeStore) -> None:
    provider = Provider()
    caches = [replica(provider, make_store()) for _ in range(5)]
    tokens = await asyncio.wait_for(
        asyncio.gather(*(cache.get() for cache in caches for _ in range(200))), 10
    )
    assert set(tokens) == {"tok-1"}
    assert provider.calls == 1
    for cache in caches:  # each replica holds it locally now, with the shared expiry
        left = cache.seconds_until_expiry
        assert left is not None and 7190 < left <= 7200


async def test_a_rejection_on_one_replica_causes_one_refetch_for_all(make_store: MakeStore) -> None:
    provider = Provider()
    caches = [replica(provider, make_store()) for _ in range(4)]
    assert {await cache.get() for cache in caches} == {"tok-1"}
    # Every replica's next call is rejected with tok-1, at about the same time.
    for cache in caches:
        cache.invalidate("tok-1")
    tokens = await asyncio.wait_for(
        asyncio.gather(*(cache.get() for cache in caches for _ in range(50))), 10
    )
    assert set(tokens) == {"tok-2"}
    assert provider.calls == 2
    # A replica that sees the rejection late does not throw the new token away.
    caches[0].invalidate("tok-1")
    assert await caches[0].get() == "tok-2"
    assert provider.calls == 2


async def test_a_lock_holder_that_dies_is_replaced_when_its_lock_expires(
    make_store: MakeStore,
) -> None:
    provider = Provider()
    dead = await make_store().try_lock(0.4)  # taken, and never given back
    assert dead is not None
    caches = [replica(provider, make_store(), fetch_timeout_seconds=2) for _ in range(3)]
    started = time.monotonic()
    tokens = await asyncio.wait_for(
        asyncio.gather(*(c.get() for c in caches for _ in range(20))), 10
    )
    assert set(tokens) == {"tok-1"} and provider.calls == 1
    assert 0.35 < time.monotonic() - started < 1.5


async def test_waiting_for_a_stuck_fetch_is_bounded(make_store: MakeStore) -> None:
    assert await make_store().try_lock(30) is not None  # someone else fetching, forever
    cache = replica(Provider(), make_store(), fetch_timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(TokenUnavailableError, match="another replica"):
        await asyncio.wait_for(cache.get(), 5)
    assert time.monotonic() - started < 1.0


async def test_refresh_before_expiry_is_done_by_one_replica(make_store: MakeStore) -> None:
    # Inside the 2.5 s refresh margin 0.5 s after each fetch.
    provider = Provider(lifetime=3.0, delay=0.02)
    caches = [
        replica(provider, make_store(), refresh_margin_seconds=2.5, min_refresh_interval_seconds=0)
        for _ in range(3)
    ]
    assert {await c.get() for c in caches} == {"tok-1"}
    await asyncio.sleep(0.6)
    assert {await c.get() for c in caches} == {"tok-1"}  # still served while refreshing
    deadline = time.monotonic() + 2
    while {await c.get() for c in caches} != {"tok-2"}:
        assert time.monotonic() < deadline, "the replicas never got the refreshed token"
        await asyncio.sleep(0.01)
    assert provider.calls == 2


async def test_store_down_falls_back_to_a_fetch_per_replica(
    tmp_path: Path, redis_prefix: str
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    client = connect(RedisSettings(url=server.url, retries=0, socket_timeout_seconds=0.5))
    store = RedisTokenStore(client, RedisKeys(redis_prefix))
    try:
        server.kill()
        with pytest.raises(StoreUnavailableError, match="token read"):
            await store.load()
        provider = Provider()
        cache = replica(provider, store)
        assert await asyncio.wait_for(cache.get(), 10) == "tok-1"
        assert provider.calls == 1
    finally:
        await client.aclose()
        server.stop()
