"""`IdempotencyStore` on embedded SQLite: durable memory of sends by `request_id` (AIP-155).

A record holds the request's fingerprint and the send's response as it
progresses. A provider call is written as `CALL_OUTCOME_UNKNOWN` *before* it
is made and rewritten with its real outcome after: if the process dies in
between, the record still says "unknown" and a retry never repeats that call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from smsgateway.backends.sqlite.writer import SqliteWriter
from smsgateway.sending.ports import SendRecord
from smsgateway.store_errors import StoreUnavailableError
from smsgateway.v1 import smsgateway_pb2 as pb

T = TypeVar("T")
log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    request_id  TEXT PRIMARY KEY,
    fingerprint BLOB NOT NULL,
    header      BLOB NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_created_at ON sends (created_at);
CREATE TABLE IF NOT EXISTS send_calls (
    request_id    TEXT NOT NULL REFERENCES sends (request_id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    phone_numbers TEXT NOT NULL,
    outcome       INTEGER NOT NULL,
    biz_id        TEXT NOT NULL DEFAULT '',
    provider_code TEXT NOT NULL DEFAULT '',
    message       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (request_id, idx)
) WITHOUT ROWID;
"""


class SqliteIdempotencyStore:
    """`IdempotencyStore` in SQLite: records of sends, keyed by request_id, kept for `ttl_seconds`.

    A record is a header (the response without its calls) and one row per
    provider call, so that recording one call's progress rewrites one small row
    even for a send of 100,000 recipients.
    """

    def __init__(
        self, path: Path, *, ttl_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        # WAL + NORMAL survives a process crash (SIGKILL); only an OS crash or a
        # power cut may lose the last commits. FULL costs an fsync per group.
        self._path = path
        self._inode: tuple[int, int] | None = None
        self._writer = SqliteWriter(path, synchronous="NORMAL")
        self._ttl = ttl_seconds
        self._clock = clock
        self._outcomes: list[_Outcome] = []
        self._flusher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Start the writer and create the schema."""
        await asyncio.to_thread(self._writer.start, _SCHEMA)
        self._inode = _inode(self._path)

    async def check(self) -> None:
        """Raise `StoreUnavailableError` unless the file is the one opened and answers."""
        if _inode(self._path) != self._inode:
            raise StoreUnavailableError(f"{self._path} was deleted or replaced")
        await self._writer.run(lambda conn: conn.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        """Finish pending writes and close."""
        if self._flusher is not None:
            await self._flusher
        await self._writer.stop()

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> Awaitable[T]:
        # Every operation first applies the outcomes recorded so far, so that
        # nothing reads a record older than what this process already knows.
        outcomes, self._outcomes = self._outcomes, []
        if not outcomes:
            return self._writer.run(fn)

        def with_outcomes(conn: sqlite3.Connection) -> T:
            conn.executemany(_UPDATE_CALL, outcomes)
            return fn(conn)

        return self._writer.run(with_outcomes)

    async def get(self, request_id: str) -> SendRecord | None:
        """The live record of a request_id, or None (expired records do not count)."""
        oldest = self._clock() - self._ttl
        return await self._run(lambda conn: _read(conn, request_id, oldest))

    async def claim(
        self, request_id: str, fingerprint: bytes, response: pb.SendSmsResponse
    ) -> SendRecord | None:
        """Record a new send with its planned calls, in one durable step with the lookup.

        Returns None when the send is new (now recorded), or the live record that
        already holds this request_id (nothing written).
        """
        now = self._clock()
        oldest = now - self._ttl
        header_blob, rows = _rows(request_id, response)

        def claim(conn: sqlite3.Connection) -> SendRecord | None:
            # The common case, a new request_id, in two statements.
            if conn.execute(_CLAIM, (request_id, fingerprint, header_blob, now)).rowcount == 1:
                _insert_calls(conn, rows)
                return None
            existing = _read(conn, request_id, oldest)
            if existing is None:  # an expired record not pruned yet: replaced
                _insert(conn, request_id, fingerprint, header_blob, rows, now)
            return existing

        return await self._run(claim)

    async def update_call(self, request_id: str, call: pb.UpstreamCall) -> None:
        """Record one call's state; durable when this returns."""
        values = _outcome(request_id, call)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(_UPDATE_CALL, values)

        await self._run(write)

    async def take_calls(self, request_id: str, calls: Sequence[pb.UpstreamCall]) -> set[int]:
        """Write each call (in flight) only if its stored outcome is retryable (not sent,
        rejected), one statement per call in one transaction; the indexes this caller
        took, committed by then."""
        values = [_outcome(request_id, call) for call in calls]

        def take(conn: sqlite3.Connection) -> set[int]:
            return {v[5] for v in values if conn.execute(_TAKE_CALL, v).rowcount == 1}

        return await self._run(take)

    def record_outcome(self, request_id: str, call: pb.UpstreamCall) -> None:
        """Record a finished call's outcome soon, batched with others; not awaited.

        Until it is written the call stays "in flight" (unknown) in the database,
        so a crash in between makes a retry report it as unknown: never sent twice.
        """
        self._outcomes.append(_outcome(request_id, call))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        # Linger a moment: the claims of other sends meanwhile carry the outcomes
        # along (see `_run`), which saves a hand-off to the writer per outcome.
        await asyncio.sleep(_OUTCOME_LINGER_SECONDS)
        while self._outcomes:
            try:
                await self._run(lambda conn: None)
            except Exception:
                log.exception("recording send outcomes failed; they stay 'in flight'")

    async def prune(self) -> int:
        """Forget records older than the TTL; return how many."""
        oldest = self._clock() - self._ttl

        def delete(conn: sqlite3.Connection) -> int:
            conn.execute(
                "DELETE FROM send_calls WHERE request_id IN"
                " (SELECT request_id FROM sends WHERE created_at < ?)",
                (oldest,),
            )
            return conn.execute("DELETE FROM sends WHERE created_at < ?", (oldest,)).rowcount

        return await self._run(delete)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


_OUTCOME_LINGER_SECONDS = 0.005
"""How long a recorded outcome waits for another write to travel with (it reads "in
flight" in the file meanwhile, which a crash turns into "unknown", never a resend)."""
_Row = tuple[str, int, str, int, str, str, str]
_Outcome = tuple[int, str, str, str, str, int]
_UPDATE_CALL = (
    "UPDATE send_calls SET outcome = ?, biz_id = ?, provider_code = ?, message = ?"
    " WHERE request_id = ? AND idx = ?"
)
_TAKE_CALL = _UPDATE_CALL + (
    f" AND outcome IN ({int(pb.CALL_OUTCOME_NOT_SENT)}, {int(pb.CALL_OUTCOME_REJECTED)})"
)


def _outcome(request_id: str, call: pb.UpstreamCall) -> _Outcome:
    return (
        int(call.outcome),
        call.biz_id,
        call.provider_code,
        call.message,
        request_id,
        call.index,
    )


def _rows(request_id: str, response: pb.SendSmsResponse) -> tuple[bytes, list[_Row]]:
    header = pb.SendSmsResponse()
    header.CopyFrom(response)
    del header.calls[:]
    rows = [
        (
            request_id,
            c.index,
            ",".join(c.phone_numbers),
            int(c.outcome),
            c.biz_id,
            c.provider_code,
            c.message,
        )
        for c in response.calls
    ]
    return header.SerializeToString(), rows


def _insert(
    conn: sqlite3.Connection,
    request_id: str,
    fingerprint: bytes,
    header_blob: bytes,
    rows: list[_Row],
    now: float,
) -> None:
    conn.execute("DELETE FROM send_calls WHERE request_id = ?", (request_id,))
    conn.execute(
        "INSERT OR REPLACE INTO sends (request_id, fingerprint, header, created_at)"
        " VALUES (?, ?, ?, ?)",
        (request_id, fingerprint, header_blob, now),
    )
    _insert_calls(conn, rows)


_CLAIM = (
    "INSERT INTO sends (request_id, fingerprint, header, created_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (request_id) DO NOTHING"
)
_CALLS_PER_STATEMENT = 256
"""Call rows per INSERT (7 parameters each, well under SQLite's 32,766): one statement
hands the GIL over once, where executemany would for every row."""


def _insert_calls(conn: sqlite3.Connection, rows: list[_Row]) -> None:
    for start in range(0, len(rows), _CALLS_PER_STATEMENT):
        chunk = rows[start : start + _CALLS_PER_STATEMENT]
        conn.execute(
            "INSERT INTO send_calls VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk)),
            [value for row in chunk for value in row],
        )


def _read(conn: sqlite3.Connection, request_id: str, oldest: float) -> SendRecord | None:
    row = conn.execute(
        "SELECT fingerprint, header FROM sends WHERE request_id = ? AND created_at >= ?",
        (request_id, oldest),
    ).fetchone()
    if row is None:
        return None
    response = pb.SendSmsResponse.FromString(row[1])
    for idx, numbers, outcome, biz_id, code, message in conn.execute(
        "SELECT idx, phone_numbers, outcome, biz_id, provider_code, message"
        " FROM send_calls WHERE request_id = ? ORDER BY idx",
        (request_id,),
    ):
        response.calls.add(
            index=idx,
            phone_numbers=numbers.split(",") if numbers else [],
            outcome=outcome,
            biz_id=biz_id,
            provider_code=code,
            message=message,
        )
    return SendRecord(request_id, row[0], response)
