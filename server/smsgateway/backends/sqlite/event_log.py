"""`EventLog` on the embedded SQLite database: reports and uplinks with their cursors.

Cursors are the tables' `INTEGER PRIMARY KEY AUTOINCREMENT` row ids:
increasing, never reused after a prune, and without gaps from duplicates
(duplicates are filtered before the insert).
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from smsgateway.backends.sqlite.database import SqliteDatabase
from smsgateway.backends.sqlite.group_commit import GroupCommit
from smsgateway.backends.sqlite.rows import (
    COLUMNS,
    TABLE,
    event_from_row,
    filter_sql,
    insert_rows,
    last_cursor,
    select_in,
    utc,
)
from smsgateway.events.model import (
    AppendResult,
    DeliveryReportIn,
    EventFilter,
    IsoTimes,
    Retention,
    Source,
    StoredEvent,
    StoredReport,
    StoredUplink,
    Stream,
    UplinkIn,
    report_dedup_keys,
)

_log = logging.getLogger(__name__)

_PRUNE_CHUNK: Final = 5_000
"""Rows deleted per transaction, so that a large prune never holds the writer long."""

_REPORT_INSERT: Final = (
    "INSERT INTO reports (dedup_key, biz_id, phone, code, success, message, sms_size,"
    " send_time, report_time, sign, receive_time, source, traceparent) VALUES"
)
_UPLINK_INSERT: Final = (
    "INSERT INTO uplinks (dedup_key, phone, content, sign, sequence_id, send_time,"
    " receive_time, source, opt_out, traceparent) VALUES"
)
_COLUMNS: Final = {Stream.REPORTS: 13, Stream.UPLINKS: 10}
"""Values per row of `_REPORT_INSERT` / `_UPLINK_INSERT`."""


class SqliteEventLog:
    """`EventLog` on a `SqliteDatabase` (it also writes opt-out suppressions atomically)."""

    def __init__(self, db: SqliteDatabase, *, clock: Callable[[], float] = time.time) -> None:
        """`clock` gives wall-clock seconds (receive times, retention)."""
        self._db = db
        self._clock = clock
        # Concurrent pushes share a transaction (and its fsync); see group_commit.py.
        self._group = GroupCommit(db)

    # -- events -------------------------------------------------------------
    async def append_reports(
        self, reports: Sequence[DeliveryReportIn], source: Source, traceparent: str = ""
    ) -> AppendResult:
        if not reports:
            return AppendResult(stored=(), duplicates=0)
        return await self._group.run(
            functools.partial(self._append_reports, list(reports), source, traceparent)
        )

    def _existing_keys(self, conn: sqlite3.Connection, table: str, keys: list[str]) -> set[str]:
        # Bound parameters, not json_each: keys are exact byte strings (json_each would
        # cut a text at a NUL and miss a stored key).
        return set(select_in(conn, f"SELECT dedup_key FROM {table} WHERE dedup_key IN", keys))

    def _append_reports(
        self,
        reports: list[DeliveryReportIn],
        source: Source,
        traceparent: str,
        conn: sqlite3.Connection,
    ) -> AppendResult:
        """Inside the caller's transaction (a group commit's savepoint)."""
        now = self._clock()
        received = utc(now)
        iso = IsoTimes()
        # Each distinct time formatted once (isoformat was a fifth of an append's CPU).
        keys = report_dedup_keys(reports, iso)
        source_value = source.value
        seen = self._existing_keys(conn, "reports", keys)
        biz_ids = sorted({r.biz_id for r in reports})
        signs: dict[str, str] = {}
        for table in ("sends", "send_log") if self._db.legacy_send_log else ("send_log",):
            signs.update(
                select_in(
                    conn,
                    f"SELECT biz_id, sign FROM {table} WHERE biz_id IN",
                    biz_ids,
                    row=lambda r: (r[0], r[1]),
                )
            )
        new: list[DeliveryReportIn] = []
        new_signs: list[str] = []
        params: list[Any] = []
        for report, key in zip(reports, keys, strict=True):
            if key in seen:
                continue
            seen.add(key)
            new.append(report)
            sign = signs.get(report.biz_id, "")
            new_signs.append(sign)
            params += (
                key,
                report.biz_id,
                report.phone_number,
                report.provider_code,
                int(report.success),
                report.message,
                report.sms_size,
                iso(report.send_time),
                iso(report.report_time),
                sign,
                now,
                source_value,
                traceparent,
            )
        first = self._insert_rows(conn, Stream.REPORTS, _REPORT_INSERT, params)
        stored: list[StoredEvent] = [
            StoredReport(first + i, report, received, source, sign, traceparent)
            for i, (report, sign) in enumerate(zip(new, new_signs, strict=True))
        ]
        return AppendResult(stored=stored, duplicates=len(reports) - len(stored))

    def _insert_rows(
        self, conn: sqlite3.Connection, stream: Stream, insert: str, params: list[Any]
    ) -> int:
        """Insert the rows whose values `params` holds one after the other; return the
        first row's cursor.

        With AUTOINCREMENT and the write lock held, the new rows get the
        consecutive cursors after the table's sequence; checked, not assumed.
        """
        before = last_cursor(conn, stream)
        if params:
            count = insert_rows(conn, insert, _COLUMNS[stream], params)
            after = last_cursor(conn, stream)
            if after != before + count:
                raise RuntimeError(
                    f"{stream} cursors jumped from {before} to {after} for {count} rows"
                )
        return before + 1

    async def append_uplinks(
        self,
        uplinks: Sequence[UplinkIn],
        source: Source,
        opt_out_keys: frozenset[str] = frozenset(),
        traceparent: str = "",
    ) -> AppendResult:
        if not uplinks:
            return AppendResult(stored=(), duplicates=0)
        return await self._group.run(
            functools.partial(
                self._append_uplinks, list(uplinks), source, opt_out_keys, traceparent
            )
        )

    def _append_uplinks(
        self,
        uplinks: list[UplinkIn],
        source: Source,
        opt_out_keys: frozenset[str],
        traceparent: str,
        conn: sqlite3.Connection,
    ) -> AppendResult:
        """Inside the caller's transaction (a group commit's savepoint)."""
        now = self._clock()
        received = utc(now)
        iso = IsoTimes()
        keys = [u.dedup_key() for u in uplinks]
        seen = self._existing_keys(conn, "uplinks", keys)
        new: list[tuple[UplinkIn, bool]] = []
        params: list[Any] = []
        for uplink, key in zip(uplinks, keys, strict=True):
            if key in seen:
                continue
            seen.add(key)
            opt_out = key in opt_out_keys
            new.append((uplink, opt_out))
            params += (
                key,
                uplink.phone_number,
                uplink.content,
                uplink.sign,
                uplink.sequence_id,
                iso(uplink.send_time),
                now,
                source.value,
                int(opt_out),
                traceparent,
            )
        first = self._insert_rows(conn, Stream.UPLINKS, _UPLINK_INSERT, params)
        # Only a newly stored opt-out suppresses: the same uplink pulled again
        # must not undo a suppression an operator lifted since.
        conn.executemany(
            "INSERT OR IGNORE INTO suppressions (sign, phone, reason, created_at)"
            " VALUES (?, ?, ?, ?)",
            [
                (u.sign, u.phone_number, f"uplink: {u.content[:64]}", now)
                for u, opt_out in new
                if opt_out
            ],
        )
        stored: list[StoredEvent] = [
            StoredUplink(first + i, uplink, received, source, opt_out, traceparent)
            for i, (uplink, opt_out) in enumerate(new)
        ]
        return AppendResult(stored=stored, duplicates=len(uplinks) - len(stored))

    async def read(
        self, stream: Stream, after: int, limit: int, event_filter: EventFilter | None = None
    ) -> list[StoredEvent]:
        if limit <= 0:
            return []
        return await self._db.read(self._select_after, stream, after, limit, event_filter)

    def _select_after(
        self, stream: Stream, after: int, limit: int, event_filter: EventFilter | None
    ) -> list[StoredEvent]:
        where, params = filter_sql(stream, event_filter)
        rows = self._db.conn.execute(
            f"SELECT {COLUMNS[stream]} FROM {TABLE[stream]} WHERE cursor > ?{where}"
            " ORDER BY cursor LIMIT ?",
            (after, *params, limit),
        ).fetchall()
        return [event_from_row(stream, row) for row in rows]

    async def last_cursor(self, stream: Stream) -> int:
        return await self._db.read(lambda: last_cursor(self._db.conn, stream))

    def _oldest_cursor(self, stream: Stream) -> int:
        row = self._db.conn.execute(f"SELECT MIN(cursor) FROM {TABLE[stream]}").fetchone()
        if row[0] is None:
            return last_cursor(self._db.conn, stream) + 1
        return int(row[0])

    async def oldest_cursor(self, stream: Stream) -> int:
        return await self._db.read(self._oldest_cursor, stream)

    async def cursor_before_time(self, stream: Stream, at: datetime) -> int:
        if at.tzinfo is None:
            raise ValueError("cursor_before_time needs an aware datetime")
        return await self._db.read(self._cursor_before_time, stream, at.timestamp())

    def _cursor_before_time(self, stream: Stream, ts: float) -> int:
        row = self._db.conn.execute(
            f"SELECT MIN(cursor) FROM {TABLE[stream]} WHERE receive_time >= ?", (ts,)
        ).fetchone()
        if row[0] is None:
            return last_cursor(self._db.conn, stream)
        return int(row[0]) - 1

    # -- retention ----------------------------------------------------------
    async def prune(self, retention: Retention) -> int:
        cutoff = self._clock() - retention.max_age_seconds
        total = 0
        for stream in Stream:
            through = await self._db.read(self._prune_through, stream, cutoff, retention.max_events)
            # Delete in chunks so that appends interleave with a long prune.
            while through > 0:
                deleted = await self._db.write(self._delete_through, stream, through)
                total += deleted
                if deleted < _PRUNE_CHUNK:
                    break
        await self._db.write(self._prune_side_tables, cutoff)
        if total:
            _log.info("pruned %d events beyond retention", total)
        return total

    def _prune_through(self, stream: Stream, cutoff: float, max_events: int) -> int:
        """The highest cursor to drop: a prefix of the stream, by age and by count."""
        table = TABLE[stream]
        conn = self._db.conn
        through = 0
        row = conn.execute(
            f"SELECT MAX(cursor) FROM {table} WHERE receive_time < ?", (cutoff,)
        ).fetchone()
        if row[0] is not None:
            through = int(row[0])
        # Cursors have no gaps (duplicates are filtered before the insert, and
        # prunes only cut a prefix), so the newest `max_events` are the cursors
        # above last - max_events: no need to count millions of rows.
        return max(through, last_cursor(self._db.conn, stream) - max(max_events, 0))

    def _delete_through(self, stream: Stream, through: int) -> int:
        table = TABLE[stream]
        with self._db.transaction() as conn:
            cur = conn.execute(
                f"DELETE FROM {table} WHERE cursor IN"
                f" (SELECT cursor FROM {table} WHERE cursor <= ? ORDER BY cursor LIMIT ?)",
                (through, _PRUNE_CHUNK),
            )
            deleted = cur.rowcount
            # Leases of dropped events can never be delivered again.
            conn.execute(
                "DELETE FROM leases WHERE stream = ? AND cursor <= ?"
                f" AND cursor < (SELECT COALESCE(MIN(cursor), ?) FROM {table})",
                (stream.value, through, through + 1),
            )
        return deleted

    def _prune_side_tables(self, cutoff: float) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sends WHERE sent_at < ?", (cutoff,))
            conn.execute("DELETE FROM send_log WHERE sent_at < ?", (cutoff,))
            conn.execute("DELETE FROM dead_letters WHERE received_at < ?", (cutoff,))
