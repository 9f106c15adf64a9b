"""SqliteWriter's group commit under load: a group started by a function that expects others
lingers for them; any other function, a full group and what lingers at stop go at once. And
the idempotency store lingers only while other sends are under way."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from smsgateway.backends.sqlite import idempotency
from smsgateway.backends.sqlite.idempotency import SqliteIdempotencyStore
from smsgateway.backends.sqlite.writer import SqliteWriter
from smsgateway.v1 import smsgateway_pb2 as pb

_SCHEMA = "CREATE TABLE IF NOT EXISTS items (k INTEGER PRIMARY KEY)"


def _insert(k: int) -> Callable[[sqlite3.Connection], int]:
    return lambda conn: conn.execute("INSERT INTO items VALUES (?)", (k,)).rowcount


def _count_groups(writer: SqliteWriter) -> list[int]:
    """The size of each group the writer commits, in order."""
    sizes: list[int] = []
    commit = writer._commit_group

    def counted(conn: sqlite3.Connection, group: list[Any]) -> Any:
        sizes.append(len(group))
        return commit(conn, group)

    writer._commit_group = counted  # type: ignore[method-assign]
    return sizes


def _stored(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:  # another connection: only what was committed
        return [row[0] for row in conn.execute("SELECT k FROM items ORDER BY k")]


async def _started(path: Path, **options: Any) -> SqliteWriter:
    writer = SqliteWriter(path, synchronous="NORMAL", **options)
    await asyncio.to_thread(writer.start, _SCHEMA)
    return writer


async def test_functions_that_expect_others_share_lingering_groups(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = await _started(path, linger_seconds=0.05)
    sizes = _count_groups(writer)
    try:

        async def one(k: int) -> int:
            await asyncio.sleep(k * 0.002)  # a steady stream, one every 2 ms
            return await writer.run(_insert(k), atomic=True, linger=True)

        results = await asyncio.wait_for(asyncio.gather(*(one(k) for k in range(60))), 10)
    finally:
        await writer.stop()
    assert results == [1] * 60  # each got its own answer, once committed
    assert _stored(path) == list(range(60))
    assert sum(sizes) == 60
    # 120 ms of arrivals in 50 ms groups (the first goes at once): a handful of groups, not 60.
    assert len(sizes) <= 6, sizes


async def test_a_function_that_expects_no_others_goes_at_once(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = await _started(path, linger_seconds=60.0)  # a linger no test would wait out
    try:
        for k in range(3):  # one after another, as a caller that waits for each
            assert await asyncio.wait_for(writer.run(_insert(k), atomic=True), 5) == 1
        assert _stored(path) == [0, 1, 2]
    finally:
        await writer.stop()


async def test_a_full_group_goes_without_waiting_for_the_linger(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = await _started(path, linger_seconds=60.0, max_group=4)
    sizes = _count_groups(writer)
    try:
        # The group lingers, and goes as soon as it holds four.
        results = await asyncio.wait_for(
            asyncio.gather(*(writer.run(_insert(k), linger=True) for k in range(4))), 5
        )
    finally:
        await writer.stop()
    assert results == [1, 1, 1, 1]
    assert sizes == [4]
    assert _stored(path) == [0, 1, 2, 3]


async def test_stop_commits_a_lingering_group_and_answers_its_callers(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = await _started(path, linger_seconds=60.0)
    await asyncio.wait_for(writer.run(_insert(0)), 5)
    lingering = asyncio.ensure_future(writer.run(_insert(1), linger=True))
    await asyncio.sleep(0.05)
    assert not lingering.done()  # waiting for company
    await asyncio.wait_for(writer.stop(), 5)
    assert await asyncio.wait_for(lingering, 5) == 1
    assert _stored(path) == [0, 1]


def _in_flight(request_id: str) -> pb.SendSmsResponse:
    response = pb.SendSmsResponse(request_id=request_id, recipient_count=1)
    response.calls.add(index=0, phone_numbers=["13800000000"], outcome=pb.CALL_OUTCOME_UNKNOWN)
    return response


def _landed(response: pb.SendSmsResponse) -> pb.UpstreamCall:
    call = pb.UpstreamCall()
    call.CopyFrom(response.calls[0])
    call.outcome = pb.CALL_OUTCOME_ACCEPTED
    call.biz_id = "B-" + response.request_id
    return call


@contextlib.asynccontextmanager
async def _opened_store(path: Path) -> AsyncIterator[SqliteIdempotencyStore]:
    store = SqliteIdempotencyStore(path, ttl_seconds=3600)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_claims_one_after_another_do_not_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "_GROUP_LINGER_SECONDS", 60.0)
    async with _opened_store(tmp_path / "idem.db") as store:
        for k in range(5):  # a caller sending one after another: no other send under way
            response = _in_flight(f"seq-{k}")
            assert await asyncio.wait_for(store.claim(f"seq-{k}", b"f", response), 5) is None
            store.record_outcome(f"seq-{k}", _landed(response))
        record = await asyncio.wait_for(store.get("seq-4"), 5)
        assert record is not None
        assert record.response.calls[0].outcome == pb.CALL_OUTCOME_ACCEPTED


async def test_claims_made_while_a_send_is_under_way_share_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "_GROUP_LINGER_SECONDS", 0.05)
    async with _opened_store(tmp_path / "idem.db") as store:
        sizes = _count_groups(store._writer)
        first = _in_flight("open")
        assert await asyncio.wait_for(store.claim("open", b"f", first), 5) is None  # at once
        assert sizes == [1]

        async def one(k: int) -> object:
            await asyncio.sleep(k * 0.002)
            return await store.claim(f"c-{k}", b"f", _in_flight(f"c-{k}"))

        # "open" has its call in flight: the next claims linger for one another.
        results = await asyncio.wait_for(asyncio.gather(*(one(k) for k in range(20))), 10)
        assert results == [None] * 20
        assert 2 <= len(sizes) <= 4, sizes
        for k in range(20):
            record = await asyncio.wait_for(store.get(f"c-{k}"), 5)
            assert record is not None and record.fingerprint == b"f"
