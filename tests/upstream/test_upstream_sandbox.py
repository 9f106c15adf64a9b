"""ProviderClient against the sandbox provider over real HTTP: typed results, the token
lifecycle (single flight, early refresh, secret reset, wrong credentials) and faults."""

from __future__ import annotations

import asyncio
import logging
import random
import traceback
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from smsgateway.sandbox import SandboxConfig, SandboxProvider
from smsgateway.upstream import (
    NotSentError,
    OutcomeUnknownError,
    ProviderClient,
    ProviderRejectedError,
    TokenUnavailableError,
    UpstreamConfig,
    UpstreamUnavailableError,
    new_pool,
    new_session,
)

SIGN = "圆通快递"
CONTENT = "【圆通快递】你的快件已签收"
PHONES = ["13651688564", "13568988547"]


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@dataclass
class Env:
    sb: SandboxProvider
    client: ProviderClient
    sleeps: Sleeps
    config: UpstreamConfig


Factory = Callable[..., Any]


@pytest.fixture(params=["pool", "aiohttp"])
async def env_factory(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    """Environments over each HTTP client: the gateway's lean pool and an aiohttp session."""
    started: list[tuple[SandboxProvider, Any, ProviderClient]] = []

    async def make(
        *,
        clock: Callable[[], float] | None = None,
        secret: str | None = None,
        upstream: dict[str, Any] | None = None,
        **sandbox: Any,
    ) -> Env:
        sandbox.setdefault("seed", 3)
        sandbox.setdefault("report_delay_seconds", 0)
        sb = SandboxProvider(SandboxConfig(**sandbox), **({"clock": clock} if clock else {}))
        url = await sb.start()
        cfg = UpstreamConfig(
            base_url=url,
            app_id=sb.config.app_id,
            secret=secret or sb.config.secret,
            **(upstream or {}),
        )
        session = new_pool(cfg) if request.param == "pool" else new_session(cfg)
        sleeps = Sleeps()
        client = ProviderClient(
            session,
            cfg,
            sleep=sleeps,
            rng=random.Random(5),
            **({"clock": clock} if clock else {}),
        )
        started.append((sb, session, client))
        return Env(sb, client, sleeps, cfg)

    yield make
    for sb, session, client in started:
        await client.close()
        await session.close()
        await sb.stop()


def leaks(error: BaseException, *secrets: str) -> list[str]:
    texts = (str(error), repr(error), "".join(traceback.format_exception(error)))
    return [s for s in secrets for t in texts if s and s in t]


async def test_every_endpoint_returns_typed_results(env_factory: Factory) -> None:
    env = await env_factory(balance=Decimal("1000.00"))
    client, sb = env.client, env.sb

    receipt = await client.send(phone_numbers=PHONES, sign=SIGN, content=CONTENT, kind=2)
    assert len(receipt.biz_id) == 20 and receipt.code == "10000"
    assert sb.batches[-1].phone_numbers == tuple(PHONES)
    assert sb.batches[-1].biz_id == receipt.biz_id and sb.batches[-1].kind == "2"

    template = await client.send_template(
        phone_numbers=PHONES[:1],
        sign=SIGN,
        template_id="1192360392260608",
        param_json='[{"name":"x"}]',
        content=CONTENT,
    )
    assert template.biz_id != receipt.biz_id

    balance = await client.balance()
    assert balance.amount == Decimal("999.85") and balance.text == "999.85"

    reports = await client.pull_reports(sign=SIGN)
    assert sorted((r.biz_id, r.phone_number) for r in reports) == sorted(
        [(receipt.biz_id, p) for p in PHONES] + [(template.biz_id, PHONES[0])]
    )
    assert all(r.success and r.provider_code == "10000" and r.sms_size == 1 for r in reports)
    assert all(r.report_time is not None and r.report_time.tzinfo for r in reports)

    sb.inject_uplink(PHONES[1], "TD", SIGN)
    uplinks = await client.pull_uplinks(sign=SIGN)
    assert [(u.phone_number, u.content, u.sign) for u in uplinks] == [(PHONES[1], "TD", SIGN)]
    assert sb.requests["/api/token"] == 1


async def test_snake_case_and_numeric_codes(env_factory: Factory) -> None:
    env = await env_factory(
        field_style="snake", code_as_number=True, require_kind=False, report_outcomes={"4": 1}
    )
    client, sb = env.client, env.sb
    receipt = await client.send(phone_numbers=PHONES, sign=SIGN, content=CONTENT, kind=None)
    assert receipt.code == "10000"
    assert sb.batches[-1].kind is None
    reports = await client.pull_reports()
    assert {(r.biz_id, r.provider_code, r.success) for r in reports} == {
        (receipt.biz_id, "4", False)
    }
    sb.inject_uplink(PHONES[0], "hello", SIGN)
    (uplink,) = await client.pull_uplinks(sign=SIGN)
    assert uplink.phone_number == PHONES[0] and uplink.sequence_id > 0
    assert (await client.balance()).text == "999.90"


async def test_exact_balance(env_factory: Factory) -> None:
    env = await env_factory(balance=Decimal("0.10"), price_per_segment=Decimal("0.03"))
    await env.client.send(phone_numbers=PHONES[:1], sign=SIGN, content=CONTENT, kind=1)
    balance = await env.client.balance()
    assert balance.amount == Decimal("0.07") and balance.text == "0.07"
    assert str(balance.amount) == "0.07"  # no binary float on the way


async def test_a_thousand_concurrent_sends_on_a_cold_cache_fetch_one_token(
    env_factory: Factory,
) -> None:
    env = await env_factory()
    sends = [
        env.client.send(phone_numbers=[f"139{i:08d}"], sign=SIGN, content=CONTENT, kind=1)
        for i in range(1000)
    ]
    receipts = await asyncio.gather(*sends)
    assert len({r.biz_id for r in receipts}) == 1000
    assert env.sb.requests["/api/token"] == 1
    assert env.sb.requests["/sms/send"] == 1000
    assert len(env.sb.batches) == 1000


async def test_token_refreshed_before_expiry_so_no_call_is_rejected(
    env_factory: Factory,
) -> None:
    clock = FakeClock()
    env = await env_factory(
        clock=clock,
        token_ttl_seconds=1000,
        upstream={"token_refresh_margin_seconds": 300},
    )
    client, sb = env.client, env.sb
    await client.balance()
    assert client.tokens.seconds_until_expiry == pytest.approx(1000)

    clock.now += 600  # 400 s left: outside the margin, nothing happens
    await client.balance()
    assert sb.requests["/api/token"] == 1

    clock.now += 150  # 250 s left: a background refresh, the call is not held up
    await client.balance()
    for _ in range(100):
        if sb.requests["/api/token"] == 2 and client.tokens._flight is None:
            break
        await asyncio.sleep(0.01)
    assert sb.requests["/api/token"] == 2
    assert sb.tokens_issued == 1  # the provider hands back the same token while it is valid

    clock.now += 250  # the provider's token has expired: a fresh one before the next call
    await client.balance()
    assert sb.tokens_issued == 2
    assert sb.requests["/sms/balance"] == 4  # not one rejected call
    assert client.tokens.seconds_until_expiry == pytest.approx(1000)


async def test_secret_reset_between_two_sends_costs_one_refetch(env_factory: Factory) -> None:
    env = await env_factory()
    client, sb = env.client, env.sb
    await client.send(phone_numbers=PHONES, sign=SIGN, content=CONTENT, kind=1)
    sb.reset_secret(env.config.secret)  # the account's secret re-issued: tokens revoked
    receipt = await client.send(phone_numbers=PHONES, sign=SIGN, content=CONTENT, kind=1)
    assert receipt.code == "10000"
    assert sb.requests["/api/token"] == 2 and sb.tokens_issued == 2
    assert sb.requests["/sms/send"] == 3  # the rejected one, then its single retry
    assert len(sb.batches) == 2  # nothing sent twice


async def test_token_rejection_with_http_200(env_factory: Factory) -> None:
    env = await env_factory(token_rejection_http_status=200)
    await env.client.balance()
    env.sb.reset_secret(env.config.secret)
    assert (await env.client.balance()).amount > 0
    assert env.sb.requests["/api/token"] == 2


async def test_wrong_secret_fails_waiters_fast_and_does_not_poison(
    env_factory: Factory,
) -> None:
    env = await env_factory(secret="not-the-secret")
    client, sb = env.client, env.sb
    results = await asyncio.gather(
        *(client.send(phone_numbers=PHONES, sign=SIGN, content=CONTENT, kind=1) for _ in range(50)),
        return_exceptions=True,
    )
    assert all(isinstance(r, TokenUnavailableError) for r in results)
    error = results[0]
    assert isinstance(error, TokenUnavailableError)
    assert error.code == "10001" and not error.retryable and error.endpoint == "send"
    assert leaks(error, "not-the-secret", sb.config.secret) == []
    assert sb.requests["/api/token"] == 1  # one fetch for all 50, a refusal is not retried
    assert sb.requests["/sms/send"] == 0 and env.sleeps.delays == []

    sb.configure(secret="not-the-secret")  # the operator fixes the account
    receipt = await client.send(phone_numbers=PHONES, sign=SIGN, content=CONTENT, kind=1)
    assert receipt.code == "10000"
    assert sb.requests["/api/token"] == 2


async def test_slow_send_is_outcome_unknown_and_really_may_have_been_sent(
    env_factory: Factory,
) -> None:
    env = await env_factory()
    client, sb = env.client, env.sb
    await client.tokens.get()
    sb.set_faults(latency_seconds=0.4, paths=frozenset({"/sms/send"}))
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.send(
            phone_numbers=PHONES,
            sign=SIGN,
            content=CONTENT,
            kind=1,
            deadline=client._clock() + 0.15,
        )
    assert caught.value.reason == "timeout" and not caught.value.retryable
    assert sb.requests["/sms/send"] == 1 and env.sleeps.delays == []
    for _ in range(100):  # the provider carries on and accepts it: "unknown" was honest
        if sb.batches:
            break
        await asyncio.sleep(0.02)
    assert len(sb.batches) == 1


async def test_slow_balance_is_retried_within_the_deadline(env_factory: Factory) -> None:
    env = await env_factory(upstream={"request_timeout_seconds": 0.1})
    client, sb = env.client, env.sb
    await client.tokens.get()
    # On a loaded machine the token fetch itself may need a second attempt within its
    # 0.1 s timeout: only the balance's own retries are counted below.
    env.sleeps.delays.clear()
    sb.set_faults(latency_seconds=0.3, paths=frozenset({"/sms/balance"}))
    with pytest.raises(UpstreamUnavailableError) as caught:
        await client.balance(deadline=client._clock() + 5)
    assert caught.value.reason == "timeout" and caught.value.retryable
    assert sb.requests["/sms/balance"] == 3 and len(env.sleeps.delays) == 2
    sb.clear_faults()
    assert (await client.balance()).amount == Decimal("1000.00")


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ({"http_5xx_rate": 1.0}, "http_error"),
        ({"malformed_rate": 1.0}, "malformed"),
        ({"drop_rate": 1.0}, "connection_error"),
    ],
)
async def test_faults_on_a_send_are_outcome_unknown_without_retry(
    env_factory: Factory, faults: dict[str, float], reason: str
) -> None:
    env = await env_factory()
    await env.client.tokens.get()
    env.sb.set_faults(**faults)
    with pytest.raises(OutcomeUnknownError) as caught:
        await env.client.send(phone_numbers=PHONES, sign=SIGN, content=CONTENT, kind=1)
    assert caught.value.reason == reason
    assert env.sb.requests["/sms/send"] == 1
    token = env.client.tokens._token
    assert token is not None
    assert leaks(caught.value, token.value, env.config.secret, *PHONES) == []


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ({"http_5xx_rate": 1.0}, "http_error"),
        ({"malformed_rate": 1.0}, "malformed"),
        ({"drop_rate": 1.0}, "connection_error"),
    ],
)
async def test_faults_on_reads_are_retried_then_unavailable(
    env_factory: Factory, faults: dict[str, float], reason: str
) -> None:
    env = await env_factory()
    await env.client.tokens.get()
    env.sb.set_faults(paths=frozenset({"/sms/deliver", "/sms/balance"}), **faults)
    with pytest.raises(UpstreamUnavailableError) as caught:
        await env.client.pull_reports()
    assert caught.value.reason == reason
    # 3 attempts; aiohttp itself repeats a GET once when a kept-alive connection drops.
    assert 3 <= env.sb.requests["/sms/deliver"] <= 6
    assert len(env.sleeps.delays) == 2
    with pytest.raises(UpstreamUnavailableError):
        await env.client.balance()
    assert 3 <= env.sb.requests["/sms/balance"] <= 6


async def test_provider_error_code_is_a_rejection_not_retried(env_factory: Factory) -> None:
    env = await env_factory()
    env.sb.set_faults(error_rate=1.0, error_code="10500", paths=frozenset({"/sms/send"}))
    with pytest.raises(ProviderRejectedError) as caught:
        await env.client.send(phone_numbers=PHONES, sign=SIGN, content=CONTENT, kind=1)
    assert caught.value.code == "10500" and caught.value.provider_message
    assert env.sb.requests["/sms/send"] == 1


async def test_parameter_errors_surface_as_rejections(env_factory: Factory) -> None:
    env = await env_factory()  # the account needs `kind`
    with pytest.raises(ProviderRejectedError) as caught:
        await env.client.send(phone_numbers=PHONES, sign=SIGN, content=CONTENT, kind=None)
    assert caught.value.code == "10002" and "kind" in caught.value.provider_message


async def test_provider_gone_is_not_sent_after_bounded_jittered_backoff(
    env_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env = await env_factory(
        upstream={"max_attempts": 4, "backoff_initial_seconds": 0.2, "backoff_max_seconds": 0.5}
    )
    client, sb = env.client, env.sb
    await client.tokens.get()
    token = client.tokens._token
    assert token is not None
    await sb.stop()
    await asyncio.sleep(0.05)
    with pytest.raises(NotSentError) as caught:
        await client.send(phone_numbers=PHONES, sign=SIGN, content=CONTENT, kind=1)
    assert caught.value.reason == "connection_error" and caught.value.retryable
    delays = env.sleeps.delays
    assert len(delays) == 3
    for delay, cap in zip(delays, [0.2, 0.4, 0.5], strict=True):
        assert cap / 2 <= delay <= cap
    assert len(set(delays)) == 3
    assert leaks(caught.value, token.value, env.config.secret) == []
    for record in caplog.records:
        text = record.getMessage()
        assert token.value not in text and env.config.secret not in text
        assert all(phone not in text for phone in PHONES)
