"""Replays of the push-endpoint findings of the security review, against the real
aiohttp app on a real socket, with the real SQLite backend.

Findings (issue 9): one bad item (smsSize ≥ 2^63, a lone surrogate) made every
retry of its push 503 and stored nothing of the batch; 5,000 nested arrays gave
a 500 (RecursionError); slow bodies were held without a timeout; concurrent
large bad bodies wrote unbounded dead letters; large bodies needing the
lenient parser ran it on the event loop; forged pushes were accepted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from smsgateway.backends import Backend
from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.events.ingest import MAX_ITEM_DEAD_LETTERS, Ingestor
from smsgateway.events.model import DeadLetter, StoredReport, StoredUplink, Stream
from smsgateway.events.optout import OptOutRules
from smsgateway.events.push_body import ParseLimits
from smsgateway.events.webhooks import WebhookConfig, WebhookServer

REPORTS = "/callbacks/delivery-reports"
UPLINKS = "/callbacks/uplinks"
REPORT_OK = {"code": 10000, "msg": "操作成功"}
UPLINK_OK = {"code": "10000", "msg": "请求成功"}
WAIT = 20.0
"""Upper bound of every wait in these tests (never reached when things work)."""


def report(i: int, **fields: object) -> dict[str, object]:
    return {
        "phoneNumber": f"139{i:08d}",
        "reportTime": "2026-01-01 12:00:05",
        "success": True,
        "code": "10000",
        "bizId": f"B{i}",
        "smsSize": 1,
        **fields,
    }


@dataclass
class Push:
    """A webhook server on a free port, its backend and an HTTP client."""

    server: WebhookServer
    backend: Backend
    ingestor: Ingestor
    session: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def post(
        self, path: str, body: bytes | object, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with self.session.post(self.url + path, data=data, headers=headers) as resp:
            return resp.status, json.loads(await resp.read())

    async def reports(self) -> list[StoredReport]:
        events = await self.backend.events.read(Stream.REPORTS, 0, 100_000)
        return [e for e in events if isinstance(e, StoredReport)]

    async def dead(self) -> list[DeadLetter]:
        return await self.backend.dead_letters.dead_letters(limit=100_000)


Serve = Callable[..., Awaitable[Push]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def start(
        *,
        options: dict[str, Any] | None = None,
        limits: ParseLimits | None = None,
        **config: Any,
    ) -> Push:
        backend = await sqlite_backend.open_backend(
            sqlite_backend.SqliteOptions(data_dir=tmp_path / f"d{len(cleanups)}", **(options or {}))
        )
        cleanups.append(backend.close)
        ingestor = Ingestor(
            backend.events,
            backend.dead_letters,
            on_stored=lambda _s, _e: None,
            opt_out=OptOutRules(),
            parse_limits=limits,
        )
        server = WebhookServer(ingestor, WebhookConfig(**config), host="127.0.0.1", port=0)
        await server.start()
        cleanups.append(server.stop)
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT))
        cleanups.append(session.close)

        async def close_ingestor() -> None:
            ingestor.close()

        cleanups.append(close_ingestor)
        return Push(server, backend, ingestor, session)

    yield start
    for cleanup in reversed(cleanups):
        await cleanup()


# -- one bad item blocks its whole batch ---------------------------------------------


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"smsSize": 2**63}, "field 'smsSize' is out of range"),
        ({"smsSize": 2**64 + 12345}, "field 'smsSize' is out of range"),
        ({"message": "\ud800"}, "field 'message' is not valid Unicode"),
        ({"phoneNumber": "139\udfff"}, "field 'phoneNumber' is not valid Unicode"),
    ],
    ids=["smsSize-2^63", "smsSize-2^64", "surrogate-message", "surrogate-phone"],
)
async def test_a_bad_item_no_longer_blocks_its_batch(
    serve: Serve, bad: dict[str, object], why: str
) -> None:
    push = await serve()
    items = [report(i) for i in range(10)]
    items[4] = report(4, **bad)
    body = json.dumps(items).encode()  # the surrogate travels as "\ud800"
    for _attempt in range(3):  # before: every retry answered 503 "store unavailable"
        assert await push.post(REPORTS, body) == (200, REPORT_OK)
    stored = await push.reports()
    assert sorted(r.report.biz_id for r in stored) == sorted(f"B{i}" for i in range(10) if i != 4)
    letters = await push.dead()
    assert len(letters) == 3  # one per attempt, each the item alone
    assert all(json.loads(d.body) == items[4] for d in letters)
    assert all(why in d.error for d in letters)


async def test_a_bad_uplink_does_not_block_an_opt_out(serve: Serve) -> None:
    push = await serve()
    uplinks = [
        {"phoneNumber": "18612345678", "content": "TD", "sign": "S", "sequenceId": 1},
        {"phoneNumber": "18612345679", "content": "hi", "sign": "S", "sequenceId": 2**63},
    ]
    assert await push.post(UPLINKS, uplinks) == (200, UPLINK_OK)
    events = await push.backend.events.read(Stream.UPLINKS, 0, 10)
    assert [(e.uplink.sequence_id, e.opt_out) for e in events if isinstance(e, StoredUplink)] == [
        (1, True)
    ]
    assert await push.backend.suppressions.suppressed("S", ["18612345678"]) == {"18612345678"}
    [letter] = await push.dead()
    assert "'sequenceId' is out of range" in letter.error


# -- deep nesting ------------------------------------------------------------------


@pytest.mark.parametrize("levels", [33, 5_000, 200_000])
async def test_deep_nesting_is_a_400_not_a_500(serve: Serve, levels: int) -> None:
    push = await serve()
    for body in (b"[" * levels + b"]" * levels, b"[" * levels):
        status, answer = await push.post(REPORTS, body)
        assert status == 400, answer
        assert answer["code"] == 400
    status, answer = await push.post(UPLINKS, b'{"a":' * levels + b"1" + b"}" * levels)
    assert (status, answer["code"]) == (400, "400")
    # The server is fine afterwards.
    assert await push.post(REPORTS, [report(1)]) == (200, REPORT_OK)


# -- slow bodies and slow headers ----------------------------------------------------


async def _slow_request(port: int, *, body_sent: int = 10, declared: int = 1000) -> bytes:
    """Send headers and the first bytes of a body, then nothing; return what the server
    answered until it closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"POST {REPORTS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n\r\n".encode()
            + b"[" * body_sent
        )
        await writer.drain()
        return await asyncio.wait_for(reader.read(), WAIT)  # until EOF: the server closed
    finally:
        writer.close()


async def test_a_slow_body_is_answered_408_and_its_connection_closed(serve: Serve) -> None:
    push = await serve(read_timeout_seconds=0.3, max_concurrent=64)
    answers = await asyncio.gather(*(_slow_request(push.server.port) for _ in range(40)))
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), head
        assert b"Connection: close" in head
        assert json.loads(body)["code"] == 408
    await _until(lambda: push.server.open_connections == 0)
    assert await push.post(REPORTS, [report(1)]) == (200, REPORT_OK)


async def test_slow_headers_and_idle_connections_are_closed_too(serve: Serve) -> None:
    push = await serve(read_timeout_seconds=0.3)
    connections = [await asyncio.open_connection("127.0.0.1", push.server.port) for _ in range(20)]
    for i, (_, writer) in enumerate(connections):
        if i % 2:
            writer.write(f"POST {REPORTS} HTTP/1.1\r\nHost: x\r\n".encode())  # never finished
    for reader, writer in connections:
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed, without an answer
        writer.close()
    await _until(lambda: push.server.open_connections == 0)


async def test_at_most_n_pushes_are_read_at_once(serve: Serve) -> None:
    push = await serve(read_timeout_seconds=1.0, max_concurrent=3, busy_wait_seconds=0.05)
    slow = [asyncio.create_task(_slow_request(push.server.port)) for _ in range(3)]
    await _until(lambda: push.server.open_connections >= 3)
    await asyncio.sleep(0.1)  # the three hold every turn now (they wait 1 s for their bodies)
    async with push.session.post(push.url + REPORTS, data=json.dumps([report(1)])) as resp:
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "1"
        assert json.loads(await resp.read())["code"] == 503
    assert push.server.gate.busy_refusals >= 1
    for answer in await asyncio.gather(*slow):
        assert answer.startswith(b"HTTP/1.1 408")
    # Once the slow ones are gone, pushes are served again (and retries succeed).
    assert await push.post(REPORTS, [report(1)]) == (200, REPORT_OK)
    assert len(await push.reports()) == 1


async def _until(condition: Callable[[], bool]) -> None:
    # The server's connection count has no event to wait on: poll it, bounded.
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


# -- dead-letter flood ---------------------------------------------------------------


async def test_concurrent_large_bad_bodies_write_bounded_dead_letters(serve: Serve) -> None:
    max_bytes = 512 * 1024
    push = await serve(
        options={"dead_letter_max_count": 10, "dead_letter_max_bytes": max_bytes},
        max_body_bytes=2 * 1024 * 1024,
    )
    body = b"<" + b"x" * (1024 * 1024) + b">"  # 1 MiB of garbage, 32 times at once
    results = await asyncio.gather(*(push.post(REPORTS, body) for _ in range(32)))
    assert {status for status, _ in results} == {400}
    letters = await push.dead()
    assert 0 < len(letters) <= 10
    assert sum(len(d.body) for d in letters) <= max_bytes
    for letter in letters:
        assert letter.body == body[: 64 * 1024]  # the first 64 KiB…
        assert letter.original_length == len(body)  # …plus the original length
    assert await push.backend.dead_letters.dead_letter_count() == len(letters)


async def test_a_push_full_of_bad_items_writes_a_bounded_number_of_dead_letters(
    serve: Serve,
) -> None:
    push = await serve()
    items = [report(i, smsSize=-i - 1) for i in range(5000)]
    assert await push.post(REPORTS, items) == (200, REPORT_OK)
    letters = await push.dead()
    assert len(letters) == MAX_ITEM_DEAD_LETTERS + 1
    assert push.ingestor.counters.bad_items[Stream.REPORTS] == 5000


# -- the lenient parser --------------------------------------------------------------


def _lenient_body(items: int) -> bytes:
    """Reports with a trailing comma and a comment: only the lenient parser reads them."""
    return ("[" + "".join(json.dumps(report(i)) + ", // x\n" for i in range(items)) + "]").encode()


async def test_the_lenient_parser_runs_in_the_worker_thread(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    push = await serve()
    with caplog.at_level(logging.DEBUG, logger="smsgateway.events.push_body"):
        for items in (1, 200):  # small and large bodies alike
            assert await push.post(REPORTS, _lenient_body(items)) == (200, REPORT_OK)
    repairs = [r for r in caplog.records if "repairing" in r.getMessage()]
    assert len(repairs) == 2
    loop_thread = threading.get_ident()
    for record in repairs:
        assert record.thread != loop_thread
        assert (record.threadName or "").startswith("push-parse")
    assert push.ingestor.counters.lenient_bodies == 2
    assert len(await push.reports()) == 200


async def test_a_body_too_large_to_repair_is_a_dead_letter_with_a_clear_reason(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    push = await serve(limits=ParseLimits(lenient_max_bytes=64 * 1024), max_body_bytes=8 << 20)
    body = _lenient_body(2000)  # ~300 KB
    with caplog.at_level(logging.DEBUG, logger="smsgateway.events.push_body"):
        results = await asyncio.gather(*(push.post(REPORTS, body) for _ in range(4)))
    for status, answer in results:
        assert status == 400
        assert "not strict JSON" in answer["msg"]
        assert f"at {len(body)} bytes, larger than the 65536 bytes" in answer["msg"]
    assert not [r for r in caplog.records if "repairing" in r.getMessage()]  # never ran
    letters = await push.dead()
    assert len(letters) == 4
    assert all(d.error.startswith("too_large_to_repair: not strict JSON") for d in letters)
    assert all(d.original_length == len(body) for d in letters)
    assert await push.reports() == []


# -- forged pushes ---------------------------------------------------------------------


async def test_a_forged_opt_out_without_the_token_changes_nothing(serve: Serve) -> None:
    push = await serve(callback_token="t0ken-abc")
    forged = [{"phoneNumber": "18612345678", "content": "TD", "sign": "S", "sequenceId": 9}]
    status, answer = await push.post(UPLINKS, forged)
    assert (status, answer["code"]) == (403, "403")
    status, _ = await push.post(UPLINKS, forged, {"X-Callback-Token": "t0ken-abd"})
    assert status == 403
    assert await push.backend.suppressions.suppressed("S", ["18612345678"]) == set()
    assert await push.backend.events.read(Stream.UPLINKS, 0, 10) == []
    assert await push.post(f"{UPLINKS}/t0ken-abc", forged) == (200, UPLINK_OK)
