"""SQLite: batches of every size reuse a few prepared statements, so memory stays bounded.

Python's sqlite3 keeps the last 128 statements of each connection prepared. A
multi-row statement built for each batch size would keep up to 128 of them per
connection, each holding a program of about 1 KiB per row: memory that grew for
minutes under load (a gateway's RSS on SQLite rose by ~15 MiB in a soak). These
tests write batches of 300 different sizes through each batched writer and read
the statements each connection holds prepared from SQLite itself (`sqlite_stmt`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from smsgateway.backends import Backend
from smsgateway.backends.sqlite.idempotency import SqliteIdempotencyStore
from smsgateway.backends.sqlite.rows import execute_rows, select_in
from smsgateway.backends.sqlite.send_log import SqliteSendLog
from smsgateway.events.model import SentBatch, Source, Stream
from smsgateway.upstream.models import parse_report_item
from smsgateway.v1 import smsgateway_pb2 as pb

SIZES = list(range(1, 301))
MAX_STATEMENTS = 40
"""Prepared statements a connection may hold after all those batches (nine shapes per
multi-row statement, plus the fixed ones)."""
MAX_STATEMENT_BYTES = 3 * 1024 * 1024
"""What they may take together; one shape per batch size took several times more."""


def prepared(conn: sqlite3.Connection) -> tuple[int, int]:
    """How many statements the connection holds prepared, and their memory in bytes."""
    count, mem = conn.execute("SELECT count(*), coalesce(sum(mem), 0) FROM sqlite_stmt").fetchone()
    return int(count), int(mem)


async def test_send_log_batches_of_every_size_share_a_few_statements(sqlite_store: Backend) -> None:
    send_log = sqlite_store.send_log
    assert isinstance(send_log, SqliteSendLog)
    now = datetime.now(UTC)
    recorded: list[str] = []
    for size in SIZES:
        batches = [
            SentBatch(uuid.uuid4().hex, ("13800000000",), "Shop", 2, now, "team")
            for _ in range(size)
        ]
        await asyncio.wait_for(send_log.record_sends(batches), 30)
        recorded += [batches[0].biz_id, batches[-1].biz_id]
    db = send_log._db
    count, mem = await db.write(lambda: prepared(db.unsynced))
    assert count <= MAX_STATEMENTS
    assert mem <= MAX_STATEMENT_BYTES
    for biz_id in recorded[::37]:  # every batch landed whole
        found = await send_log.sent_batch(biz_id)
        assert found is not None and found.sign == "Shop"


async def test_outcome_batches_of_every_size_share_a_few_statements(sqlite_store: Backend) -> None:
    store = sqlite_store.idempotency
    assert isinstance(store, SqliteIdempotencyStore)
    for size in SIZES:
        request_id = uuid.uuid4().hex
        response = pb.SendSmsResponse(request_id=request_id)
        for i in range(size):  # more than the inline claim holds: one call row each
            response.calls.add(index=i, phone_numbers=[f"139{i:08d}"])
        assert await asyncio.wait_for(store.claim(request_id, b"fp", response), 30) is None
        for call in response.calls:
            call.outcome = pb.CALL_OUTCOME_ACCEPTED
            call.biz_id = f"{request_id}-{call.index}"
            store.record_outcome(request_id, call)
        # A read applies what is queued first: one write of `size` outcomes.
        record = await asyncio.wait_for(store.get(request_id), 30)
        assert record is not None
        assert [c.outcome for c in record.response.calls] == [pb.CALL_OUTCOME_ACCEPTED] * size
    count, mem = await store._writer.run(prepared)
    assert count <= MAX_STATEMENTS
    assert mem <= MAX_STATEMENT_BYTES


async def test_report_batches_of_every_size_share_a_few_statements(sqlite_store: Backend) -> None:
    stored = 0
    for size in SIZES[:200]:
        reports = [
            parse_report_item(
                {
                    "bizId": f"B{size}-{i % 7}",
                    "phoneNumber": f"139{i:08d}",
                    "code": "10000",
                    "success": True,
                    "reportTime": "2026-01-01 12:00:05",
                }
            )
            for i in range(size)
        ]
        result = await asyncio.wait_for(
            sqlite_store.events.append_reports(reports, Source.PUSH), 30
        )
        assert len(result.stored) == size
        stored += size
    assert await sqlite_store.events.last_cursor(Stream.REPORTS) == stored
    db: Any = sqlite_store.events._db  # type: ignore[attr-defined]
    count, mem = await db.write(lambda: prepared(db.conn))
    assert count <= MAX_STATEMENTS
    assert mem <= MAX_STATEMENT_BYTES


def test_execute_rows_cuts_a_batch_into_power_of_two_statements() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    seen: list[int] = []
    conn.set_trace_callback(lambda sql: seen.append(sql.count("(") - 1))
    rows = 300
    params: list[Any] = [v for i in range(rows) for v in (i, f"v{i}")]
    assert execute_rows(conn, "INSERT INTO t (a, b) VALUES {rows}", 2, params) == rows
    conn.set_trace_callback(None)
    assert seen == [256, 32, 8, 4]  # 300 = 256 + 32 + 8 + 4, in order
    assert [r[0] for r in conn.execute("SELECT a FROM t ORDER BY rowid")] == list(range(rows))
    with pytest.raises(ValueError, match="not rows of 2"):
        execute_rows(conn, "INSERT INTO t (a, b) VALUES {rows}", 2, [1, "x", 2])


def test_select_in_pads_its_lists_and_returns_each_row_once() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    conn.executemany("INSERT INTO t VALUES (?)", [(f"k{i}",) for i in range(1000)])
    lists: list[int] = []
    conn.set_trace_callback(lambda sql: lists.append(sql.count(",") + 1))
    wanted = [f"k{i}" for i in range(0, 1200, 2)]  # 600 values, 500 of them stored
    found = select_in(conn, "SELECT k FROM t WHERE k IN", wanted)
    conn.set_trace_callback(None)
    assert sorted(found) == sorted(f"k{i}" for i in range(0, 1000, 2))
    assert lists == [512, 512]  # 512, then 88 padded up to 512
    assert select_in(conn, "SELECT k FROM t WHERE k IN", []) == []
    assert select_in(conn, "SELECT k FROM t WHERE k IN", ["k3"]) == ["k3"]
