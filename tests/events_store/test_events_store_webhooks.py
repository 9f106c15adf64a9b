"""Push endpoints over real HTTP into a real SQLite store."""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from smsgateway.backends import Backend
from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import (
    DeadLetter,
    Source,
    StoredEvent,
    StoredReport,
    StoredUplink,
    Stream,
)
from smsgateway.events.optout import OptOutRules
from smsgateway.events.webhooks import WebhookConfig, WebhookServer

REPORTS = "/callbacks/delivery-reports"
UPLINKS = "/callbacks/uplinks"
TOKEN = "s3cr3t-t0ken-xyz"

# The provider's own sample, verbatim (a // comment and a trailing comma).
PROVIDER_SAMPLE = """[
  {
    "phoneNumber" : "13900000001",
    "sendTime" : "2017-01-01 00:00:00",
    "reportTime" : "2017-01-01 00:00:00",
    "success" : true,
    "code" : "10000",//10000:用户接收成功；1：提交失败，4：失败，5：屏蔽词，6：审核驳回，7：黑/白名单，8：超频，9：未知
    "message" : "请求成功",
    "smsSize" : "1",
    "bizId" : "39036632588910887018",
  }
]""".encode()  # noqa: E501


def camel_report(i: int, *, code: object = "10000", phone: str | None = None) -> dict[str, object]:
    return {
        "phoneNumber": phone or f"139{i:08d}",
        "sendTime": "2026-01-01 12:00:00",
        "reportTime": "2026-01-01 12:00:05",
        "success": code in ("10000", 10000),
        "code": code,
        "message": "请求成功",
        "smsSize": "1",
        "bizId": "39036632588910887018",
    }


def snake_report(i: int, *, code: object = 10000) -> dict[str, object]:
    return {
        "phone_number": f"139{i:08d}",
        "send_time": "2026-01-01 12:00:00",
        "report_time": "2026-01-01 12:00:05",
        "success": True,
        "code": code,
        "message": "请求成功",
        "sms_size": "1",
        "biz_id": "39036632588910887018",
    }


def camel_uplink(seq: int, content: str = "好的", phone: str = "18612345678") -> dict[str, object]:
    return {
        "phoneNumber": phone,
        "sendTime": "2017-09-01 00:00:00",
        "content": content,
        "sign": "签名",
        "sequenceId": seq,
    }


@dataclass
class Gateway:
    """A running webhook server with its store, and what `on_stored` saw."""

    url: str
    store: Backend
    ingestor: Ingestor
    session: aiohttp.ClientSession
    announced: list[tuple[Stream, list[StoredEvent]]] = field(default_factory=list)

    async def post(
        self, path: str, body: bytes | str | object, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        if isinstance(body, str):
            data = body.encode()
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body, ensure_ascii=False).encode()
        async with self.session.post(self.url + path, data=data, headers=headers) as resp:
            return resp.status, json.loads(await resp.read())

    async def stored(self, stream: Stream) -> list[StoredEvent]:
        return await self.store.events.read(stream, 0, 100_000)

    async def dead(self) -> list[DeadLetter]:
        """Every dead letter, oldest first."""
        return list(reversed(await self.store.dead_letters.dead_letters(limit=100_000)))


ServeFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[ServeFactory]:
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def start(**config: Any) -> Gateway:
        store = await sqlite_backend.open_backend(
            sqlite_backend.SqliteOptions(data_dir=tmp_path / f"data-{len(cleanups)}")
        )
        announced: list[tuple[Stream, list[StoredEvent]]] = []

        def on_stored(stream: Stream, events: Sequence[StoredEvent]) -> None:
            announced.append((stream, list(events)))

        ingestor = Ingestor(
            store.events, store.dead_letters, on_stored=on_stored, opt_out=OptOutRules()
        )
        server = WebhookServer(ingestor, WebhookConfig(**config), host="127.0.0.1", port=0)
        await server.start()
        session = aiohttp.ClientSession()
        cleanups.extend([store.close, server.stop, session.close])
        return Gateway(f"http://127.0.0.1:{server.port}", store, ingestor, session, announced)

    yield start
    for cleanup in reversed(cleanups):
        await cleanup()


REPORT_OK = {"code": 10000, "msg": "操作成功"}
UPLINK_OK = {"code": "10000", "msg": "请求成功"}


# -- accepted pushes -----------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        camel_report(1, code="10000"),
        camel_report(1, code=10000),
        snake_report(1, code="10000"),
        snake_report(1, code=10000),
    ],
    ids=["camel-string", "camel-number", "snake-string", "snake-number"],
)
async def test_reports_in_either_spelling_and_code_type(
    serve: ServeFactory, item: dict[str, object]
) -> None:
    gw = await serve()
    status, answer = await gw.post(REPORTS, [item])
    assert (status, answer) == (200, REPORT_OK)
    assert isinstance(answer["code"], int)
    [stored] = await gw.stored(Stream.REPORTS)
    assert isinstance(stored, StoredReport)
    assert stored.report.provider_code == "10000"
    assert stored.report.phone_number == "13900000001"
    assert stored.report.biz_id == "39036632588910887018"
    assert stored.report.sms_size == 1
    assert stored.report.report_time is not None
    assert stored.report.report_time.isoformat() == "2026-01-01T12:00:05+08:00"
    assert stored.source is Source.PUSH
    assert gw.announced == [(Stream.REPORTS, [stored])]


@pytest.mark.parametrize("spelling", ["camel", "snake"])
async def test_uplinks_answer_with_a_string_code(serve: ServeFactory, spelling: str) -> None:
    gw = await serve()
    item = camel_uplink(1234567890)
    if spelling == "snake":
        item = {
            "phone_number": item["phoneNumber"],
            "send_time": item["sendTime"],
            "content": item["content"],
            "sign": item["sign"],
            "sequence_id": str(item["sequenceId"]),
        }
    status, answer = await gw.post(UPLINKS, [item])
    assert (status, answer) == (200, UPLINK_OK)
    assert isinstance(answer["code"], str)
    [stored] = await gw.stored(Stream.UPLINKS)
    assert isinstance(stored, StoredUplink)
    assert (stored.uplink.sequence_id, stored.uplink.content, stored.uplink.sign) == (
        1234567890,
        "好的",
        "签名",
    )
    assert not stored.opt_out


async def test_the_providers_own_sample_with_comment_and_trailing_comma(
    serve: ServeFactory,
) -> None:
    gw = await serve()
    status, answer = await gw.post(REPORTS, PROVIDER_SAMPLE)
    assert (status, answer) == (200, REPORT_OK)
    [stored] = await gw.stored(Stream.REPORTS)
    assert isinstance(stored, StoredReport)
    assert stored.report.phone_number == "13900000001"
    assert gw.ingestor.counters.lenient_bodies == 1
    assert await gw.dead() == []


async def test_trailing_commas_and_comments_in_uplinks(serve: ServeFactory) -> None:
    gw = await serve()
    body = (
        '[ // one uplink\n {"phoneNumber":"18612345678","content":"hi",'
        '/* x */"sign":"S","sequenceId":7,},\n]'
    )
    status, answer = await gw.post(UPLINKS, body)
    assert (status, answer) == (200, UPLINK_OK)
    assert len(await gw.stored(Stream.UPLINKS)) == 1


async def test_a_push_of_1000_reports(serve: ServeFactory) -> None:
    gw = await serve()
    items = [camel_report(i, code=10000 if i % 2 else "4") for i in range(1000)]
    status, answer = await gw.post(REPORTS, items)
    assert (status, answer) == (200, REPORT_OK)
    stored = await gw.stored(Stream.REPORTS)
    assert len(stored) == 1000
    assert [s.cursor for s in stored] == list(range(1, 1001))
    assert len(gw.announced) == 1 and len(gw.announced[0][1]) == 1000


async def test_an_empty_array_is_success_and_stores_nothing(serve: ServeFactory) -> None:
    gw = await serve()
    assert await gw.post(REPORTS, []) == (200, REPORT_OK)
    assert await gw.post(UPLINKS, b"[]") == (200, UPLINK_OK)
    assert await gw.stored(Stream.REPORTS) == []
    assert await gw.dead() == []
    assert gw.announced == []


async def test_duplicate_pushes_are_stored_once(serve: ServeFactory) -> None:
    gw = await serve()
    items = [camel_report(i) for i in range(3)]
    assert await gw.post(REPORTS, items) == (200, REPORT_OK)
    # The same reports again, in the other spelling and with +86 numbers.
    again = [snake_report(i, code="10000") for i in range(3)]
    for item in again:
        item["phone_number"] = "+86" + str(item["phone_number"])
    assert await gw.post(REPORTS, again) == (200, REPORT_OK)
    assert len(await gw.stored(Stream.REPORTS)) == 3
    assert gw.ingestor.counters.duplicates[Stream.REPORTS] == 3
    assert len(gw.announced) == 1


async def test_push_and_pull_of_the_same_report_are_stored_once(serve: ServeFactory) -> None:
    from smsgateway.upstream.models import parse_report_item

    gw = await serve()
    assert await gw.post(REPORTS, [camel_report(1)]) == (200, REPORT_OK)
    pulled = parse_report_item(snake_report(1, code=10000))
    result = await gw.ingestor.ingest_reports([pulled], Source.PULL)
    assert result.stored == [] and result.duplicates == 1
    [stored] = await gw.stored(Stream.REPORTS)
    assert stored.source is Source.PUSH


async def test_an_opt_out_uplink_suppresses_the_number_for_the_sign(serve: ServeFactory) -> None:
    gw = await serve()
    body = [
        camel_uplink(1, "ＴＤ", "+86 186-1234-5678"),
        camel_uplink(2, "TD please", "18600000000"),
    ]
    assert await gw.post(UPLINKS, body) == (200, UPLINK_OK)
    stored = await gw.stored(Stream.UPLINKS)
    assert [(s.uplink.phone_number, s.opt_out) for s in stored if isinstance(s, StoredUplink)] == [
        ("18612345678", True),
        ("18600000000", False),
    ]
    assert await gw.store.suppressions.suppressed("签名", ["18612345678", "18600000000"]) == {
        "18612345678"
    }


# -- rejected pushes: documented error, nothing half-stored ----------------------


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"phoneNumber": "13900000001"}', "object, not an array"),
        (b'"hello"', "string, not an array"),
        (b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "nested deeper"),
        (b"<html>oops</html>", "not JSON"),
        (b"[{]", "not JSON"),
        (b"\xff\xfe[]", "not UTF-8"),
        (b"", "not JSON"),
    ],
)
async def test_unreadable_bodies_are_dead_lettered_and_answered_400(
    serve: ServeFactory, body: bytes, why: str
) -> None:
    gw = await serve()
    status, answer = await gw.post(REPORTS, body)
    assert status == 400
    assert answer["code"] == 400 and why in answer["msg"]
    assert await gw.stored(Stream.REPORTS) == []
    [letter] = await gw.dead()
    assert (letter.stream, letter.body, letter.original_length) == (Stream.REPORTS, body, len(body))
    assert why in letter.error
    assert await gw.store.dead_letters.dead_letter_count() == 1


async def test_uplink_errors_use_a_string_code(serve: ServeFactory) -> None:
    gw = await serve()
    status, answer = await gw.post(UPLINKS, b"{}")
    assert (status, answer["code"]) == (400, "400")


async def test_one_bad_item_is_dead_lettered_and_the_others_are_stored(
    serve: ServeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await serve()
    items = [camel_report(i) for i in range(5)]
    del items[3]["bizId"]
    with caplog.at_level(logging.DEBUG):
        status, answer = await gw.post(REPORTS, items)
    # Nothing is lost (the bad item is kept), so the provider gets the success answer.
    assert (status, answer) == (200, REPORT_OK)
    stored = await gw.stored(Stream.REPORTS)
    assert [s.report.phone_number for s in stored if isinstance(s, StoredReport)] == [
        f"139{i:08d}" for i in (0, 1, 2, 4)
    ]
    assert gw.announced == [(Stream.REPORTS, stored)]
    # The dead letter is the bad item itself (not the whole body), with its reason.
    [letter] = await gw.dead()
    assert json.loads(letter.body) == items[3]
    assert letter.error.startswith("item 3: ") and "bizId" in letter.error
    assert gw.ingestor.counters.bad_items[Stream.REPORTS] == 1
    # The log says what and why, never the numbers.
    assert "item 3" in caplog.text
    assert "1390000000" not in caplog.text
    # The provider's retry of the same push stores nothing twice and keeps the item again.
    assert await gw.post(REPORTS, items) == (200, REPORT_OK)
    assert len(await gw.stored(Stream.REPORTS)) == 4


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"smsSize": 2**63}, "'smsSize' is out of range"),
        ({"smsSize": -1}, "'smsSize' is out of range"),
        ({"smsSize": "9" * 30}, "'smsSize' is out of range"),
        ({"smsSize": "１"}, "'smsSize' is not a whole number"),
        ({"message": "\ud800"}, "'message' is not valid Unicode"),
        ({"bizId": "x\udfff"}, "'bizId' is not valid Unicode"),
        # SQLite's json_each cuts text at a NUL: a re-pushed item would miss de-duplication.
        ({"bizId": "B\x001"}, "'bizId' contains a NUL character"),
        ({"phoneNumber": ["13900000001"]}, "'phoneNumber' has type list"),
        ({"code": {"a": 1}}, "code has type dict"),
        ({"success": "maybe"}, "'success' is not a boolean"),
        ({"reportTime": "0001-01-01 00:00:00"}, "out of range"),
        ({"reportTime": 20260101}, "'reportTime' has type int"),
    ],
)
async def test_bad_values_are_bad_items_never_a_503(
    serve: ServeFactory, bad: dict[str, object], why: str
) -> None:
    gw = await serve()
    items = [camel_report(0), {**camel_report(1), **bad}, camel_report(2)]
    # json.dumps writes a lone surrogate as its \ud800 escape, as a provider would.
    body = json.dumps(items).encode()
    for _ in range(2):  # and so does every retry
        assert await gw.post(REPORTS, body) == (200, REPORT_OK)
    assert len(await gw.stored(Stream.REPORTS)) == 2
    first, again = await gw.dead()
    assert first.body == again.body
    assert why in first.error, first.error
    assert json.loads(first.body) == items[1]


async def test_non_object_items_are_bad_items(serve: ServeFactory) -> None:
    gw = await serve()
    assert await gw.post(UPLINKS, [1, camel_uplink(7), None, [camel_uplink(8)]]) == (
        200,
        UPLINK_OK,
    )
    [stored] = await gw.stored(Stream.UPLINKS)
    assert isinstance(stored, StoredUplink) and stored.uplink.sequence_id == 7
    errors = sorted(d.error for d in await gw.dead())
    assert errors == [
        "item 0 is a JSON number, not an object",
        "item 2 is a JSON null, not an object",
        "item 3 is a JSON array, not an object",
    ]


async def test_bad_items_beyond_the_per_push_limit_share_one_dead_letter(
    serve: ServeFactory,
) -> None:
    from smsgateway.events.ingest import MAX_ITEM_DEAD_LETTERS

    gw = await serve()
    bad_count = MAX_ITEM_DEAD_LETTERS + 40
    items = [{"bizId": f"B{i}"} for i in range(bad_count)] + [camel_report(1)]
    assert await gw.post(REPORTS, items) == (200, REPORT_OK)
    assert len(await gw.stored(Stream.REPORTS)) == 1
    letters = await gw.dead()
    assert len(letters) == MAX_ITEM_DEAD_LETTERS + 1
    [group] = [d for d in letters if d.body.startswith(b"[")]
    assert json.loads(group.body) == items[MAX_ITEM_DEAD_LETTERS:bad_count]
    assert f"items {MAX_ITEM_DEAD_LETTERS} to {bad_count - 1}: 40 more bad items" in group.error
    assert gw.ingestor.counters.bad_items[Stream.REPORTS] == bad_count


async def test_a_body_over_the_limit_gets_413_and_nothing_is_kept(serve: ServeFactory) -> None:
    gw = await serve(max_body_bytes=10_000)
    items = [camel_report(i) for i in range(100)]  # ~20 KB
    status, answer = await gw.post(REPORTS, items)
    assert (status, answer["code"]) == (413, 413)
    # Without a Content-Length (chunked), the limit holds while reading.

    async def chunks() -> AsyncIterator[bytes]:
        data = json.dumps(items).encode()
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    async with gw.session.post(gw.url + REPORTS, data=chunks()) as resp:
        assert resp.status == 413
    assert await gw.stored(Stream.REPORTS) == []
    assert await gw.dead() == []
    # Just under the limit passes.
    assert await gw.post(REPORTS, items[:40]) == (200, REPORT_OK)


async def test_too_many_items_gets_413_and_a_dead_letter(serve: ServeFactory) -> None:
    gw = await serve(max_items=10)
    status, answer = await gw.post(REPORTS, [camel_report(i) for i in range(11)])
    assert (status, answer["code"]) == (413, 413)
    assert "11 items" in answer["msg"]
    assert await gw.stored(Stream.REPORTS) == []
    assert len(await gw.dead()) == 1
    assert await gw.post(REPORTS, [camel_report(i) for i in range(10)]) == (200, REPORT_OK)


async def test_a_store_failure_answers_503_so_that_the_provider_retries(
    serve: ServeFactory,
) -> None:
    gw = await serve()
    await gw.store.close()
    status, answer = await gw.post(REPORTS, [camel_report(1)])
    assert (status, answer["code"]) == (503, 503)
    status, answer = await gw.post(UPLINKS, b"not json")  # the dead letter fails too
    assert (status, answer["code"]) == (503, "503")


# -- protection ------------------------------------------------------------------


async def test_callback_token_in_the_path_or_a_header(
    serve: ServeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await serve(callback_token=TOKEN)
    with caplog.at_level(logging.DEBUG):
        assert await gw.post(f"{REPORTS}/{TOKEN}", [camel_report(1)]) == (200, REPORT_OK)
        assert await gw.post(UPLINKS, [camel_uplink(1)], {"X-Callback-Token": TOKEN}) == (
            200,
            UPLINK_OK,
        )
        for path, headers in [
            (REPORTS, None),
            (f"{REPORTS}/wrong", None),
            (REPORTS, {"X-Callback-Token": "wrong"}),
            (f"{REPORTS}/{TOKEN}x", None),
        ]:
            status, answer = await gw.post(path, [camel_report(2)], headers)
            assert (status, answer["code"]) == (403, 403)
    assert len(await gw.stored(Stream.REPORTS)) == 1
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(WebhookConfig(callback_token=TOKEN))


async def test_without_a_token_configured_a_token_path_is_unknown(serve: ServeFactory) -> None:
    gw = await serve()
    async with gw.session.post(f"{gw.url}{REPORTS}/anything", data=b"[]") as resp:
        assert resp.status == 404


async def test_source_network_allowlist(serve: ServeFactory) -> None:
    allowed = await serve(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
    assert await allowed.post(REPORTS, [camel_report(1)]) == (200, REPORT_OK)
    refused = await serve(allowed_networks=(ipaddress.ip_network("10.0.0.0/8"),))
    status, answer = await refused.post(REPORTS, [camel_report(1)])
    assert (status, answer["code"]) == (403, 403)
    # X-Forwarded-For is ignored unless trusted...
    status, _ = await refused.post(REPORTS, [camel_report(1)], {"X-Forwarded-For": "10.1.2.3"})
    assert status == 403
    assert await refused.stored(Stream.REPORTS) == []
    # ...and when trusted, its last entry (what our proxy saw) counts.
    proxied = await serve(
        allowed_networks=(ipaddress.ip_network("10.0.0.0/8"),), trust_forwarded_for=True
    )
    ok = await proxied.post(REPORTS, [camel_report(1)], {"X-Forwarded-For": "1.2.3.4, 10.1.2.3"})
    assert ok == (200, REPORT_OK)
    spoofed = await proxied.post(
        REPORTS, [camel_report(2)], {"X-Forwarded-For": "10.1.2.3, 1.2.3.4"}
    )
    assert spoofed[0] == 403


async def test_healthz_and_wrong_methods(serve: ServeFactory) -> None:
    gw = await serve()
    async with gw.session.get(gw.url + "/healthz") as resp:
        assert resp.status == 200
    async with gw.session.get(gw.url + REPORTS) as resp:
        assert resp.status == 405


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        WebhookConfig(report_path="callbacks")
    with pytest.raises(ValueError):
        WebhookConfig(report_path="/x", uplink_path="/x")
    with pytest.raises(ValueError):
        WebhookConfig(callback_token="a/b")
    with pytest.raises(ValueError):
        WebhookConfig(max_items=0)
    with pytest.raises(ValueError):
        WebhookConfig(read_timeout_seconds=0)
    with pytest.raises(ValueError):
        WebhookConfig(max_concurrent=0)
    with pytest.raises(ValueError):
        WebhookConfig(busy_wait_seconds=-1)
