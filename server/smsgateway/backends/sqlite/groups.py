"""`ConsumerGroups` on the embedded SQLite database: durable positions and leases.

A group's position says that every event at or below it was handed out at
least once; a lease is one handed-out event awaiting its ack. The number of
groups is bounded (`max_groups`), and groups idle for long are deleted by
`prune_groups`, so caller-chosen names cannot grow the table without limit.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence

from smsgateway.backends.sqlite.database import SqliteDatabase
from smsgateway.backends.sqlite.rows import COLUMNS, TABLE, event_from_row, filter_sql, last_cursor
from smsgateway.events.model import (
    EventFilter,
    GroupInfo,
    GroupMismatchError,
    StoredEvent,
    Stream,
    TooManyGroupsError,
    UnknownGroupError,
)


class SqliteConsumerGroups:
    """`ConsumerGroups` on a `SqliteDatabase`."""

    def __init__(
        self,
        db: SqliteDatabase,
        *,
        max_groups: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`max_groups` bounds the groups of both streams together; `clock` gives
        wall-clock seconds (lease expiry, idleness)."""
        self._db = db
        self._max_groups = max_groups
        self._clock = clock

    async def join_group(
        self, stream: Stream, name: str, start_after: int, filter_key: str
    ) -> GroupInfo:
        return await self._db.write(self._join_group, stream, name, start_after, filter_key)

    def _join_group(
        self, stream: Stream, name: str, start_after: int, filter_key: str
    ) -> GroupInfo:
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT position, filter_key FROM groups WHERE stream = ? AND name = ?",
                (stream.value, name),
            ).fetchone()
            if row is None:
                count = conn.execute("SELECT COUNT(*) FROM groups").fetchone()[0]
                if count >= self._max_groups:
                    raise TooManyGroupsError(
                        f"there are already {count} consumer groups (the limit is"
                        f" {self._max_groups}); delete unused ones or raise the limit"
                    )
                now = self._clock()
                conn.execute(
                    "INSERT INTO groups"
                    " (stream, name, position, filter_key, created_at, last_active)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (stream.value, name, max(start_after, 0), filter_key, now, now),
                )
                return GroupInfo(stream, name, max(start_after, 0), filter_key, 0)
            if row["filter_key"] != filter_key:
                raise GroupMismatchError(
                    f"consumer group {name!r} of {stream} exists with another filter"
                )
            pending = conn.execute(
                "SELECT COUNT(*) FROM leases WHERE stream = ? AND grp = ?", (stream.value, name)
            ).fetchone()[0]
            self._touch(conn, stream, name)
            return GroupInfo(stream, name, int(row["position"]), filter_key, int(pending))

    async def claim(
        self,
        stream: Stream,
        group: str,
        member: str,
        limit: int,
        lease_seconds: float,
        event_filter: EventFilter | None = None,
    ) -> list[StoredEvent]:
        if limit <= 0:
            return []
        return await self._db.write(
            self._claim, stream, group, member, limit, lease_seconds, event_filter
        )

    def _claim(
        self,
        stream: Stream,
        group: str,
        member: str,
        limit: int,
        lease_seconds: float,
        event_filter: EventFilter | None,
    ) -> list[StoredEvent]:
        table, columns = TABLE[stream], COLUMNS[stream]
        now = self._clock()
        expires = now + lease_seconds
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT position FROM groups WHERE stream = ? AND name = ?",
                (stream.value, group),
            ).fetchone()
            if row is None:
                raise UnknownGroupError(f"no consumer group {group!r} on {stream}")
            position = int(row[0])
            self._touch(conn, stream, group)
            # 1. Leases that ran out (their holder is slow or gone) go first.
            expired = [
                r[0]
                for r in conn.execute(
                    "SELECT cursor FROM leases WHERE stream = ? AND grp = ? AND expires_at <= ?"
                    " ORDER BY cursor LIMIT ?",
                    (stream.value, group, now, limit),
                )
            ]
            events: list[StoredEvent] = []
            if expired:
                rows = conn.execute(
                    f"SELECT {columns} FROM {table}"
                    " WHERE cursor IN (SELECT value FROM json_each(?)) ORDER BY cursor",
                    (json.dumps(expired),),
                ).fetchall()
                events = [event_from_row(stream, r) for r in rows]
                found = [e.cursor for e in events]
                gone = set(expired) - set(found)
                if gone:  # pruned meanwhile: nothing left to deliver
                    conn.execute(
                        "DELETE FROM leases WHERE stream = ? AND grp = ?"
                        " AND cursor IN (SELECT value FROM json_each(?))",
                        (stream.value, group, json.dumps(sorted(gone))),
                    )
                conn.execute(
                    "UPDATE leases SET member = ?, expires_at = ?, deliveries = deliveries + 1"
                    " WHERE stream = ? AND grp = ? AND cursor IN (SELECT value FROM json_each(?))",
                    (member, expires, stream.value, group, json.dumps(found)),
                )
            # 2. New events after the group's position.
            remaining = limit - len(events)
            if remaining > 0:
                where, params = filter_sql(stream, event_filter)
                rows = conn.execute(
                    f"SELECT {columns} FROM {table} WHERE cursor > ?{where}"
                    " ORDER BY cursor LIMIT ?",
                    (position, *params, remaining),
                ).fetchall()
                fresh = [event_from_row(stream, r) for r in rows]
                if len(fresh) == remaining:
                    new_position = fresh[-1].cursor
                else:
                    # Fewer matches than asked: every event up to the newest was
                    # seen, the non-matching ones are skipped for good.
                    new_position = max(position, last_cursor(self._db.conn, stream))
                conn.executemany(
                    "INSERT OR REPLACE INTO leases"
                    " (stream, grp, cursor, member, expires_at, deliveries)"
                    " VALUES (?, ?, ?, ?, ?, 1)",
                    [(stream.value, group, e.cursor, member, expires) for e in fresh],
                )
                if new_position != position:
                    conn.execute(
                        "UPDATE groups SET position = ? WHERE stream = ? AND name = ?",
                        (new_position, stream.value, group),
                    )
                events.extend(fresh)
        return events

    async def ack(self, stream: Stream, group: str, cursors: Sequence[int]) -> int:
        if not cursors:
            return 0
        return await self._db.write(self._ack, stream, group, [int(c) for c in cursors])

    def _ack(self, stream: Stream, group: str, cursors: list[int]) -> int:
        with self._db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM leases WHERE stream = ? AND grp = ?"
                " AND cursor IN (SELECT value FROM json_each(?))",
                (stream.value, group, json.dumps(cursors)),
            )
            self._touch(conn, stream, group)
            return cur.rowcount

    async def release(self, stream: Stream, group: str, member: str) -> int:
        return await self._db.write(self._release, stream, group, member)

    def _release(self, stream: Stream, group: str, member: str) -> int:
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE leases SET expires_at = ? WHERE stream = ? AND grp = ? AND member = ?",
                (0.0, stream.value, group, member),
            )
            return cur.rowcount

    async def groups(self, stream: Stream) -> list[GroupInfo]:
        return await self._db.read(self._groups, stream)

    def _groups(self, stream: Stream) -> list[GroupInfo]:
        rows = self._db.conn.execute(
            "SELECT g.name, g.position, g.filter_key,"
            " (SELECT COUNT(*) FROM leases l WHERE l.stream = g.stream AND l.grp = g.name)"
            " FROM groups g WHERE g.stream = ? ORDER BY g.name",
            (stream.value,),
        ).fetchall()
        return [GroupInfo(stream, r[0], int(r[1]), r[2], int(r[3])) for r in rows]

    async def delete_group(self, stream: Stream, name: str) -> bool:
        return await self._db.write(self._delete_group, stream, name)

    def _delete_group(self, stream: Stream, name: str) -> bool:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM leases WHERE stream = ? AND grp = ?", (stream.value, name))
            cur = conn.execute(
                "DELETE FROM groups WHERE stream = ? AND name = ?", (stream.value, name)
            )
            return cur.rowcount > 0

    async def prune_groups(self, idle_seconds: float) -> list[tuple[Stream, str]]:
        return await self._db.write(self._prune_groups, self._clock() - idle_seconds)

    def _prune_groups(self, idle_before: float) -> list[tuple[Stream, str]]:
        with self._db.transaction() as conn:
            idle = [
                (Stream(r[0]), str(r[1]))
                for r in conn.execute(
                    "SELECT stream, name FROM groups WHERE MAX(last_active, created_at) < ?",
                    (idle_before,),
                )
            ]
            for stream, name in idle:
                conn.execute(
                    "DELETE FROM leases WHERE stream = ? AND grp = ?", (stream.value, name)
                )
                conn.execute(
                    "DELETE FROM groups WHERE stream = ? AND name = ?", (stream.value, name)
                )
        return idle

    def _touch(self, conn: sqlite3.Connection, stream: Stream, name: str) -> None:
        conn.execute(
            "UPDATE groups SET last_active = ? WHERE stream = ? AND name = ?",
            (self._clock(), stream.value, name),
        )
