"""One thread that owns a SQLite connection and commits queued work in groups.

Callers on the event loop submit functions; the thread runs every function
queued at that moment inside one transaction (each in its own savepoint, so one
failure does not undo the others) and commits once. Under load this turns many
small durable writes into one fsync, and the event loop never blocks on disk.

Hand-offs are per group, not per function: the functions submitted during one
turn of the event loop travel to the thread as one item, and the thread hands a
group's results back with one wake-up of the loop. A thread hand-off (a wake-up,
the GIL changing hands) costs more CPU than a small SQLite statement, and so does
every statement: each one hands the GIL to the event loop and back (about 40 µs
of CPU under load, against 10 for the SQL). A function submitted as `atomic`
makes its changes in one statement (or its own savepoint), so it runs with no
transaction or savepoint around it: alone, it is one autocommit statement.

Group commit under load (`linger_seconds`): a function submitted with `linger` (its caller
knows that others will follow soon, e.g. other sends are under way) that starts a new group
makes the group wait that long for them, so that one hand-off and one commit serve several
callers; any other function goes in this loop turn. Callers still get their result only
once it is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from smsgateway.store_errors import StoreFullError, StoreUnavailableError

T = TypeVar("T")

_STOP = object()


class SqliteWriter:
    """Serialises all access to one SQLite database through one thread."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "FULL",
        max_group: int = 512,
        wal_autocheckpoint: int | None = None,
        linger_seconds: float = 0.0,
    ) -> None:
        """`wal_autocheckpoint`: WAL pages after which a commit copies them back into the
        database (None: SQLite's default, 1,000); fewer, larger checkpoints cost less per
        commit when commits are many and small. `linger_seconds`: how long a group started
        by a `linger` function waits for more (0: each loop turn's functions go at once)."""
        self._path = path
        self._synchronous = synchronous
        self._max_group = max_group
        self._wal_autocheckpoint = wal_autocheckpoint
        self._linger = linger_seconds
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._batch: list[_Item] | None = None  # this loop turn's functions, not yet handed over
        self._batch_loop: asyncio.AbstractEventLoop | None = None

    def start(self, schema: str = "") -> None:
        """Open the connection in the writer thread and apply `schema` (a SQL script)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready, schema), name=f"sqlite-{self._path.name}", daemon=True
        )
        self._thread.start()
        ready.result()

    async def stop(self) -> None:
        """Finish queued work, then close the connection."""
        if self._thread is None:
            return
        if self._batch:  # submitted in this loop turn: they go first
            self._submit(asyncio.get_running_loop())
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    async def run(
        self, fn: Callable[[sqlite3.Connection], T], *, atomic: bool = False, linger: bool = False
    ) -> T:
        """Run `fn(connection)` in the writer thread, inside a committed transaction.

        `atomic`: `fn` is atomic on its own (a single statement, or its own savepoint when
        `connection.in_transaction`, else its own transaction), so the writer adds neither
        a transaction nor a savepoint; its changes are committed when this returns.
        `linger`: others will follow soon; a group this starts waits `linger_seconds`.
        """
        if self._thread is None:
            raise StoreUnavailableError(f"{self._path.name} is not open")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        batch = self._batch
        if batch is None or self._batch_loop is not loop:
            # (A batch left by a loop that stopped before handing it over is that
            # loop's: its callers are gone with it.)
            batch = self._batch = []
            self._batch_loop = loop
            if linger and self._linger:
                loop.call_later(self._linger, self._submit, loop)
            else:
                loop.call_soon(self._submit, loop)
        batch.append((fn, done, atomic))
        if len(batch) >= self._max_group:
            self._submit(loop)  # full: no reason to wait for more
        try:
            return await done
        except sqlite3.Error as exc:
            if "full" in str(exc).lower():
                raise StoreFullError(f"{self._path.name} is out of disk space") from exc
            raise StoreUnavailableError(f"{self._path.name} is unusable: {exc}") from exc

    def _submit(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand this loop turn's functions to the thread (on the loop)."""
        if self._batch_loop is not loop:
            return  # another loop took over; this one's batch went with it
        batch, self._batch = self._batch, None
        if batch:
            self._queue.put((loop, batch))

    def _run(self, ready: Future[None], schema: str) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA busy_timeout=5000")
            if self._wal_autocheckpoint is not None:
                conn.execute(f"PRAGMA wal_autocheckpoint={int(self._wal_autocheckpoint)}")
            if schema:
                conn.executescript(schema)
        except Exception as exc:
            if conn is not None:
                conn.close()
            ready.set_exception(exc)
            return
        ready.set_result(None)
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                loop, group = first
                stop = False
                while len(group) < self._max_group:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    if item[0] is not loop:  # another loop's work: its own group
                        self._deliver(loop, self._commit_group(conn, group))
                        loop, group = item
                        continue
                    group = group + item[1]
                self._deliver(loop, self._commit_group(conn, group))
                if stop:
                    return
        finally:
            conn.close()

    @staticmethod
    def _deliver(loop: asyncio.AbstractEventLoop, results: list[_Result]) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_release_all, results)

    @staticmethod
    def _commit_group(conn: sqlite3.Connection, group: list[_Item]) -> list[_Result]:
        """Run a group in one transaction; the results to release once it committed."""
        if len(group) == 1:
            # Nothing else shares the transaction: no savepoint needed (each SQLite
            # statement hands the GIL to the event loop and back, so fewer is cheaper).
            fn, done, atomic = group[0]
            if atomic:
                return [SqliteWriter._run_atomic(conn, fn, done)]
            return [SqliteWriter._commit_one(conn, fn, done)]
        results: list[_Result] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, done, atomic in group:
                if atomic:
                    try:
                        value = fn(conn)
                    except BaseException as exc:
                        if not conn.in_transaction:
                            raise  # SQLite rolled the whole group back (see below)
                        results.append((done, False, exc))  # fn left nothing behind
                    else:
                        results.append((done, True, value))
                    continue
                conn.execute("SAVEPOINT item")
                try:
                    value = fn(conn)
                except BaseException as exc:
                    if not conn.in_transaction:
                        # SQLite rolled the whole transaction back itself (SQLITE_FULL,
                        # I/O error): every item of the group failed with this error.
                        raise
                    conn.execute("ROLLBACK TO item")
                    conn.execute("RELEASE item")
                    results.append((done, False, exc))
                else:
                    conn.execute("RELEASE item")
                    results.append((done, True, value))
            conn.execute("COMMIT")
        except BaseException as exc:  # the commit itself failed: nothing is durable
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(done, False, exc) for _, done, _ in group]
        # Results are released only after COMMIT returned: a caller never sees
        # success for a write that is not durable.
        return results

    @staticmethod
    def _run_atomic(
        conn: sqlite3.Connection,
        fn: Callable[[sqlite3.Connection], Any],
        done: asyncio.Future[Any],
    ) -> _Result:
        """A group of one atomic function: it commits (or rolls back) by itself."""
        try:
            return (done, True, fn(conn))
        except BaseException as exc:
            if conn.in_transaction:  # fn's own transaction failed half-way: undo it
                conn.execute("ROLLBACK")
            return (done, False, exc)

    @staticmethod
    def _commit_one(
        conn: sqlite3.Connection,
        fn: Callable[[sqlite3.Connection], Any],
        done: asyncio.Future[Any],
    ) -> _Result:
        """A group of one: its own transaction; a failure of `fn` rolls it back."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                value = fn(conn)
            except BaseException as exc:
                if not conn.in_transaction:
                    raise  # SQLite rolled back itself: reported as the failure below
                conn.execute("ROLLBACK")
                return (done, False, exc)
            conn.execute("COMMIT")
            return (done, True, value)
        except BaseException as exc:  # nothing is durable
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return (done, False, exc)


_Item = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]", bool]
_Result = tuple["asyncio.Future[Any]", bool, Any]


def _release_all(results: list[_Result]) -> None:
    """Hand results to their callers (on the loop)."""
    for done, ok, value in results:
        if done.done():  # the caller gave up (cancelled); the write stands
            continue
        if ok:
            done.set_result(value)
        else:
            done.set_exception(value)
