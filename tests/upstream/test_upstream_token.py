"""TokenCache: single flight, early refresh, invalidation, failed fetches (fake fetch + clock)."""

from __future__ import annotations

import asyncio
import gc

import pytest

from smsgateway.upstream.errors import TokenUnavailableError
from smsgateway.upstream.models import Token
from smsgateway.upstream.token import TokenCache, current_fetch_reason


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingObserver:
    def __init__(self) -> None:
        self.fetches: list[tuple[str, str]] = []

    def request_finished(self, endpoint: str, outcome: str, seconds: float) -> None:
        pass

    def token_fetched(self, reason: str, result: str) -> None:
        self.fetches.append((reason, result))


class FakeFetch:
    """Hands out tok-1, tok-2, ...; each fetch waits until released (if gated)."""

    def __init__(self, clock: Clock, lifetime: float = 7200.0, *, gated: bool = False) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.reasons: list[str] = []
        self.gate = asyncio.Event()
        if not gated:
            self.gate.set()
        self.fail_with: Exception | None = None

    async def __call__(self) -> Token:
        self.calls += 1
        self.reasons.append(current_fetch_reason())
        await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return Token(value=f"tok-{self.calls}", expires_at=self.clock() + self.lifetime)


def make(fetch: FakeFetch, clock: Clock, observer: RecordingObserver | None = None) -> TokenCache:
    return TokenCache(fetch, refresh_margin_seconds=300, clock=clock, observer=observer)


async def test_a_thousand_callers_on_a_cold_cache_cause_one_fetch() -> None:
    clock = Clock()
    fetch = FakeFetch(clock, gated=True)
    observer = RecordingObserver()
    cache = make(fetch, clock, observer)
    waiters = [asyncio.create_task(cache.get()) for _ in range(1000)]
    await asyncio.sleep(0)
    fetch.gate.set()
    tokens = await asyncio.gather(*waiters)
    assert set(tokens) == {"tok-1"}
    assert fetch.calls == 1
    assert fetch.reasons == ["cold"]
    assert observer.fetches == [("cold", "success")]
    # Served from the cache afterwards.
    assert await cache.get() == "tok-1"
    assert fetch.calls == 1


async def test_refresh_within_margin_runs_once_in_background_and_keeps_serving() -> None:
    clock = Clock()
    fetch = FakeFetch(clock, lifetime=1000)
    cache = make(fetch, clock)
    assert await cache.get() == "tok-1"  # expires at 2000
    clock.now = 1699  # 301 s left: outside the margin
    assert await cache.get() == "tok-1"
    assert fetch.calls == 1

    fetch.gate.clear()
    clock.now = 1701  # 299 s left: refresh now, current token still handed out
    results = [await cache.get() for _ in range(50)]
    assert results == ["tok-1"] * 50
    await asyncio.sleep(0)
    assert fetch.calls == 2 and fetch.reasons[-1] == "expiring"
    fetch.gate.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert await cache.get() == "tok-2"
    assert cache.seconds_until_expiry == pytest.approx(1000)


async def test_expired_token_is_never_handed_out() -> None:
    clock = Clock()
    fetch = FakeFetch(clock, lifetime=100)
    cache = make(fetch, clock)
    assert await cache.get() == "tok-1"
    clock.now += 100  # exactly expired
    assert await cache.get() == "tok-2"
    assert fetch.reasons == ["cold", "expiring"]


async def test_provider_returning_the_same_short_lived_token_does_not_cause_a_fetch_storm() -> None:
    clock = Clock()

    async def same_token() -> Token:
        calls.append(clock())
        return Token(value="same", expires_at=2000.0)  # always within the margin

    calls: list[float] = []
    cache = TokenCache(
        same_token, refresh_margin_seconds=300, clock=clock, min_refresh_interval_seconds=10
    )
    clock.now = 1800
    for _ in range(100):
        assert await cache.get() == "same"
        await asyncio.sleep(0)
    assert len(calls) == 1  # a fetch just returned this token: no point asking again at once
    clock.now = 1811  # the interval has passed: one more try, then quiet again
    for _ in range(100):
        assert await cache.get() == "same"
        await asyncio.sleep(0)
    assert len(calls) == 2


async def test_invalidate_forgets_only_the_current_token() -> None:
    clock = Clock()
    fetch = FakeFetch(clock)
    observer = RecordingObserver()
    cache = make(fetch, clock, observer)
    assert await cache.get() == "tok-1"
    cache.invalidate("tok-1")
    assert cache.seconds_until_expiry is None
    # Many callers rejected with tok-1 at once: one fetch, later invalidations are no-ops.
    results = await asyncio.gather(*(cache.get() for _ in range(100)))
    assert set(results) == {"tok-2"}
    for _ in range(100):
        cache.invalidate("tok-1")
    assert await cache.get() == "tok-2"
    assert fetch.calls == 2
    assert observer.fetches == [("cold", "success"), ("rejected", "success")]


async def test_failed_fetch_fails_all_waiters_and_does_not_poison_the_cache() -> None:
    clock = Clock()
    fetch = FakeFetch(clock, gated=True)
    observer = RecordingObserver()
    cache = make(fetch, clock, observer)
    fetch.fail_with = TokenUnavailableError("provider refused", reason="rejected", code="40002")
    waiters = [asyncio.create_task(cache.get()) for _ in range(200)]
    await asyncio.sleep(0)
    fetch.gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, TokenUnavailableError) for r in results)
    assert fetch.calls == 1
    assert observer.fetches == [("cold", "failure")]

    fetch.fail_with = None  # credentials fixed: the very next call fetches again
    assert await cache.get() == "tok-2"
    assert fetch.calls == 2


async def test_failed_background_refresh_keeps_the_current_token_and_backs_off() -> None:
    clock = Clock()
    fetch = FakeFetch(clock, lifetime=1000)
    cache = TokenCache(
        fetch, refresh_margin_seconds=300, clock=clock, min_refresh_interval_seconds=10
    )
    assert await cache.get() == "tok-1"
    fetch.fail_with = RuntimeError("network")
    clock.now = 1800
    for _ in range(20):
        assert await cache.get() == "tok-1"
        await asyncio.sleep(0)
    assert fetch.calls == 2  # one failed refresh, not one per call
    clock.now = 1811
    fetch.fail_with = None
    assert await cache.get() == "tok-1"
    await asyncio.sleep(0)
    assert await cache.get() == "tok-3"
    gc.collect()  # a lost background exception would be reported here (see filterwarnings)


async def test_a_caller_giving_up_does_not_cancel_the_fetch_for_the_others() -> None:
    clock = Clock()
    fetch = FakeFetch(clock, gated=True)
    cache = make(fetch, clock)
    impatient = asyncio.create_task(cache.get())
    patient = asyncio.create_task(cache.get())
    await asyncio.sleep(0)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    fetch.gate.set()
    assert await patient == "tok-1"
    assert fetch.calls == 1


async def test_close_cancels_a_running_fetch() -> None:
    clock = Clock()
    fetch = FakeFetch(clock, gated=True)
    cache = make(fetch, clock)
    waiter = asyncio.create_task(cache.get())
    await asyncio.sleep(0)
    await cache.close()
    with pytest.raises(asyncio.CancelledError):
        await waiter


def test_token_value_never_in_repr() -> None:
    token = Token(value="s3cr3t+tok=", expires_at=1.0)
    assert "s3cr3t" not in repr(token) and "s3cr3t" not in str(token)
    cache = TokenCache(lambda: asyncio.sleep(0, token), refresh_margin_seconds=1)
    assert "s3cr3t" not in repr(cache)
