"""SqliteWriter's group commit under load: functions that keep arriving share a group after a
linger; one after a quiet spell, a full group and what is queued at stop go at once."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smsgateway.backends.sqlite.writer import SqliteWriter

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


async def test_functions_arriving_faster_than_the_linger_share_groups(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = await _started(path, linger_seconds=0.05)
    sizes = _count_groups(writer)
    try:

        async def one(k: int) -> int:
            await asyncio.sleep(k * 0.002)  # a steady stream, one every 2 ms
            return await writer.run(_insert(k), atomic=True)

        results = await asyncio.wait_for(asyncio.gather(*(one(k) for k in range(60))), 10)
    finally:
        await writer.stop()
    assert results == [1] * 60  # each got its own answer, once committed
    assert _stored(path) == list(range(60))
    assert sum(sizes) == 60
    # 120 ms of arrivals in 50 ms groups (the first goes at once): a handful of groups, not 60.
    assert len(sizes) <= 6, sizes


async def test_a_function_after_a_quiet_spell_goes_at_once(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = await _started(path, linger_seconds=60.0)  # a linger no test would wait out
    try:
        assert await asyncio.wait_for(writer.run(_insert(1), atomic=True), 5) == 1
        assert _stored(path) == [1]
    finally:
        await writer.stop()


async def test_a_full_group_goes_without_waiting_for_the_linger(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = await _started(path, linger_seconds=60.0, max_group=4)
    sizes = _count_groups(writer)
    try:
        await asyncio.wait_for(writer.run(_insert(0)), 5)  # the first one: at once
        # Right after it: the next group lingers, and goes as soon as it holds four.
        results = await asyncio.wait_for(
            asyncio.gather(*(writer.run(_insert(k)) for k in range(1, 5))), 5
        )
    finally:
        await writer.stop()
    assert results == [1, 1, 1, 1]
    assert sizes == [1, 4]
    assert _stored(path) == [0, 1, 2, 3, 4]


async def test_stop_commits_a_lingering_group_and_answers_its_callers(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = await _started(path, linger_seconds=60.0)
    await asyncio.wait_for(writer.run(_insert(0)), 5)
    lingering = asyncio.ensure_future(writer.run(_insert(1)))
    await asyncio.sleep(0.05)
    assert not lingering.done()  # waiting for company
    await asyncio.wait_for(writer.stop(), 5)
    assert await asyncio.wait_for(lingering, 5) == 1
    assert _stored(path) == [0, 1]
