"""Group commit: appends submitted while the writer is busy share one transaction and one fsync.

Each append runs in its own savepoint, so an append that raises is undone alone
and gets its own error, exactly as if it had had a transaction of its own; the
others of the group commit. Results are released only after COMMIT returned
(and the file was checked to still be the one opened): an append never reports
success for a write that is not durable. When the commit itself fails, every
append of the group fails with that error (nothing of the group is stored).

Order: appends are run in the order they were submitted, so the cursors of one
group are handed out in submission order; each append's own events still get
consecutive cursors. A caller that is cancelled while waiting does not undo its
append (as with a plain `SqliteDatabase.write`).

Bounds: at most `max_group` appends per transaction; the rest wait for the next.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, Final, TypeVar

from smsgateway.backends.sqlite.database import SqliteDatabase, translate

_T = TypeVar("_T")

MAX_GROUP: Final = 64
"""Appends committed together at most (a 1,000-event push is ~20 ms of work)."""

_Item = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]"]


class GroupCommit:
    """Runs `fn(conn)` calls on the writer thread, several per transaction when they queue up."""

    def __init__(self, db: SqliteDatabase, *, max_group: int = MAX_GROUP) -> None:
        self._db = db
        self._max_group = max(1, max_group)
        self._pending: list[_Item] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """`fn(conn)` inside a committed transaction (maybe shared); its result after COMMIT."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        self._pending.append((fn, future))
        drainer = self._drainer
        if drainer is None or drainer.done() or drainer.get_loop() is not loop:
            self._drainer = loop.create_task(self._drain(), name="sqlite-group-commit")
        return await future

    async def _drain(self) -> None:
        while self._pending:
            group = self._pending[: self._max_group]
            del self._pending[: self._max_group]
            try:
                outcomes = await self._db.write(self._commit, [fn for fn, _ in group])
            except BaseException as exc:  # the commit failed: nothing of the group is stored
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, future), (ok, value) in zip(group, outcomes, strict=True):
                if future.done():  # the caller gave up; the write stands
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _commit(self, fns: list[Callable[[sqlite3.Connection], Any]]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        with self._db.transaction() as conn:
            for fn in fns:
                conn.execute("SAVEPOINT item")
                try:
                    value = fn(conn)
                except Exception as exc:
                    if not conn.in_transaction:
                        # SQLite rolled the whole transaction back itself (SQLITE_FULL,
                        # I/O error): every append of the group fails with this error.
                        raise
                    conn.execute("ROLLBACK TO item")
                    conn.execute("RELEASE item")
                    # As `SqliteDatabase.write` would have reported it on its own.
                    error: Exception = exc
                    if isinstance(exc, sqlite3.Error):
                        error = translate(exc, self._db.path)
                        error.__cause__ = exc
                    outcomes.append((False, error))
                else:
                    conn.execute("RELEASE item")
                    outcomes.append((True, value))
        return outcomes
