"""Leases (Redis and in-memory) and the Leadership loop: one leader, takeover within two leases.

Each "replica" has its own Redis client. A replica "dies" by having its loop
cancelled without releasing the lease, so the others must wait for the expiry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio

from smsgateway.backends.redis.connection import RedisSettings, connect
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.backends.redis.leases import RedisLeaseStore
from smsgateway.backends.sqlite.leases import LocalLeaseStore
from smsgateway.leadership import Leadership, LeaseStore
from testkit.redis_server import RedisServer

TTL = 0.5


@pytest.fixture
async def new_store(
    redis_server: RedisServer, redis_prefix: str
) -> AsyncIterator[Callable[[], RedisLeaseStore]]:
    """Opens one more replica's view of the shared leases (its own client)."""
    clients: list[redis.asyncio.Redis] = []

    def make() -> RedisLeaseStore:
        client = connect(RedisSettings(url=redis_server.url))
        clients.append(client)
        return RedisLeaseStore(client, RedisKeys(redis_prefix))

    yield make
    for client in clients:
        await client.aclose()


async def test_one_holder_at_a_time_and_fencing_tokens_increase(
    new_store: Callable[[], RedisLeaseStore],
) -> None:
    a, b = new_store(), new_store()
    first = await a.acquire("poller", "a", TTL)
    assert first is not None
    assert await a.acquire("poller", "a", TTL) == first  # already ours: same token
    assert await b.acquire("poller", "b", TTL) is None
    assert await a.renew("poller", "a", first, TTL) is True
    assert await b.renew("poller", "b", first, TTL) is False
    await b.release("poller", "b", first)  # not b's to release
    assert await b.acquire("poller", "b", TTL) is None

    await asyncio.sleep(TTL + 0.1)  # a stops renewing: the lease expires
    second = await b.acquire("poller", "b", TTL)
    assert second is not None and second > first
    assert await a.renew("poller", "a", first, TTL) is False  # a's lease is gone
    await b.release("poller", "b", second)
    third = await a.acquire("poller", "a", TTL)  # released: free at once
    assert third is not None and third > second
    assert await a.acquire("balance", "b", TTL) is not None  # leases are independent


async def test_the_local_store_always_grants_with_increasing_tokens() -> None:
    store: LeaseStore = LocalLeaseStore()
    first = await store.acquire("poller", "a", TTL)
    assert first is not None and await store.acquire("poller", "a", TTL) == first
    assert await store.renew("poller", "a", first, TTL) is True
    second = await store.acquire("poller", "b", TTL)
    assert second is not None and second > first
    assert await store.renew("poller", "a", first, TTL) is False
    await store.release("poller", "b", second)
    third = await store.acquire("poller", "a", TTL)
    assert third is not None and third > second


class Replica:
    """One replica's Leadership with jobs that only record when they run."""

    def __init__(self, store: LeaseStore, holder: str) -> None:
        self.running = False
        self.starts = 0
        self.stops = 0
        self.leadership = Leadership(
            store, "poller", holder, on_start=self.start, on_stop=self.stop, ttl_seconds=TTL
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.running = True
        self.starts += 1

    async def stop(self) -> None:
        self.running = False
        self.stops += 1

    def run(self) -> None:
        self.task = asyncio.create_task(self.leadership.run())

    async def die(self) -> None:
        """The process ends: its loop stops, the lease is not released."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.wait([self.task])


async def wait_for_leader(replicas: list[Replica], within: float) -> Replica:
    deadline = time.monotonic() + within
    while True:
        leaders = [r for r in replicas if r.running]
        assert len(leaders) <= 1, "two leaders at once"
        if leaders:
            return leaders[0]
        assert time.monotonic() < deadline, f"no leader within {within} s"
        await asyncio.sleep(0.01)


async def watch_single_leader(replicas: list[Replica], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert sum(r.running for r in replicas) <= 1, "two leaders at once"
        await asyncio.sleep(0.01)


async def test_exactly_one_of_three_leads_and_a_dead_leader_is_replaced_within_two_leases(
    new_store: Callable[[], RedisLeaseStore],
) -> None:
    replicas = [Replica(new_store(), f"replica-{i}") for i in range(3)]
    for r in replicas:
        r.run()
    try:
        leader = await wait_for_leader(replicas, TTL)
        await watch_single_leader(replicas, 3 * TTL)  # renewals keep it; nobody else starts
        assert leader.running and leader.starts == 1
        assert all(r.starts == 0 for r in replicas if r is not leader)
        first_token = leader.leadership.token
        assert first_token is not None

        await leader.die()
        died = time.monotonic()
        survivors = [r for r in replicas if r is not leader]
        successor = await wait_for_leader(survivors, 2 * TTL)
        assert time.monotonic() - died < 2 * TTL
        assert successor.leadership.token is not None
        assert successor.leadership.token > first_token
        await watch_single_leader(survivors, 2 * TTL)
    finally:
        for r in replicas:
            await r.leadership.close()


async def test_close_releases_so_another_leads_at_once(
    new_store: Callable[[], RedisLeaseStore],
) -> None:
    replicas = [Replica(new_store(), f"replica-{i}") for i in range(2)]
    for r in replicas:
        r.leadership.start()
    try:
        leader = await wait_for_leader(replicas, TTL)
        closed = time.monotonic()
        await leader.leadership.close()
        assert not leader.running and leader.stops == 1
        other = next(r for r in replicas if r is not leader)
        await wait_for_leader([other], TTL)
        assert time.monotonic() - closed < TTL  # one retry interval, not a whole lease
    finally:
        for r in replicas:
            await r.leadership.close()


async def test_a_lost_lease_stops_the_jobs(
    new_store: Callable[[], RedisLeaseStore], redis_server: RedisServer, redis_prefix: str
) -> None:
    replica = Replica(new_store(), "replica-0")
    replica.leadership.start()
    try:
        await wait_for_leader([replica], TTL)
        # The lease is taken away behind the leader's back (e.g. a long pause of the process).
        admin = connect(RedisSettings(url=redis_server.url))
        await admin.delete(RedisKeys(redis_prefix).lease("poller"))
        assert await new_store().acquire("poller", "intruder", 5) is not None
        await admin.aclose()
        deadline = time.monotonic() + TTL
        while replica.running:
            assert time.monotonic() < deadline, "the jobs kept running without the lease"
            await asyncio.sleep(0.01)
        assert replica.stops == 1
    finally:
        await replica.leadership.close()


async def test_store_down_stops_the_jobs_before_the_lease_can_expire_then_recovers(
    tmp_path: Path, redis_prefix: str
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    client = connect(
        RedisSettings(
            url=server.url, retries=0, socket_timeout_seconds=0.1, connect_timeout_seconds=0.1
        )
    )
    replica = Replica(RedisLeaseStore(client, RedisKeys(redis_prefix)), "replica-0")
    replica.leadership.start()
    try:
        await wait_for_leader([replica], TTL)
        server.kill()
        down = time.monotonic()
        while replica.running:
            # Another replica could take over once the lease expired, TTL after the last renewal.
            assert time.monotonic() - down < TTL, "the jobs outlived the lease"
            await asyncio.sleep(0.01)
        server.start()
        await wait_for_leader([replica], 3 * TTL)
        assert replica.starts == 2
    finally:
        await replica.leadership.close()
        await client.aclose()
        server.stop()
