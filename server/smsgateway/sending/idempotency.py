"""Durable memory of sends by `request_id` (AIP-155), in embedded SQLite.

A record holds the request's fingerprint and the send's response as it
progresses. A provider call is written as `CALL_OUTCOME_UNKNOWN` *before* it
is made and rewritten with its real outcome after: if the process dies in
between, the record still says "unknown" and a retry never repeats that call.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from smsgateway.sqlite_writer import SqliteWriter
from smsgateway.v1 import smsgateway_pb2 as pb

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


@dataclass(frozen=True, slots=True)
class SendRecord:
    """What is remembered of one request_id."""

    request_id: str
    fingerprint: bytes
    response: pb.SendSmsResponse
    """The response as last recorded: header fields and every call (totals not filled in)."""


class IdempotencyStore:
    """Records of sends, keyed by request_id, kept for `ttl_seconds`.

    A record is a header (the response without its calls) and one row per
    provider call, so that recording one call's progress rewrites one small row
    even for a send of 100,000 recipients.
    """

    def __init__(
        self, path: Path, *, ttl_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._writer = SqliteWriter(path)
        self._ttl = ttl_seconds
        self._clock = clock

    async def open(self) -> None:
        """Start the writer and create the schema."""
        await asyncio.to_thread(self._writer.start, _SCHEMA)

    async def close(self) -> None:
        """Finish pending writes and close."""
        await self._writer.stop()

    async def get(self, request_id: str) -> SendRecord | None:
        """The live record of a request_id, or None (expired records do not count)."""
        oldest = self._clock() - self._ttl

        def read(conn: sqlite3.Connection) -> SendRecord | None:
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

        return await self._writer.run(read)

    async def create(
        self, request_id: str, fingerprint: bytes, response: pb.SendSmsResponse
    ) -> None:
        """Record a new send with its planned calls (replacing an expired record)."""
        now = self._clock()
        header = pb.SendSmsResponse()
        header.CopyFrom(response)
        del header.calls[:]
        header_blob = header.SerializeToString()
        rows = [
            (
                request_id,
                c.index,
                ",".join(c.phone_numbers),
                c.outcome,
                c.biz_id,
                c.provider_code,
                c.message,
            )
            for c in response.calls
        ]

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM send_calls WHERE request_id = ?", (request_id,))
            conn.execute(
                "INSERT OR REPLACE INTO sends (request_id, fingerprint, header, created_at)"
                " VALUES (?, ?, ?, ?)",
                (request_id, fingerprint, header_blob, now),
            )
            conn.executemany("INSERT INTO send_calls VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

        await self._writer.run(write)

    async def update_call(self, request_id: str, call: pb.UpstreamCall) -> None:
        """Record one call's outcome; durable when this returns."""
        values = (
            call.outcome,
            call.biz_id,
            call.provider_code,
            call.message,
            request_id,
            call.index,
        )

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE send_calls SET outcome = ?, biz_id = ?, provider_code = ?, message = ?"
                " WHERE request_id = ? AND idx = ?",
                values,
            )

        await self._writer.run(write)

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

        return await self._writer.run(delete)
