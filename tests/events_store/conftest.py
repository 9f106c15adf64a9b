"""Fixtures for the event-store tests.

`harness` is parametrised over the store backends: the contract tests in
test_events_store_contract.py run against each of them. Both backends (SQLite, and Redis on
a real redis-server) run the whole contract.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smsgateway.backends import Backend
from smsgateway.backends import redis as redis_backend
from smsgateway.backends import sqlite as sqlite_backend
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
class StoreHarness:
    """Opens (and re-opens, on the same data) a store of one backend."""

    backend: str
    clock: FakeClock
    _open: Callable[[], Awaitable[Backend]]
    opened: list[Backend] = field(default_factory=list)

    async def open(self) -> Backend:
        store = await self._open()
        self.opened.append(store)
        return store


@pytest.fixture(params=["sqlite", "redis"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreHarness]:
    clock = FakeClock()
    backend = str(request.param)
    prefix = f"t{uuid.uuid4().hex[:12]}"

    async def open_store() -> Backend:
        if backend == "redis":
            server: RedisServer = request.getfixturevalue("redis_server")
            return await redis_backend.open_backend(
                redis_backend.RedisOptions(
                    settings=redis_backend.RedisSettings(url=server.url, key_prefix=prefix)
                ),
                clock=clock,
            )
        return await sqlite_backend.open_backend(
            sqlite_backend.SqliteOptions(data_dir=tmp_path / "data"), clock=clock
        )

    h = StoreHarness(backend, clock, open_store)
    yield h
    for store in h.opened:
        await store.close()


@pytest.fixture
async def store(harness: StoreHarness) -> Backend:
    return await harness.open()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Backend]:
    """The SQLite backend alone, on a fresh data directory (for what only SQLite does)."""
    backend = await sqlite_backend.open_backend(sqlite_backend.SqliteOptions(data_dir=tmp_path))
    try:
        yield backend
    finally:
        await backend.close()
