"""The embedded event database: one SQLite file in WAL mode, shared by the event aggregates.

Durability: `synchronous=FULL` with WAL fsyncs the log on every commit, so an
append that returned survives a process crash *and* a power loss; the gateway
answers the provider only after that, which is what "acknowledged is never
lost" needs. Each append is one transaction, so the fsync is paid per push.

Threads: SQLite calls block, so none runs on the event loop. One dedicated
writer thread owns the write connection, which serialises every write (SQLite
allows one writer anyway) and makes cursor assignment race-free; a second
thread with its own connection serves plain reads, which in WAL mode never
wait for the writer.

Health: `check()` notices the file being deleted or replaced under the running
process (its inode changed) and a database that no longer answers; every
SQLite failure reaches callers as `StoreUnavailableError` (a full disk as
`StoreFullError`), never as a bare `sqlite3` error.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

from smsgateway.backends.sqlite.schema import SCHEMA, SCHEMA_VERSION, migrate_columns
from smsgateway.store_errors import StoreFullError, StoreUnavailableError

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

_FULL_MARKERS: Final = ("database or disk is full",)


def translate(exc: sqlite3.Error, path: Path) -> StoreUnavailableError:
    """The store error a SQLite failure means for callers (message without SQL or data)."""
    text = str(exc).lower()
    if any(marker in text for marker in _FULL_MARKERS):
        return StoreFullError(f"the event store {path.name} is out of disk space")
    return StoreUnavailableError(f"the event store {path.name} is unusable: {exc}")


class SqliteDatabase:
    """Owns the connections and the two threads of the event database."""

    def __init__(
        self, path: Path, *, synchronous: str = "FULL", busy_timeout_seconds: float = 30.0
    ) -> None:
        """`synchronous` is the SQLite pragma (FULL, or NORMAL to trade power-loss
        durability of the last commits for speed)."""
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"unsupported synchronous mode {synchronous!r}")
        self.path = Path(path)
        self._synchronous = synchronous.upper()
        self._busy_timeout_ms = int(busy_timeout_seconds * 1000)
        self._writer: ThreadPoolExecutor | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._inode: tuple[int, int] | None = None
        self.legacy_send_log = False
        """True when the file holds send-log records of schema 2 (`sends`), read next to
        `send_log` until retention removes them; nothing writes `sends` any more."""
        # Each connection is created, used and closed on its own thread only.
        self._local = threading.local()

    # -- plumbing -----------------------------------------------------------
    def _open_connection(self, synchronous: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=self._busy_timeout_ms / 1000
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        return conn

    def _connect(self) -> None:
        self._local.conn = self._open_connection(self._synchronous)

    def _connect_unsynced(self) -> None:
        self._local.unsynced = self._open_connection("NORMAL")

    def _disconnect(self) -> None:
        for name in ("unsynced", "conn"):
            conn: sqlite3.Connection | None = getattr(self._local, name, None)
            if conn is not None:
                conn.close()
                setattr(self._local, name, None)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (only valid inside `write`/`read` functions)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            raise RuntimeError("the event store is not open")
        return conn

    @property
    def unsynced(self) -> sqlite3.Connection:
        """The writer thread's second connection, in autocommit and `synchronous=NORMAL`
        (only valid inside `write` functions), for records written behind that nothing
        acknowledged: each statement commits by itself without syncing the log, so it
        survives a process crash, and the next synced commit makes it power-safe too
        (the log is synced up to its end). One statement instead of a transaction's
        three: each hands the GIL to the event loop and back."""
        conn: sqlite3.Connection | None = getattr(self._local, "unsynced", None)
        if conn is None:
            raise RuntimeError("the event store is not open")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT on the writer connection; ROLLBACK on any error."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    async def write(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run `fn(*args)` on the writer thread (use `transaction()` inside).

        After the write, the file is checked to still be the one opened: a commit
        into a deleted or replaced file would be lost at the next start, so it is
        reported as `StoreUnavailableError` instead of success.
        """
        return await self._submit(self._writer, self._verified, (fn, args))

    def _verified(self, fn: Callable[..., _T], args: tuple[Any, ...]) -> _T:
        result = fn(*args)
        if self._inode is not None and self._stat() != self._inode:
            raise StoreUnavailableError(
                f"the event store file {self.path} was deleted or replaced under the gateway"
            )
        return result

    async def read(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run `fn(*args)` on the reader thread."""
        return await self._submit(self._reader, fn, args)

    async def _submit(
        self, executor: ThreadPoolExecutor | None, fn: Callable[..., _T], args: tuple[Any, ...]
    ) -> _T:
        if executor is None:
            raise StoreUnavailableError("the event store is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, functools.partial(fn, *args))
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    # -- lifecycle ----------------------------------------------------------
    async def open(self) -> None:
        """Create or migrate the schema and start both threads; idempotent."""
        if self._writer is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")
        try:
            await self.write(self._connect)
            await self.write(self._migrate)
            await self.write(self._connect_unsynced)
            await self.read(self._connect)
            self._inode = self._stat()
        except BaseException:
            await self.close()
            raise

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino)

    def _migrate(self) -> None:
        conn = self.conn
        conn.executescript(SCHEMA)
        migrate_columns(conn)
        self.legacy_send_log = conn.execute("SELECT 1 FROM sends LIMIT 1").fetchone() is not None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} has schema version {row[0]}, newer than this gateway's "
                f"{SCHEMA_VERSION}"
            )
        else:
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )

    async def check(self) -> None:
        """Raise `StoreUnavailableError` unless the file is the one opened and answers."""
        if self._writer is None:
            raise StoreUnavailableError("the event store is not open")
        current = await asyncio.to_thread(self._stat)
        if current is None:
            raise StoreUnavailableError(f"the event store file {self.path} was deleted")
        if current != self._inode:
            raise StoreUnavailableError(f"the event store file {self.path} was replaced")
        await self.read(self._probe)

    def _probe(self) -> None:
        self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()

    async def close(self) -> None:
        """Close both connections and stop the threads."""
        writer, reader = self._writer, self._reader
        self._writer = self._reader = None
        loop = asyncio.get_running_loop()
        for executor in (reader, writer):
            if executor is None:
                continue
            try:
                await loop.run_in_executor(executor, self._disconnect)
            finally:
                executor.shutdown(wait=True)
