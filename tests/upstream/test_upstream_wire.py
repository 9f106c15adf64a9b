"""ProviderClient against a tiny scripted HTTP server: exact bytes on the wire, reply
parsing edge cases, secrets kept out of errors, logs and spans, retry/backoff policy."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from smsgateway.upstream import (
    NotSentError,
    OutcomeUnknownError,
    ProviderClient,
    ProviderRejectedError,
    TokenRejectedError,
    TokenUnavailableError,
    UpstreamConfig,
    UpstreamError,
    UpstreamUnavailableError,
    new_pool,
    new_session,
)
from smsgateway.upstream.wire import encode_form

TOKEN = "k67j+wkq=zS-qN6/gt GH&jo8%Kw=="  # every character a sloppy encoder gets wrong
SECRET = "s3cr3t+/=&%-value"
PHONE_A = "13651688564"
PHONE_B = "13568988547"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str
    raw_query: str
    body: bytes
    content_type: str


@dataclass
class Script:
    """Per-path handlers; the default token handler hands out TOKEN."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def count(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path == path)


def reply(payload: object, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(payload, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
    )


def raw(body: str, status: int = 200) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body.encode(), status=status, content_type="application/json")

    return handler


async def token_ok(request: web.Request) -> web.Response:
    return reply({"code": "10000", "message": "操作成功", "token": TOKEN, "expires_in": 7200})


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Script]]:
    script = Script(handlers={"/api/token": token_ok})

    async def dispatch(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        script.seen.append(
            Seen(
                request.method,
                request.path,
                request.raw_path.partition("?")[2],
                body,
                request.headers.get("Content-Type", ""),
            )
        )
        handler = script.handlers.get(request.path)
        if handler is None:
            return web.Response(status=404)
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", dispatch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", script
    await runner.cleanup()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def config(base_url: str, **overrides: object) -> UpstreamConfig:
    settings: dict[str, object] = {
        "base_url": base_url,
        "app_id": "0189457543",
        "secret": SECRET,
        "request_timeout_seconds": 2.0,
    }
    settings.update(overrides)
    return UpstreamConfig(**settings)  # type: ignore[arg-type]


class Sleeps:
    """Stands in for asyncio.sleep: records the backoff delays, does not wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture(params=["pool", "aiohttp"])
async def make_client(
    request: pytest.FixtureRequest,
    spans: InMemorySpanExporter,
) -> AsyncIterator[Callable[..., ProviderClient]]:
    """Clients over each HTTP client: the gateway's lean pool and an aiohttp session."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    sessions: list[Any] = []
    clients: list[ProviderClient] = []

    def make(cfg: UpstreamConfig, **kwargs: object) -> ProviderClient:
        session = new_pool(cfg) if request.param == "pool" else new_session(cfg)
        sessions.append(session)
        kwargs.setdefault("sleep", Sleeps())
        kwargs.setdefault("rng", random.Random(7))
        client = ProviderClient(session, cfg, tracer_provider=provider, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
    for session in sessions:
        await session.close()


def assert_clean(text: str) -> None:
    for secret in (TOKEN, SECRET, PHONE_A, PHONE_B, "k67j", "s3cr3t"):
        assert secret not in text, f"{secret!r} leaked into {text!r}"


def assert_error_clean(error: BaseException) -> None:
    assert_clean(str(error))
    assert_clean(repr(error))
    assert_clean("".join(traceback.format_exception(error)))


async def test_send_form_body_bytes_are_exactly_url_encoded(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/send"] = raw(
        '{"code":"10000","message":"操作成功","bizId":"39036632588910887018"}'
    )
    client = make_client(config(base))
    receipt = await client.send(
        phone_numbers=[PHONE_A, PHONE_B],
        sign="圆通快递",
        content="【圆通快递】a+b=c & 100% 签收",
        kind=1,
    )
    assert receipt.biz_id == "39036632588910887018"
    assert receipt.code == "10000" and receipt.message == "操作成功"
    sent = next(s for s in script.seen if s.path == "/sms/send")
    assert sent.method == "POST"
    assert sent.content_type == "application/x-www-form-urlencoded"
    assert sent.raw_query == ""  # nothing of the token in a URL
    assert sent.body == (
        b"token=k67j%2Bwkq%3DzS-qN6%2Fgt+GH%26jo8%25Kw%3D%3D"
        b"&phoneNumbers=13651688564%2C13568988547"
        b"&sign=%E5%9C%86%E9%80%9A%E5%BF%AB%E9%80%92"
        b"&content=%E3%80%90%E5%9C%86%E9%80%9A%E5%BF%AB%E9%80%92%E3%80%91a%2Bb%3Dc+%26+100%25+"
        b"%E7%AD%BE%E6%94%B6"
        b"&kind=1"
    )
    # And a standard form decoder reads back exactly what was meant.
    assert parse_qs(sent.body.decode())["token"] == [TOKEN]


async def test_kind_none_leaves_the_parameter_out(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/send"] = raw('{"code":10000,"message":"ok","bizId":123}')
    client = make_client(config(base))
    receipt = await client.send(phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=None)
    assert receipt.biz_id == "123" and receipt.code == "10000"
    form = parse_qs(script.seen[-1].body.decode())
    assert "kind" not in form and form["phoneNumbers"] == [PHONE_A]


async def test_send_template_form(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/sendTemplate"] = raw('{"code":"10000","message":"ok","biz_id":"77"}')
    client = make_client(config(base))
    receipt = await client.send_template(
        phone_numbers=[PHONE_A],
        sign="s",
        template_id="1192360392260608",
        param_json='[{"name":"a&b"}]',
        content="【s】x",
    )
    assert receipt.biz_id == "77"
    form = parse_qs(script.seen[-1].body.decode())
    assert form == {
        "token": [TOKEN],
        "phoneNumbers": [PHONE_A],
        "paramJson": ['[{"name":"a&b"}]'],
        "templateId": ["1192360392260608"],
        "sign": ["s"],
        "content": ["【s】x"],
    }


async def test_get_queries_encode_token_and_secret(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/balance"] = raw('{"code":"10000","message":"请求成功","balance":100.00}')
    client = make_client(config(base))
    balance = await client.balance()
    assert balance.amount == Decimal("100.00") and balance.text == "100.00"
    token_request, balance_request = script.seen
    assert token_request.raw_query == "appId=0189457543&secret=s3cr3t%2B%2F%3D%26%25-value"
    assert balance_request.raw_query == "token=k67j%2Bwkq%3DzS-qN6%2Fgt+GH%26jo8%25Kw%3D%3D"
    assert balance_request.body == b""


@pytest.mark.parametrize(
    ("body", "amount", "text"),
    [
        ('{"code":"10000","balance":0.1}', Decimal("0.1"), "0.1"),
        (
            '{"code":"10000","balance":12345678901234567890.123456789}',
            Decimal("12345678901234567890.123456789"),
            "12345678901234567890.123456789",
        ),
        ('{"code":10000,"balance":7}', Decimal(7), "7"),
        ('{"code":"10000","balance":"99.90"}', Decimal("99.90"), "99.90"),
    ],
)
async def test_balance_is_exact(server, make_client, body: str, amount: Decimal, text: str) -> None:
    base, script = server
    script.handlers["/sms/balance"] = raw(body)
    balance = await make_client(config(base)).balance()
    assert balance.amount == amount and balance.text == text
    assert isinstance(balance.amount, Decimal)


@pytest.mark.parametrize(
    "body",
    [
        # The provider's own samples: missing and trailing commas, comments.
        '{"code":"10000"\n"message":"请求成功",\n"balance" : 100.00\n}',
        '{"code":"10000","message":"ok","balance":1,}',
        '{"code":"10000", // ok\n"balance":1}',
        '{"code":"10000","balance":NaN}',
        "<html>502 Bad Gateway</html>",
        '{"code":"10000","message":"ok"}',  # no balance at all
        '{"code":true,"balance":1}',
        "[1,2]",
        "",
    ],
)
async def test_garbage_balance_reply_is_a_clear_unavailable_error(
    server, make_client, body: str
) -> None:
    base, script = server
    script.handlers["/sms/balance"] = raw(body)
    client = make_client(config(base, max_attempts=2))
    with pytest.raises(UpstreamUnavailableError) as caught:
        await client.balance()
    assert caught.value.reason == "malformed"
    assert caught.value.retryable
    assert "balance:" in str(caught.value)
    assert script.count("/sms/balance") == 2  # a read is retried
    assert_error_clean(caught.value)


async def test_malformed_send_reply_is_outcome_unknown_and_not_repeated(
    server, make_client
) -> None:
    base, script = server
    script.handlers["/sms/send"] = raw('{"code":"10000"\n"message":"操作成功",\n"bizId":"3903",}')
    client = make_client(config(base))
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.send(phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1)
    assert caught.value.reason == "malformed" and not caught.value.retryable
    assert script.count("/sms/send") == 1
    assert_error_clean(caught.value)


async def test_accepted_send_without_biz_id_is_outcome_unknown(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/send"] = raw('{"code":"10000","message":"ok"}')
    with pytest.raises(OutcomeUnknownError):
        await make_client(config(base)).send(
            phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1
        )


async def test_rejection_keeps_code_and_message_but_texts_stay_clean(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/send"] = raw(
        json.dumps(
            {"code": 10002, "message": f"参数错误: phoneNumbers {PHONE_A} token {TOKEN}"},
            ensure_ascii=False,
        )
    )
    with pytest.raises(ProviderRejectedError) as caught:
        await make_client(config(base)).send(
            phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1
        )
    error = caught.value
    assert error.code == "10002" and error.http_status == 200 and error.endpoint == "send"
    assert error.provider_message.startswith("参数错误: phoneNumbers")
    assert TOKEN not in error.provider_message
    assert "10002" in str(error) and "参数错误" in str(error)
    assert not error.retryable
    assert_error_clean(error)
    assert script.count("/sms/send") == 1


async def test_http_4xx_without_json_is_a_rejection(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/balance"] = raw("Bad Request", status=400)
    with pytest.raises(ProviderRejectedError) as caught:
        await make_client(config(base)).balance()
    assert caught.value.http_status == 400 and caught.value.code == ""
    assert script.count("/sms/balance") == 1


async def test_token_rejected_with_http_200_code_is_refetched_and_retried_once(
    server, make_client
) -> None:
    base, script = server
    answers = iter(
        [
            reply({"code": "40001", "message": "token无效"}),
            reply({"code": "10000", "message": "ok", "bizId": "1"}),
        ]
    )

    async def send(request: web.Request) -> web.Response:
        return next(answers)

    script.handlers["/sms/send"] = send
    client = make_client(config(base))
    receipt = await client.send(phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1)
    assert receipt.biz_id == "1"
    assert script.count("/api/token") == 2 and script.count("/sms/send") == 2


async def test_token_rejected_twice_gives_token_rejected_error(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/deliver"] = raw('{"code":"40001","message":"token无效"}', status=401)
    client = make_client(config(base))
    with pytest.raises(TokenRejectedError) as caught:
        await client.pull_reports()
    assert script.count("/api/token") == 2 and script.count("/sms/deliver") == 2
    assert caught.value.endpoint == "deliver" and not caught.value.retryable
    assert_error_clean(caught.value)


async def test_configured_token_codes_and_403(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/balance"] = raw('{"code":"99","message":"expired"}')
    client = make_client(config(base, token_rejected_codes=frozenset({"99"})))
    with pytest.raises(TokenRejectedError):
        await client.balance()
    script.handlers["/sms/balance"] = raw("Forbidden", status=403)
    with pytest.raises(TokenRejectedError):
        await client.balance()


async def test_wrong_credentials_keep_the_provider_code(server, make_client) -> None:
    base, script = server
    script.handlers["/api/token"] = raw(
        json.dumps({"code": "10001", "message": f"appId或secret错误 {SECRET}"}, ensure_ascii=False)
    )
    client = make_client(config(base))
    with pytest.raises(TokenUnavailableError) as caught:
        await client.send(phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1)
    error = caught.value
    assert isinstance(error, NotSentError)
    assert error.code == "10001" and error.endpoint == "send"
    assert not error.retryable  # waiting does not fix wrong credentials
    assert SECRET not in error.provider_message
    assert_error_clean(error)
    assert script.count("/sms/send") == 0
    assert script.count("/api/token") == 1  # a refusal is an answer: not retried


async def test_unreachable_token_endpoint_is_retryable_token_unavailable(
    server, make_client
) -> None:
    base, script = server
    script.handlers["/api/token"] = raw("oops", status=503)
    sleeps = Sleeps()
    client = make_client(config(base), sleep=sleeps)
    with pytest.raises(TokenUnavailableError) as caught:
        await client.balance()
    assert caught.value.retryable and caught.value.code is None
    assert caught.value.reason == "http_error"
    assert script.count("/api/token") == 3 and len(sleeps.delays) == 2


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_is_not_sent_after_jittered_bounded_backoff(
    make_client,
) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    cfg = config(base, max_attempts=5, backoff_initial_seconds=0.1, backoff_max_seconds=0.3)
    sleeps = Sleeps()
    client = make_client(cfg, sleep=sleeps)
    client.tokens._token = None
    with pytest.raises(NotSentError) as caught:
        await client.fetch_token()
    assert isinstance(caught.value, TokenUnavailableError)
    assert "Connection refused" in str(caught.value) or "connect" in str(caught.value)
    caps = [0.1, 0.2, 0.3, 0.3]
    assert len(sleeps.delays) == 4
    for delay, cap in zip(sleeps.delays, caps, strict=True):
        assert cap / 2 <= delay <= cap
    assert len(set(sleeps.delays)) == 4  # jittered, not a fixed schedule
    assert sleeps.delays != caps


async def test_send_retries_only_while_nothing_left(server, make_client) -> None:
    base, _ = server
    client = make_client(config(base))
    await client.tokens.get()  # token cached while the server is up
    dead = f"http://127.0.0.1:{closed_port()}"
    client._base = dead
    if client._pool is not None:  # the pool holds its origin: the same move for it
        client._pool = new_pool(config(dead))
    sleeps = client._sleep
    with pytest.raises(NotSentError) as caught:
        await client.send(phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1)
    assert caught.value.retryable and caught.value.reason == "connection_error"
    assert len(sleeps.delays) == 2  # type: ignore[attr-defined]


async def test_spent_deadline_sends_nothing(server, make_client) -> None:
    base, script = server
    client = make_client(config(base))
    with pytest.raises(NotSentError) as caught:
        await client.send(phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1, deadline=0.0)
    assert "deadline" in str(caught.value)
    assert script.seen == []


async def test_slow_send_is_outcome_unknown_within_the_callers_deadline(
    server, make_client
) -> None:
    base, script = server
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return reply({"code": "10000", "bizId": "1"})

    script.handlers["/sms/send"] = slow
    client = make_client(config(base, request_timeout_seconds=30))
    await client.tokens.get()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.send(
            phone_numbers=[PHONE_A],
            sign="s",
            content="【s】x",
            kind=1,
            deadline=client._clock() + 0.3,
        )
    assert loop.time() - started < 3  # the caller's deadline, not the 30 s default
    assert caught.value.reason == "timeout"
    assert script.count("/sms/send") == 1
    release.set()


async def test_waiting_for_a_pooled_connection_past_the_deadline_is_not_sent(
    server, make_client
) -> None:
    base, script = server
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return reply({"code": "10000", "bizId": "1"})

    script.handlers["/sms/send"] = slow
    client = make_client(config(base, max_connections=1, request_timeout_seconds=30))
    await client.tokens.get()
    hog = asyncio.create_task(
        client.send(phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1)
    )
    await arrived.wait()
    with pytest.raises(NotSentError) as caught:
        await client.send(
            phone_numbers=[PHONE_B],
            sign="s",
            content="【s】x",
            kind=1,
            deadline=client._clock() + 0.2,
        )
    assert caught.value.reason == "timeout"
    release.set()
    assert (await hog).biz_id == "1"
    assert script.count("/sms/send") == 1


async def test_without_new_session_a_timeout_is_conservatively_unknown(server) -> None:
    base, script = server
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return reply({"code": "10000", "bizId": "1"})

    script.handlers["/sms/send"] = slow
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        client = ProviderClient(session, config(base))
        await client.tokens.get()
        hog = asyncio.create_task(
            client.send(phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1)
        )
        await arrived.wait()
        with pytest.raises(OutcomeUnknownError):
            await client.send(
                phone_numbers=[PHONE_B],
                sign="s",
                content="【s】x",
                kind=1,
                deadline=client._clock() + 0.2,
            )
        release.set()
        await hog


async def test_pulls_parse_both_spellings_and_skip_bad_items(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/deliver"] = raw(
        json.dumps(
            [
                {
                    "phoneNumber": PHONE_A,
                    "sendTime": "2017-01-01 00:00:00",
                    "reportTime": "2017-01-01 00:00:05",
                    "success": True,
                    "code": "10000",
                    "message": "请求成功",
                    "smsSize": "1",
                    "bizId": "39036632588910887018",
                },
                {
                    "phone_number": PHONE_B,
                    "send_time": "2017-01-01 00:00:00",
                    "report_time": "2017-01-01 00:00:06",
                    "success": "false",
                    "code": 4,
                    "message": "失败",
                    "sms_size": 2,
                    "biz_id": "39036632588910887018",
                },
                {"phoneNumber": PHONE_A, "code": "10000"},  # no bizId: skipped
            ],
            ensure_ascii=False,
        )
    )
    script.handlers["/sms/smsUp"] = raw(
        json.dumps(
            [
                {
                    "phoneNumber": PHONE_A,
                    "sendTime": "2017-09-01 00:00:00",
                    "content": "内容",
                    "sequenceId": 1234567890,
                },
                {
                    "phone_number": PHONE_B,
                    "send_time": "2017-09-01 00:00:01",
                    "content": "TD",
                    "sign": "other",
                    "sequence_id": "1234567891",
                },
            ],
            ensure_ascii=False,
        )
    )
    invalid: list[tuple[str, object, ValueError]] = []
    client = make_client(
        config(base), on_invalid_item=lambda ep, item, err: invalid.append((ep, item, err))
    )
    reports = await client.pull_reports(sign="圆通快递")
    assert [r.phone_number for r in reports] == [PHONE_A, PHONE_B]
    assert reports[0].success and reports[0].provider_code == "10000" and reports[0].sms_size == 1
    assert not reports[1].success and reports[1].provider_code == "4" and reports[1].sms_size == 2
    assert reports[1].report_time is not None
    assert reports[1].report_time.isoformat() == "2017-01-01T00:00:06+08:00"
    assert len(invalid) == 1 and invalid[0][0] == "deliver" and "bizId" in str(invalid[0][2])
    assert parse_qs(script.seen[-1].raw_query)["sign"] == ["圆通快递"]

    uplinks = await client.pull_uplinks(sign="圆通快递")
    assert [(u.sequence_id, u.sign, u.content) for u in uplinks] == [
        (1234567890, "圆通快递", "内容"),
        (1234567891, "other", "TD"),
    ]


async def test_empty_pull_variants(server, make_client) -> None:
    base, script = server
    script.handlers["/sms/deliver"] = raw("[]")
    script.handlers["/sms/smsUp"] = raw('{"code":"10000","message":"ok"}')
    client = make_client(config(base))
    assert await client.pull_reports() == []
    assert await client.pull_uplinks(sign="s") == []
    assert "sign" not in parse_qs(script.seen[1].raw_query)


async def test_spans_logs_and_errors_never_carry_secrets(
    server, make_client, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    base, script = server
    script.handlers["/sms/send"] = raw('{"code":"10000","message":"ok","bizId":"42"}')
    fails = iter([True, False])

    async def flaky_balance(request: web.Request) -> web.Response:
        if next(fails):
            return web.Response(status=502, text="bad gateway")
        return reply({"code": 10000, "balance": 1.5})

    script.handlers["/sms/balance"] = flaky_balance
    client = make_client(config(base))
    await client.send(phone_numbers=[PHONE_A, PHONE_B], sign="s", content="【s】x", kind=2)
    assert (await client.balance()).amount == Decimal("1.5")

    finished = spans.get_finished_spans()
    names = [s.name for s in finished]
    assert names == ["GET /api/token", "POST /sms/send", "GET /sms/balance", "GET /sms/balance"]
    token_span, send_span, failed, retried = finished
    assert token_span.attributes is not None
    assert token_span.attributes["smsgateway.token.reason"] == "cold"
    assert send_span.kind == SpanKind.CLIENT
    assert dict(send_span.attributes or {}) | {} == {
        "http.request.method": "POST",
        "url.path": "/sms/send",
        "server.address": "127.0.0.1",
        "server.port": int(base.rsplit(":", 1)[1]),
        "smsgateway.upstream.endpoint": "send",
        "smsgateway.recipients": 2,
        "http.response.status_code": 200,
        "smsgateway.provider_code": "10000",
    }
    assert failed.attributes is not None and failed.attributes["error.type"] == "http_error"
    assert not failed.status.is_ok
    assert retried.attributes is not None and retried.attributes["http.request.resend_count"] == 1

    # Fail in every way once more, for the logs and spans.
    script.handlers["/sms/balance"] = raw("garbage")
    with pytest.raises(UpstreamError):
        await client.balance()
    client.tokens.invalidate(TOKEN)
    script.handlers["/api/token"] = raw('{"code":"10001","message":"bad"}')
    with pytest.raises(UpstreamError):
        await client.balance()

    everything = [
        repr(s.attributes) + repr(s.status.description) + repr(s.events)
        for s in spans.get_finished_spans()
    ]
    everything += [r.getMessage() for r in caplog.records]
    everything += [repr(r.args) for r in caplog.records]
    for text in everything:
        assert_clean(text)


async def test_config_validation_and_repr() -> None:
    cfg = config("http://127.0.0.1:1")
    assert SECRET not in repr(cfg)
    with pytest.raises(ValueError, match="base_url"):
        config("ftp://x")
    with pytest.raises(ValueError, match="max_attempts"):
        config("http://x", max_attempts=0)
    async with aiohttp.ClientSession() as session:
        assert SECRET not in repr(ProviderClient(session, cfg))


async def test_base_url_with_path_prefix(make_client, server) -> None:
    base, script = server
    script.handlers["/gw/api/token"] = token_ok
    script.handlers["/gw/sms/balance"] = raw('{"code":"10000","balance":"3"}')
    assert (await make_client(config(base + "/gw/")).balance()).amount == 3


class RecordingObserver:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.tokens: list[tuple[str, str]] = []

    def request_finished(self, endpoint: str, outcome: str, seconds: float) -> None:
        assert seconds >= 0
        self.requests.append((endpoint, outcome))

    def token_fetched(self, reason: str, result: str) -> None:
        self.tokens.append((reason, result))


async def test_observer_sees_every_attempt_and_token_fetch(server, make_client) -> None:
    base, script = server
    sends = iter(
        [
            reply({"code": "40001", "message": "token无效"}, status=401),
            reply({"code": "10000", "bizId": "1"}),
            reply({"code": "4", "message": "失败"}),
        ]
    )

    async def send(request: web.Request) -> web.Response:
        return next(sends)

    script.handlers["/sms/send"] = send
    script.handlers["/sms/balance"] = raw("not json")
    observer = RecordingObserver()
    client = make_client(config(base, max_attempts=2), observer=observer)
    await client.send(phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1)
    with pytest.raises(ProviderRejectedError):
        await client.send(phone_numbers=[PHONE_A], sign="s", content="【s】x", kind=1)
    with pytest.raises(UpstreamUnavailableError):
        await client.balance()
    assert observer.requests == [
        ("token", "success"),
        ("send", "token_rejected"),
        ("token", "success"),
        ("send", "success"),
        ("send", "rejected"),
        ("balance", "malformed"),
        ("balance", "malformed"),
    ]
    assert observer.tokens == [("cold", "success"), ("rejected", "success")]


async def test_deadline_while_waiting_for_a_token_is_not_sent_and_the_fetch_carries_on(
    server, make_client
) -> None:
    base, script = server
    release = asyncio.Event()

    async def slow_token(request: web.Request) -> web.Response:
        await release.wait()
        return await token_ok(request)

    script.handlers["/api/token"] = slow_token
    script.handlers["/sms/balance"] = raw('{"code":"10000","balance":"5"}')
    client = make_client(config(base))
    with pytest.raises(NotSentError) as caught:
        await client.balance(deadline=client._clock() + 0.1)
    assert "waiting for a token" in str(caught.value)
    assert not isinstance(caught.value, TokenUnavailableError)
    release.set()  # the fetch that caller started was not cancelled with it
    assert (await client.balance()).amount == 5
    assert script.count("/api/token") == 1


@given(
    st.dictionaries(
        st.sampled_from(["token", "phoneNumbers", "sign", "content", "kind", "paramJson"]),
        st.one_of(st.text(), st.from_regex(r"[0-9+,，]*", fullmatch=True)),
    )
)
def test_form_encoding_matches_the_standard_library(params: dict[str, str]) -> None:
    encoded = encode_form(params)
    assert encoded == urlencode(params)
    assert {k: v[0] for k, v in parse_qs(encoded, keep_blank_values=True).items()} == params
