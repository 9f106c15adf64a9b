"""SQLite group commit: concurrent appends share a transaction, each keeps its own outcome."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from smsgateway.backends import Backend
from smsgateway.backends.sqlite.database import SqliteDatabase
from smsgateway.backends.sqlite.group_commit import GroupCommit
from smsgateway.events.model import Source, StoredReport, Stream
from smsgateway.store_errors import StoreUnavailableError
from smsgateway.upstream.models import DeliveryReport, parse_report_item


def report(batch: int, i: int) -> DeliveryReport:
    return parse_report_item(
        {
            "bizId": f"B{batch}",
            "phoneNumber": f"139{i:08d}",
            "code": "10000",
            "success": True,
            "reportTime": "2026-01-01 12:00:05",
        }
    )


@pytest.fixture
def store(sqlite_store: Backend) -> Backend:
    """SQLite only, here."""
    return sqlite_store


async def test_concurrent_appends_get_consecutive_cursors_each_and_no_gaps(
    store: Backend,
) -> None:
    batches = [[report(b, i) for i in range(50)] for b in range(20)]
    results = await asyncio.wait_for(
        asyncio.gather(*(store.events.append_reports(b, Source.PUSH) for b in batches)), 30
    )
    cursors: list[int] = []
    for result in results:
        own = [e.cursor for e in result.stored]
        assert own == list(range(own[0], own[0] + 50))  # consecutive within an append
        cursors += own
    assert sorted(cursors) == list(range(1, 1001))  # no gaps, no repeats
    read = await store.events.read(Stream.REPORTS, 0, 2000)
    assert [e.cursor for e in read] == list(range(1, 1001))
    # The same pushes again, concurrently: all duplicates, nothing stored.
    again = await asyncio.wait_for(
        asyncio.gather(*(store.events.append_reports(b, Source.PUSH) for b in batches)), 30
    )
    assert all(not r.stored and r.duplicates == 50 for r in again)
    assert await store.events.last_cursor(Stream.REPORTS) == 1000


async def test_a_failing_append_is_undone_alone_and_the_others_commit(store: Backend) -> None:
    good = [[report(b, i) for i in range(3)] for b in range(4)]
    poisoned = [dataclasses.replace(report(9, 0), sms_size=2**63)]  # SQLite INTEGER overflow
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *(store.events.append_reports(b, Source.PUSH) for b in good[:2]),
            store.events.append_reports(poisoned, Source.PUSH),
            *(store.events.append_reports(b, Source.PUSH) for b in good[2:]),
            return_exceptions=True,
        ),
        30,
    )
    assert isinstance(outcomes[2], OverflowError)
    stored = [o for i, o in enumerate(outcomes) if i != 2]
    assert all(not isinstance(o, BaseException) and len(o.stored) == 3 for o in stored)
    read = await store.events.read(Stream.REPORTS, 0, 100)
    assert [e.cursor for e in read] == list(range(1, 13))
    assert {e.report.biz_id for e in read if isinstance(e, StoredReport)} == {
        "B0",
        "B1",
        "B2",
        "B3",
    }


async def test_a_failed_commit_fails_every_append_of_the_group(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "g.db")
    await db.open()
    try:
        await db.write(lambda: db.conn.execute("CREATE TABLE t (v INTEGER)"))
        group = GroupCommit(db)

        def insert(value: int) -> Callable[[sqlite3.Connection], int]:
            def fn(conn: sqlite3.Connection) -> int:
                conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
                return value

            return fn

        def fail_the_transaction(conn: sqlite3.Connection) -> None:
            # An error SQLite answers by rolling the whole transaction back.
            conn.execute("ROLLBACK")
            raise sqlite3.OperationalError("disk I/O error")

        outcomes = await asyncio.wait_for(
            asyncio.gather(
                group.run(insert(1)),
                group.run(fail_the_transaction),
                group.run(insert(2)),
                return_exceptions=True,
            ),
            30,
        )
        # Submitted together, they share one transaction: none of them is stored.
        assert all(isinstance(o, StoreUnavailableError) for o in outcomes), outcomes
        rows = await db.read(lambda: db.conn.execute("SELECT v FROM t").fetchall())
        assert rows == []
        # The next group commits normally.
        assert await asyncio.wait_for(group.run(insert(3)), 30) == 3
    finally:
        await db.close()
