"""`DeadLetters` on the embedded SQLite database, bounded in count and bytes.

A dead letter keeps the first `max_body_bytes` of what was rejected plus its
original length. When adding one would exceed `max_count` or `max_bytes`, the
oldest are dropped first (in the same transaction) and counted in
`dropped_total`, so a flood of bad pushes costs bounded disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from smsgateway.backends.sqlite.database import SqliteDatabase
from smsgateway.backends.sqlite.rows import utc
from smsgateway.events.model import DeadLetter, Stream

_MAX_ERROR_CHARS = 1000


class SqliteDeadLetters:
    """`DeadLetters` on a `SqliteDatabase`."""

    def __init__(
        self,
        db: SqliteDatabase,
        *,
        max_count: int = 10_000,
        max_bytes: int = 64 * 1024 * 1024,
        max_body_bytes: int = 64 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`max_count` and `max_bytes` bound what is kept (bodies as truncated);
        `max_body_bytes` is how much of one body is kept."""
        self._db = db
        self._max_count = max(1, max_count)
        self._max_bytes = max(1, max_bytes)
        self._max_body = max(0, max_body_bytes)
        self._clock = clock
        self.dropped_total = 0
        """Dead letters dropped to stay within the bounds since start."""

    async def add_dead_letter(self, stream: Stream, body: bytes, error: str) -> None:
        kept = bytes(body[: self._max_body])
        dropped = await self._db.write(self._add, stream, kept, len(body), error)
        self.dropped_total += dropped

    def _add(self, stream: Stream, body: bytes, length: int, error: str) -> int:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO dead_letters (stream, received_at, error, body, original_length)"
                " VALUES (?, ?, ?, ?, ?)",
                (stream.value, self._clock(), error[:_MAX_ERROR_CHARS], body, length),
            )
            count, size = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM dead_letters"
            ).fetchone()
            dropped = 0
            while count > self._max_count or (size > self._max_bytes and count > 1):
                # Drop the oldest in one step: as many as needed for both bounds.
                excess = max(count - self._max_count, 1)
                rows = conn.execute(
                    "SELECT id, LENGTH(body) FROM dead_letters ORDER BY id LIMIT ?", (excess,)
                ).fetchall()
                conn.execute("DELETE FROM dead_letters WHERE id <= ?", (rows[-1][0],))
                count -= len(rows)
                size -= sum(r[1] for r in rows)
                dropped += len(rows)
        return dropped

    async def dead_letters(
        self, stream: Stream | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        return await self._db.read(self._rows, stream, limit)

    def _rows(self, stream: Stream | None, limit: int) -> list[DeadLetter]:
        sql = "SELECT stream, received_at, error, body, original_length FROM dead_letters"
        params: tuple[Any, ...] = ()
        if stream is not None:
            sql += " WHERE stream = ?"
            params = (stream.value,)
        rows = self._db.conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, max(limit, 0)))
        return [
            DeadLetter(Stream(r[0]), utc(r[1]), r[2], bytes(r[3]), int(r[4]) or len(r[3]))
            for r in rows
        ]

    async def dead_letter_count(self) -> int:
        return await self._db.read(self._count)

    def _count(self) -> int:
        return int(self._db.conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])
