"""Fuzzing the push parser through the real endpoints (hypothesis, bounded for CI).

The webhook server runs with the real SQLite backend on its own event loop in a
thread; hypothesis drives it over real HTTP from the test thread. For every
generated body:

* the answer is never a 5xx (the store is up: only store-unavailable may give 503);
* the answer is the documented one: 200 with exactly the stream's success body,
  or an error whose `code` is the HTTP status in the JSON type of the success code;
* every item of an accepted push is either stored (new or a duplicate) or kept as
  a dead letter whose body is the item's JSON and whose error names the item;
* a refused body stores nothing and is kept as exactly one dead letter.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from smsgateway.backends import Backend
from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import Stream
from smsgateway.events.optout import OptOutRules
from smsgateway.events.webhooks import WebhookConfig, WebhookServer

T = TypeVar("T")

PATHS = {Stream.REPORTS: "/callbacks/delivery-reports", Stream.UPLINKS: "/callbacks/uplinks"}
OK = {
    Stream.REPORTS: {"code": 10000, "msg": "操作成功"},
    Stream.UPLINKS: {"code": "10000", "msg": "请求成功"},
}
MAX_ITEMS = 12
"""Items per generated push: below the per-push dead-letter limit, so one letter per bad item."""
WAIT = 30.0


class ThreadedPushServer:
    """The webhook endpoints on a real socket, served by a loop in a thread of their own."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="push-fuzz-server", daemon=True)
        self._error: BaseException | None = None
        self.backend: Backend | None = None
        self.ingestor: Ingestor | None = None
        self.port = 0

    def start(self) -> ThreadedPushServer:
        self._thread.start()
        if not self._ready.wait(WAIT):
            raise RuntimeError("the push server did not start")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        backend = await sqlite_backend.open_backend(
            sqlite_backend.SqliteOptions(data_dir=self._data_dir, dead_letter_max_count=1_000_000)
        )
        ingestor = Ingestor(
            backend.events,
            backend.dead_letters,
            on_stored=lambda _s, _e: None,
            opt_out=OptOutRules(),
        )
        server = WebhookServer(ingestor, WebhookConfig(max_items=50), host="127.0.0.1", port=0)
        await server.start()
        self.backend, self.ingestor, self.port = backend, ingestor, server.port
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.stop()
            ingestor.close()
            await backend.close()

    def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        assert self._loop is not None

        async def run() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(WAIT)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(WAIT)


@pytest.fixture(scope="module")
def push_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedPushServer]:
    server = ThreadedPushServer(tmp_path_factory.mktemp("push-fuzz")).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Snapshot:
    events: int
    dead: int
    duplicates: int
    bad_items: int


def snapshot(server: ThreadedPushServer, stream: Stream) -> Snapshot:
    assert server.backend is not None and server.ingestor is not None
    backend = server.backend
    events = server.call(lambda: backend.events.last_cursor(stream))
    dead = server.call(backend.dead_letters.dead_letter_count)
    counters = server.ingestor.counters
    return Snapshot(events, dead, counters.duplicates[stream], counters.bad_items[stream])


def post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- strategies ------------------------------------------------------------------------

lone_surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
nasty_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, -1, 0, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["", " ", "1e3", "１２", "9" * 40, "2026-01-01 12:00:00", "0001-01-01 00:00:00"]
    ),
    lone_surrogates,
    st.builds(lambda a, s: a + s, st.text(max_size=4), lone_surrogates),
    st.builds(lambda a: a + "\x00", st.text(max_size=4)),
)
json_values = st.recursive(
    nasty_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
digits = st.text("0123456789", min_size=1, max_size=13)

REPORT_FIELDS = [
    "phoneNumber",
    "bizId",
    "code",
    "success",
    "message",
    "smsSize",
    "sendTime",
    "reportTime",
]
UPLINK_FIELDS = ["phoneNumber", "content", "sign", "sequenceId", "sendTime"]


def good_report() -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {
            "phoneNumber": st.builds(lambda d: "139" + d, digits),
            "bizId": st.text(min_size=1, max_size=20).filter(str.strip),
            "code": st.sampled_from(["10000", 10000, "4", 4, "7"]),
            "smsSize": st.integers(0, 9) | st.sampled_from(["1", "2"]),
            "reportTime": st.sampled_from(["2026-01-01 12:00:05", "2017-01-01 00:00:00", ""]),
        },
        optional={"message": st.text(max_size=20), "success": st.booleans()},
    )


def good_uplink() -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {
            "phoneNumber": st.builds(lambda d: "186" + d, digits),
            "content": st.text(max_size=20),
            "sign": st.text(max_size=8),
            "sequenceId": st.integers(0, 2**63 - 1),
        },
        optional={"sendTime": st.sampled_from(["2017-09-01 00:00:00"])},
    )


@st.composite
def mutated(
    draw: st.DrawFn, good: st.SearchStrategy[dict[str, object]], fields: list[str]
) -> object:
    item: dict[str, object] = dict(draw(good))
    for name in draw(st.lists(st.sampled_from(fields), max_size=3, unique=True)):
        if draw(st.booleans()):
            item[name] = draw(json_values)
        else:
            item.pop(name, None)
    return item


def items_for(stream: Stream) -> st.SearchStrategy[list[object]]:
    good = good_report() if stream is Stream.REPORTS else good_uplink()
    fields = REPORT_FIELDS if stream is Stream.REPORTS else UPLINK_FIELDS
    return st.lists(st.one_of(good, mutated(good, fields), json_values), max_size=MAX_ITEMS)


@st.composite
def pushes(draw: st.DrawFn) -> tuple[Stream, bytes, int | None]:
    """A stream, a body, and its item count when the body is an array we built."""
    stream = draw(st.sampled_from(list(Stream)))
    kind = draw(st.sampled_from(["strict", "strict", "lenient", "raw-utf8", "garbage", "deep"]))
    if kind == "garbage":
        return stream, draw(st.binary(max_size=200)), None
    if kind == "deep":
        levels = draw(st.integers(1, 3000))
        return stream, b"[" * levels + b"]" * draw(st.sampled_from([0, levels])), None
    items = draw(items_for(stream))
    if kind == "raw-utf8":  # surrogates become invalid UTF-8: the body is refused as a whole
        text = json.dumps(items, ensure_ascii=False)
        return stream, text.encode("utf-8", "surrogatepass"), None
    text = json.dumps(items, indent=draw(st.sampled_from([None, 1])))
    if kind == "lenient" and items:
        text = text[: text.rindex("]")] + ",\n// the provider's comment\n]"
    return stream, text.encode(), len(items)


# -- the property ----------------------------------------------------------------------


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(push=pushes())
def test_every_push_gets_the_documented_answer_and_every_item_is_accounted_for(
    push_server: ThreadedPushServer, push: tuple[Stream, bytes, int | None]
) -> None:
    stream, body, item_count = push
    before = snapshot(push_server, stream)
    status, raw = post(push_server.port, PATHS[stream], body)
    after = snapshot(push_server, stream)

    assert status < 500, raw
    answer: dict[str, Any] = json.loads(raw)
    event(f"HTTP {status}")
    new_events = after.events - before.events
    new_dead = after.dead - before.dead
    duplicates = after.duplicates - before.duplicates
    bad_items = after.bad_items - before.bad_items
    event("with bad items" if bad_items else "without bad items")
    if status == 200:
        assert answer == OK[stream]
        assert new_dead == bad_items  # one dead letter per bad item (≤ MAX_ITEMS of them)
        if item_count is not None:
            assert new_events + duplicates + bad_items == item_count
        assert_item_letters(push_server, new_dead)
    else:
        assert status in (400, 413), raw
        assert answer["code"] == (status if stream is Stream.REPORTS else str(status))
        assert isinstance(answer["msg"], str) and answer["msg"]
        assert (new_events, new_dead, bad_items) == (0, 1, 0)


def assert_item_letters(server: ThreadedPushServer, count: int) -> None:
    if not count:
        return
    assert server.backend is not None
    backend = server.backend
    letters = server.call(lambda: backend.dead_letters.dead_letters(limit=count))
    for letter in letters:
        assert letter.error.startswith("item "), letter.error
        json.loads(letter.body)  # the item's own JSON, valid UTF-8
