"""The `LimitStore` contract, run on both backends (SQLite in-process, a real redis-server).

Time is the charge's `now`, so the tests drive the clock; "replicas" on Redis are
stores with clients of their own sharing one key prefix.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from smsgateway.backends.redis.connection import RedisSettings, connect
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.backends.redis.limits import RedisLimitStore
from smsgateway.backends.sqlite.limits import SqliteLimitStore
from smsgateway.security.ports import Bucket, Charge, LimitStore, Window
from testkit.redis_server import RedisServer

T0 = 1_750_000_000.0
WINDOWS = (Window(1, 60.0), Window(5, 3600.0), Window(10, 86400.0))
A, B, C = "13800000001", "13800000002", "13800000003"

MakeStore = Callable[[], LimitStore]


@pytest.fixture(params=["sqlite", "redis"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeStore]:
    """Makes stores sharing one state (one file / one Redis prefix): replicas."""
    closers: list[Callable[[], object]] = []
    if request.param == "sqlite":
        store = SqliteLimitStore(tmp_path / "limits.db")
        await store.open(T0)
        closers.append(store.close)

        def make() -> LimitStore:
            return store  # one process owns the state: every "replica" is the same store

    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        prefix: str = request.getfixturevalue("redis_prefix")

        def make() -> LimitStore:
            client = connect(RedisSettings(url=server.url, key_prefix=prefix))
            closers.append(client.aclose)
            return RedisLimitStore(client, RedisKeys(prefix))

    yield make
    for close in reversed(closers):
        await close()  # type: ignore[misc]


def charge(now: float, **fields: object) -> Charge:
    values: dict[str, object] = {"now": now, "ticket": uuid.uuid4().hex, "recipients": 1}
    values.update(fields)
    return Charge(**values)  # type: ignore[arg-type]


def rate(per_second: float, burst: float | None = None) -> dict[str, object]:
    return {"bucket_key": "rate:c", "bucket": Bucket(per_second, burst or max(1, per_second))}


def quota(limit: int, key: str = "quota:c:2025-06-15", ttl: float = 3600.0) -> dict[str, object]:
    return {"quota_key": key, "quota": limit, "quota_ttl_seconds": ttl}


def guard(*numbers: str) -> dict[str, object]:
    return {"guarded_numbers": numbers, "windows": WINDOWS, "recipients": len(numbers)}


async def test_bucket_admits_a_burst_then_refuses_until_it_refills(make_store: MakeStore) -> None:
    store = make_store()
    verdicts = [await store.admit(charge(T0, **rate(2))) for _ in range(3)]
    assert [v.refused for v in verdicts] == ["", "", "rate_limit"]
    assert verdicts[2].retry_after == pytest.approx(0.5, abs=0.01)
    assert (await store.admit(charge(T0 + 0.25, **rate(2)))).refused == "rate_limit"
    assert (await store.admit(charge(T0 + 0.5, **rate(2)))).refused == ""


async def test_quota_counts_recipients_and_refuses_whole_sends(make_store: MakeStore) -> None:
    store = make_store()
    first = await store.admit(charge(T0, recipients=3, **quota(5)))
    assert (first.refused, first.admitted, first.quota_used) == ("", 3, 3)
    over = await store.admit(charge(T0, recipients=3, **quota(5)))
    assert over.refused == "daily_quota" and over.retry_after == pytest.approx(3600.0)
    assert over.quota_used == 3  # nothing consumed
    fits = await store.admit(charge(T0, recipients=2, **quota(5)))
    assert (fits.refused, fits.quota_used) == ("", 5)
    # The next day is another counter.
    tomorrow = await store.admit(charge(T0 + 3600, recipients=5, **quota(5, "quota:c:2025-06-16")))
    assert tomorrow.refused == ""


async def test_per_number_windows_leave_out_only_the_limited_numbers(
    make_store: MakeStore,
) -> None:
    store = make_store()
    assert (await store.admit(charge(T0, **guard(A)))).limited_numbers == {}
    mixed = await store.admit(charge(T0 + 10, **guard(A, B)))
    assert mixed.refused == ""
    assert mixed.limited_numbers == {A: pytest.approx(50.0)}
    assert mixed.admitted == 1
    # 1 per 60 s, then 5 per hour.
    now = T0
    for i in range(1, 5):
        now = T0 + 61 * i
        assert (await store.admit(charge(now, **guard(A)))).limited_numbers == {}, i
    sixth = await store.admit(charge(now + 61, **guard(A)))
    assert sixth.refused == "per_number"
    assert sixth.retry_after == pytest.approx(T0 + 3600 - (now + 61), abs=0.01)
    assert sixth.limited_numbers == {A: pytest.approx(sixth.retry_after)}
    # An hour after the first, the number may receive again.
    assert (await store.admit(charge(T0 + 3600.5, **guard(A)))).limited_numbers == {}


async def test_ten_per_day(make_store: MakeStore) -> None:
    store = make_store()
    hours = [T0 + 3601 * i for i in range(10)]
    for at in hours:
        for _ in range(1):
            assert (await store.admit(charge(at, **guard(C)))).refused == ""
    late = await store.admit(charge(hours[-1] + 3601, **guard(C)))
    assert late.refused == "per_number"
    assert late.retry_after == pytest.approx(T0 + 86400 - (hours[-1] + 3601), abs=0.01)


async def test_a_refusal_consumes_nothing(make_store: MakeStore) -> None:
    store = make_store()
    await store.admit(charge(T0, **guard(A)))
    # Every number limited: refused, and neither the bucket nor the quota was touched.
    refused = await store.admit(charge(T0 + 1, **rate(1), **quota(1), **guard(A)))
    assert refused.refused == "per_number"
    ok = await store.admit(charge(T0 + 1, **rate(1), **quota(1), **guard(B)))
    assert (ok.refused, ok.quota_used) == ("", 1)
    # Over the quota: the bucket keeps its token, the number is not recorded.
    over = await store.admit(charge(T0 + 2, **rate(1), **quota(1), **guard(C)))
    assert over.refused == "daily_quota"
    assert (await store.admit(charge(T0 + 2, **rate(1)))).refused == ""
    assert (await store.admit(charge(T0 + 2, **guard(C)))).limited_numbers == {}


async def test_refund_gives_back_what_an_admission_took(make_store: MakeStore) -> None:
    store = make_store()
    taken = charge(T0, **rate(1), **quota(2), **guard(A, B))
    verdict = await store.admit(taken)
    assert (verdict.refused, verdict.admitted) == ("", 2)
    await store.refund(taken, verdict)
    again = await store.admit(charge(T0, **rate(1), **quota(2), **guard(A, B)))
    assert (again.refused, again.limited_numbers, again.quota_used) == ("", {}, 2)


async def test_reserve_spaces_provider_calls_after_a_burst(make_store: MakeStore) -> None:
    store = make_store()
    waits = [await store.reserve("provider:app", T0, 10, 2, 60) for _ in range(4)]
    assert waits == [0.0, 0.0, pytest.approx(0.1), pytest.approx(0.2)]
    # A wait beyond max_wait is refused and reserves nothing.
    assert await store.reserve("provider:app", T0, 10, 2, 0.05) is None
    assert await store.reserve("provider:app", T0, 10, 2, 60) == pytest.approx(0.3)
    # Idle time refills the burst.
    assert await store.reserve("provider:app", T0 + 10, 10, 2, 60) == 0.0


async def test_limits_hold_across_replicas_under_concurrency(make_store: MakeStore) -> None:
    replicas = [make_store() for _ in range(3)]
    charges = [charge(T0, **quota(20), recipients=1) for _ in range(60)]
    verdicts = await asyncio.gather(*(replicas[i % 3].admit(c) for i, c in enumerate(charges)))
    assert sum(1 for v in verdicts if not v.refused) == 20
    numbers = await asyncio.gather(
        *(replicas[i % 3].admit(charge(T0, **guard(A))) for i in range(9))
    )
    assert sum(1 for v in numbers if not v.refused) == 1
    waits = await asyncio.gather(
        *(replicas[i % 3].reserve("provider:x", T0, 5, 1, 100) for i in range(10))
    )
    assert sorted(w for w in waits if w is not None) == pytest.approx([i * 0.2 for i in range(10)])


async def test_sqlite_keeps_quotas_and_numbers_across_a_restart(tmp_path: Path) -> None:
    store = SqliteLimitStore(tmp_path / "limits.db")
    await store.open(T0)
    await store.admit(charge(T0, recipients=4, **quota(5)))
    await store.admit(charge(T0, **guard(A)))
    await store.close()

    reopened = SqliteLimitStore(tmp_path / "limits.db")
    await reopened.open(T0 + 5)
    try:
        assert (await reopened.admit(charge(T0 + 5, recipients=2, **quota(5)))).refused == (
            "daily_quota"
        )
        assert (await reopened.admit(charge(T0 + 5, **guard(A)))).refused == "per_number"
    finally:
        await reopened.close()
    # Expired records are not loaded.
    later = SqliteLimitStore(tmp_path / "limits.db")
    await later.open(T0 + 86400 * 2)
    try:
        assert (await later.admit(charge(T0 + 86400 * 2, **guard(A)))).refused == ""
    finally:
        await later.close()
