"""The embedded event store: one SQLite file in WAL mode.

Durability: `synchronous=FULL` with WAL fsyncs the log on every commit, so an
append that returned survives a process crash *and* a power loss; the gateway
answers the provider only after that, which is what "acknowledged is never
lost" needs. (`NORMAL` would survive a crash but could lose the last commits on
power loss.) Each append is one transaction, so the fsync is paid per push, not
per event.

Threads: SQLite calls block, so none runs on the event loop. One dedicated
writer thread owns the write connection, which serialises every write (SQLite
allows one writer anyway) and makes cursor assignment race-free; a second
thread with its own connection serves plain reads, which in WAL mode never
wait for the writer.

Cursors are the tables' `INTEGER PRIMARY KEY AUTOINCREMENT` row ids:
increasing, never reused after a prune, and without gaps from duplicates
(duplicates are filtered before the insert).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from smsgateway.events.model import (
    KNOWN_PROVIDER_CODES,
    AppendResult,
    DeliveryReportIn,
    EventFilter,
    GroupInfo,
    GroupMismatchError,
    ReportFilter,
    Retention,
    SentBatch,
    Source,
    StoredEvent,
    StoredReport,
    StoredUplink,
    StoreStats,
    Stream,
    Suppression,
    UnknownGroupError,
    UplinkFilter,
    UplinkIn,
)

_log = logging.getLogger(__name__)

_T = TypeVar("_T")

SCHEMA_VERSION: Final = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    cursor       INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key    TEXT NOT NULL UNIQUE,
    biz_id       TEXT NOT NULL,
    phone        TEXT NOT NULL,
    code         TEXT NOT NULL,
    success      INTEGER NOT NULL,
    message      TEXT NOT NULL,
    sms_size     INTEGER NOT NULL,
    send_time    TEXT,
    report_time  TEXT,
    sign         TEXT NOT NULL DEFAULT '',
    receive_time REAL NOT NULL,
    source       TEXT NOT NULL,
    traceparent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS reports_biz_phone ON reports (biz_id, phone);
CREATE INDEX IF NOT EXISTS reports_phone ON reports (phone);
CREATE INDEX IF NOT EXISTS reports_receive ON reports (receive_time);
CREATE TABLE IF NOT EXISTS uplinks (
    cursor       INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key    TEXT NOT NULL UNIQUE,
    phone        TEXT NOT NULL,
    content      TEXT NOT NULL,
    sign         TEXT NOT NULL,
    sequence_id  INTEGER NOT NULL,
    send_time    TEXT,
    receive_time REAL NOT NULL,
    source       TEXT NOT NULL,
    opt_out      INTEGER NOT NULL,
    traceparent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS uplinks_phone ON uplinks (phone);
CREATE INDEX IF NOT EXISTS uplinks_receive ON uplinks (receive_time);
CREATE TABLE IF NOT EXISTS groups (
    stream     TEXT NOT NULL,
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL,
    filter_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (stream, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
    stream     TEXT NOT NULL,
    grp        TEXT NOT NULL,
    cursor     INTEGER NOT NULL,
    member     TEXT NOT NULL,
    expires_at REAL NOT NULL,
    deliveries INTEGER NOT NULL,
    PRIMARY KEY (stream, grp, cursor)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS leases_expiry ON leases (stream, grp, expires_at);
CREATE INDEX IF NOT EXISTS leases_member ON leases (stream, grp, member);
CREATE TABLE IF NOT EXISTS sends (
    biz_id        TEXT PRIMARY KEY,
    sign          TEXT NOT NULL,
    kind          INTEGER NOT NULL,
    sent_at       REAL NOT NULL,
    phone_numbers TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sends_sent_at ON sends (sent_at);
CREATE TABLE IF NOT EXISTS suppressions (
    sign       TEXT NOT NULL,
    phone      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (sign, phone)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    stream      TEXT NOT NULL,
    received_at REAL NOT NULL,
    error       TEXT NOT NULL,
    body        BLOB NOT NULL
);
"""

_REPORT_COLUMNS = (
    "cursor, biz_id, phone, code, success, message, sms_size, send_time, report_time, "
    "sign, receive_time, source, traceparent"
)
_UPLINK_COLUMNS = (
    "cursor, phone, content, sign, sequence_id, send_time, receive_time, source, opt_out, "
    "traceparent"
)
_TABLE: Final = {Stream.REPORTS: "reports", Stream.UPLINKS: "uplinks"}
_COLUMNS: Final = {Stream.REPORTS: _REPORT_COLUMNS, Stream.UPLINKS: _UPLINK_COLUMNS}

_PRUNE_CHUNK = 5_000
"""Rows deleted per transaction, so that a large prune never holds the writer long."""


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


class _IsoCache:
    """isoformat() of aware datetimes, memoised: a push repeats the same few times."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[tuple[datetime, object], str] = {}

    def __call__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        # Aware datetimes compare by instant: key by the zone too, so that
        # 12:00+08:00 and 04:00+00:00 keep their own text.
        key = (value, value.tzinfo)
        text = self._cache.get(key)
        if text is None:
            text = self._cache[key] = value.isoformat()
        return text


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _json_list(values: Sequence[str] | frozenset[str] | set[str]) -> str:
    # Sets of any size go in as one parameter (json_each), so a long filter never
    # hits SQLite's limit on bound variables.
    return json.dumps(list(values), ensure_ascii=False)


def _report_from_row(row: sqlite3.Row) -> StoredReport:
    report = DeliveryReportIn(
        biz_id=row["biz_id"],
        phone_number=row["phone"],
        provider_code=row["code"],
        success=bool(row["success"]),
        message=row["message"],
        sms_size=row["sms_size"],
        send_time=_from_iso(row["send_time"]),
        report_time=_from_iso(row["report_time"]),
    )
    return StoredReport(
        cursor=row["cursor"],
        report=report,
        receive_time=_utc(row["receive_time"]),
        source=Source(row["source"]),
        sign=row["sign"],
        traceparent=row["traceparent"],
    )


def _uplink_from_row(row: sqlite3.Row) -> StoredUplink:
    uplink = UplinkIn(
        phone_number=row["phone"],
        content=row["content"],
        sign=row["sign"],
        sequence_id=row["sequence_id"],
        send_time=_from_iso(row["send_time"]),
    )
    return StoredUplink(
        cursor=row["cursor"],
        uplink=uplink,
        receive_time=_utc(row["receive_time"]),
        source=Source(row["source"]),
        opt_out=bool(row["opt_out"]),
        traceparent=row["traceparent"],
    )


def _event_from_row(stream: Stream, row: sqlite3.Row) -> StoredEvent:
    return _report_from_row(row) if stream is Stream.REPORTS else _uplink_from_row(row)


def _filter_sql(stream: Stream, event_filter: EventFilter | None) -> tuple[str, list[Any]]:
    """SQL conditions (joined with AND, prefixed by AND) and their parameters."""
    if event_filter is None:
        return "", []
    clauses: list[str] = []
    params: list[Any] = []
    if stream is Stream.REPORTS:
        if not isinstance(event_filter, ReportFilter):
            raise TypeError(f"a {type(event_filter).__name__} does not filter reports")
        if event_filter.biz_ids:
            clauses.append("biz_id IN (SELECT value FROM json_each(?))")
            params.append(_json_list(event_filter.biz_ids))
    elif not isinstance(event_filter, UplinkFilter):
        raise TypeError(f"a {type(event_filter).__name__} does not filter uplinks")
    # Both streams filter on phone and sign alike.
    if event_filter.phone_numbers:
        clauses.append("phone IN (SELECT value FROM json_each(?))")
        params.append(_json_list(event_filter.phone_numbers))
    if event_filter.sign:
        clauses.append("sign = ?")
        params.append(event_filter.sign)
    if isinstance(event_filter, ReportFilter):
        code_clauses: list[str] = []
        if event_filter.provider_codes:
            code_clauses.append("code IN (SELECT value FROM json_each(?))")
            params.append(_json_list(event_filter.provider_codes))
        if event_filter.other_codes:
            code_clauses.append("code NOT IN (SELECT value FROM json_each(?))")
            params.append(_json_list(KNOWN_PROVIDER_CODES))
        if code_clauses:
            clauses.append("(" + " OR ".join(code_clauses) + ")")
    return "".join(f" AND {c}" for c in clauses), params


class SQLiteEventStore:
    """`EventStore` on one SQLite file (WAL, synchronous=FULL)."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        synchronous: str = "FULL",
        busy_timeout_seconds: float = 30.0,
    ) -> None:
        """`clock` gives wall-clock seconds (receive times, lease expiry);
        `synchronous` is the SQLite pragma (FULL, or NORMAL to trade power-loss
        durability of the last commits for speed)."""
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"unsupported synchronous mode {synchronous!r}")
        self._path = Path(path)
        self._clock = clock
        self._synchronous = synchronous.upper()
        self._busy_timeout_ms = int(busy_timeout_seconds * 1000)
        self._writer: ThreadPoolExecutor | None = None
        self._reader: ThreadPoolExecutor | None = None
        # Each connection is created, used and closed on its own thread only.
        self._local = threading.local()

    # -- plumbing -----------------------------------------------------------
    def _connect(self) -> None:
        conn = sqlite3.connect(
            self._path, isolation_level=None, timeout=self._busy_timeout_ms / 1000
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        self._local.conn = conn

    def _disconnect(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @property
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            raise RuntimeError("the event store is not open")
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    async def _write(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._writer is None:
            raise RuntimeError("the event store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(fn, *args))

    async def _read(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._reader is None:
            raise RuntimeError("the event store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, functools.partial(fn, *args))

    # -- lifecycle ----------------------------------------------------------
    async def open(self) -> None:
        if self._writer is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")
        try:
            await self._write(self._connect)
            await self._write(self._migrate)
            await self._read(self._connect)
        except BaseException:
            await self.close()
            raise

    def _migrate(self) -> None:
        conn = self._conn
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self._path} has schema version {row[0]}, newer than this gateway's "
                f"{SCHEMA_VERSION}"
            )

    def _count_dead_letters(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])

    async def close(self) -> None:
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

    # -- events -------------------------------------------------------------
    async def append_reports(
        self, reports: Sequence[DeliveryReportIn], source: Source, traceparent: str = ""
    ) -> AppendResult:
        if not reports:
            return AppendResult(stored=(), duplicates=0)
        return await self._write(self._append_reports, list(reports), source, traceparent)

    def _existing_keys(self, conn: sqlite3.Connection, table: str, keys: list[str]) -> set[str]:
        rows = conn.execute(
            f"SELECT dedup_key FROM {table} WHERE dedup_key IN (SELECT value FROM json_each(?))",
            (_json_list(keys),),
        )
        return {r[0] for r in rows}

    def _append_reports(
        self, reports: list[DeliveryReportIn], source: Source, traceparent: str
    ) -> AppendResult:
        now = self._clock()
        received = _utc(now)
        iso = _IsoCache()
        with self._transaction() as conn:
            seen = self._existing_keys(conn, "reports", [r.dedup_key() for r in reports])
            signs: dict[str, str] = dict(
                conn.execute(
                    "SELECT biz_id, sign FROM sends"
                    " WHERE biz_id IN (SELECT value FROM json_each(?))",
                    (_json_list({r.biz_id for r in reports}),),
                ).fetchall()
            )
            new: list[DeliveryReportIn] = []
            rows: list[tuple[Any, ...]] = []
            for report in reports:
                key = report.dedup_key()
                if key in seen:
                    continue
                seen.add(key)
                new.append(report)
                rows.append(
                    (
                        key,
                        report.biz_id,
                        report.phone_number,
                        report.provider_code,
                        int(report.success),
                        report.message,
                        report.sms_size,
                        iso(report.send_time),
                        iso(report.report_time),
                        signs.get(report.biz_id, ""),
                        now,
                        source.value,
                        traceparent,
                    )
                )
            first = self._insert_rows(
                conn,
                Stream.REPORTS,
                "INSERT INTO reports (dedup_key, biz_id, phone, code, success, message,"
                " sms_size, send_time, report_time, sign, receive_time, source, traceparent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        stored: list[StoredEvent] = [
            StoredReport(
                cursor=first + i,
                report=report,
                receive_time=received,
                source=source,
                sign=row[9],
                traceparent=traceparent,
            )
            for i, (report, row) in enumerate(zip(new, rows, strict=True))
        ]
        return AppendResult(stored=stored, duplicates=len(reports) - len(stored))

    def _insert_rows(
        self, conn: sqlite3.Connection, stream: Stream, sql: str, rows: list[tuple[Any, ...]]
    ) -> int:
        """Insert rows in one statement; return the first row's cursor.

        With AUTOINCREMENT and the write lock held, the new rows get the
        consecutive cursors after the table's sequence; checked, not assumed.
        """
        before = self._last_cursor(stream)
        if rows:
            conn.executemany(sql, rows)
            after = self._last_cursor(stream)
            if after != before + len(rows):
                raise RuntimeError(
                    f"{stream} cursors jumped from {before} to {after} for {len(rows)} rows"
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
        return await self._write(
            self._append_uplinks, list(uplinks), source, opt_out_keys, traceparent
        )

    def _append_uplinks(
        self,
        uplinks: list[UplinkIn],
        source: Source,
        opt_out_keys: frozenset[str],
        traceparent: str,
    ) -> AppendResult:
        now = self._clock()
        received = _utc(now)
        iso = _IsoCache()
        with self._transaction() as conn:
            seen = self._existing_keys(conn, "uplinks", [u.dedup_key() for u in uplinks])
            new: list[tuple[UplinkIn, bool]] = []
            rows: list[tuple[Any, ...]] = []
            for uplink in uplinks:
                key = uplink.dedup_key()
                if key in seen:
                    continue
                seen.add(key)
                opt_out = key in opt_out_keys
                new.append((uplink, opt_out))
                rows.append(
                    (
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
                )
            first = self._insert_rows(
                conn,
                Stream.UPLINKS,
                "INSERT INTO uplinks (dedup_key, phone, content, sign, sequence_id, send_time,"
                " receive_time, source, opt_out, traceparent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
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
            StoredUplink(
                cursor=first + i,
                uplink=uplink,
                receive_time=received,
                source=source,
                opt_out=opt_out,
                traceparent=traceparent,
            )
            for i, (uplink, opt_out) in enumerate(new)
        ]
        return AppendResult(stored=stored, duplicates=len(uplinks) - len(stored))

    async def read(
        self, stream: Stream, after: int, limit: int, event_filter: EventFilter | None = None
    ) -> list[StoredEvent]:
        if limit <= 0:
            return []
        return await self._read(self._select_after, stream, after, limit, event_filter)

    def _select_after(
        self, stream: Stream, after: int, limit: int, event_filter: EventFilter | None
    ) -> list[StoredEvent]:
        where, params = _filter_sql(stream, event_filter)
        rows = self._conn.execute(
            f"SELECT {_COLUMNS[stream]} FROM {_TABLE[stream]} WHERE cursor > ?{where}"
            " ORDER BY cursor LIMIT ?",
            (after, *params, limit),
        ).fetchall()
        return [_event_from_row(stream, row) for row in rows]

    def _last_cursor(self, stream: Stream) -> int:
        # sqlite_sequence keeps the highest cursor ever handed out, even after a
        # prune emptied the table.
        row = self._conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = ?", (_TABLE[stream],)
        ).fetchone()
        return int(row[0]) if row is not None else 0

    async def last_cursor(self, stream: Stream) -> int:
        return await self._read(self._last_cursor, stream)

    def _oldest_cursor(self, stream: Stream) -> int:
        row = self._conn.execute(f"SELECT MIN(cursor) FROM {_TABLE[stream]}").fetchone()
        if row[0] is None:
            return self._last_cursor(stream) + 1
        return int(row[0])

    async def oldest_cursor(self, stream: Stream) -> int:
        return await self._read(self._oldest_cursor, stream)

    async def cursor_before_time(self, stream: Stream, at: datetime) -> int:
        if at.tzinfo is None:
            raise ValueError("cursor_before_time needs an aware datetime")
        return await self._read(self._cursor_before_time, stream, at.timestamp())

    def _cursor_before_time(self, stream: Stream, ts: float) -> int:
        row = self._conn.execute(
            f"SELECT MIN(cursor) FROM {_TABLE[stream]} WHERE receive_time >= ?", (ts,)
        ).fetchone()
        if row[0] is None:
            return self._last_cursor(stream)
        return int(row[0]) - 1

    async def add_dead_letter(self, stream: Stream, body: bytes, error: str) -> None:
        await self._write(self._add_dead_letter, stream, bytes(body), error)

    def _add_dead_letter(self, stream: Stream, body: bytes, error: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO dead_letters (stream, received_at, error, body) VALUES (?, ?, ?, ?)",
                (stream.value, self._clock(), error[:1000], body),
            )

    async def dead_letters(
        self, stream: Stream | None = None, limit: int = 100
    ) -> list[tuple[Stream, datetime, str, bytes]]:
        """The newest dead letters (stream, received, error, raw body), newest first."""
        return await self._read(self._dead_letter_rows, stream, limit)

    def _dead_letter_rows(
        self, stream: Stream | None, limit: int
    ) -> list[tuple[Stream, datetime, str, bytes]]:
        sql = "SELECT stream, received_at, error, body FROM dead_letters"
        params: tuple[Any, ...] = ()
        if stream is not None:
            sql += " WHERE stream = ?"
            params = (stream.value,)
        rows = self._conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [(Stream(r[0]), _utc(r[1]), r[2], bytes(r[3])) for r in rows]

    async def stats(self) -> StoreStats:
        last = {stream: await self.last_cursor(stream) for stream in Stream}
        return StoreStats(dead_letters=await self._read(self._count_dead_letters), last_cursor=last)

    # -- retention ----------------------------------------------------------
    async def prune(self, retention: Retention) -> int:
        cutoff = self._clock() - retention.max_age_seconds
        total = 0
        for stream in Stream:
            through = await self._read(self._prune_through, stream, cutoff, retention.max_events)
            # Delete in chunks so that appends interleave with a long prune.
            while through > 0:
                deleted = await self._write(self._delete_through, stream, through)
                total += deleted
                if deleted < _PRUNE_CHUNK:
                    break
        await self._write(self._prune_side_tables, cutoff)
        if total:
            _log.info("pruned %d events beyond retention", total)
        return total

    def _prune_through(self, stream: Stream, cutoff: float, max_events: int) -> int:
        """The highest cursor to drop: a prefix of the stream, by age and by count."""
        table = _TABLE[stream]
        conn = self._conn
        through = 0
        row = conn.execute(
            f"SELECT MAX(cursor) FROM {table} WHERE receive_time < ?", (cutoff,)
        ).fetchone()
        if row[0] is not None:
            through = int(row[0])
        # Cursors have no gaps (duplicates are filtered before the insert, and
        # prunes only cut a prefix), so the newest `max_events` are the cursors
        # above last - max_events: no need to count millions of rows.
        return max(through, self._last_cursor(stream) - max(max_events, 0))

    def _delete_through(self, stream: Stream, through: int) -> int:
        table = _TABLE[stream]
        with self._transaction() as conn:
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
        with self._transaction() as conn:
            conn.execute("DELETE FROM sends WHERE sent_at < ?", (cutoff,))
            conn.execute("DELETE FROM dead_letters WHERE received_at < ?", (cutoff,))

    # -- consumer groups ----------------------------------------------------
    async def join_group(
        self, stream: Stream, name: str, start_after: int, filter_key: str
    ) -> GroupInfo:
        return await self._write(self._join_group, stream, name, start_after, filter_key)

    def _join_group(
        self, stream: Stream, name: str, start_after: int, filter_key: str
    ) -> GroupInfo:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT position, filter_key FROM groups WHERE stream = ? AND name = ?",
                (stream.value, name),
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO groups (stream, name, position, filter_key, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (stream.value, name, max(start_after, 0), filter_key, self._clock()),
                )
                return GroupInfo(stream, name, max(start_after, 0), filter_key, 0)
            if row["filter_key"] != filter_key:
                raise GroupMismatchError(
                    f"consumer group {name!r} of {stream} exists with another filter"
                )
            pending = conn.execute(
                "SELECT COUNT(*) FROM leases WHERE stream = ? AND grp = ?", (stream.value, name)
            ).fetchone()[0]
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
        return await self._write(
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
        table, columns = _TABLE[stream], _COLUMNS[stream]
        now = self._clock()
        expires = now + lease_seconds
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT position FROM groups WHERE stream = ? AND name = ?",
                (stream.value, group),
            ).fetchone()
            if row is None:
                raise UnknownGroupError(f"no consumer group {group!r} on {stream}")
            position = int(row[0])
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
                events = [_event_from_row(stream, r) for r in rows]
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
                where, params = _filter_sql(stream, event_filter)
                rows = conn.execute(
                    f"SELECT {columns} FROM {table} WHERE cursor > ?{where}"
                    " ORDER BY cursor LIMIT ?",
                    (position, *params, remaining),
                ).fetchall()
                fresh = [_event_from_row(stream, r) for r in rows]
                if len(fresh) == remaining:
                    new_position = fresh[-1].cursor
                else:
                    # Fewer matches than asked: every event up to the newest was
                    # seen, the non-matching ones are skipped for good.
                    new_position = max(position, self._last_cursor(stream))
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
        return await self._write(self._ack, stream, group, [int(c) for c in cursors])

    def _ack(self, stream: Stream, group: str, cursors: list[int]) -> int:
        with self._transaction() as conn:
            cur = conn.execute(
                "DELETE FROM leases WHERE stream = ? AND grp = ?"
                " AND cursor IN (SELECT value FROM json_each(?))",
                (stream.value, group, json.dumps(cursors)),
            )
            return cur.rowcount

    async def release(self, stream: Stream, group: str, member: str) -> int:
        return await self._write(self._release, stream, group, member)

    def _release(self, stream: Stream, group: str, member: str) -> int:
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE leases SET expires_at = ? WHERE stream = ? AND grp = ? AND member = ?",
                (0.0, stream.value, group, member),
            )
            return cur.rowcount

    async def groups(self, stream: Stream) -> list[GroupInfo]:
        return await self._read(self._groups, stream)

    def _groups(self, stream: Stream) -> list[GroupInfo]:
        rows = self._conn.execute(
            "SELECT g.name, g.position, g.filter_key,"
            " (SELECT COUNT(*) FROM leases l WHERE l.stream = g.stream AND l.grp = g.name)"
            " FROM groups g WHERE g.stream = ? ORDER BY g.name",
            (stream.value,),
        ).fetchall()
        return [GroupInfo(stream, r[0], int(r[1]), r[2], int(r[3])) for r in rows]

    # -- sends and status ---------------------------------------------------
    async def record_sends(self, batches: Sequence[SentBatch]) -> None:
        if batches:
            await self._write(self._record_sends, list(batches))

    def _record_sends(self, batches: list[SentBatch]) -> None:
        with self._transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO sends (biz_id, sign, kind, sent_at, phone_numbers)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (b.biz_id, b.sign, b.kind, b.sent_at.timestamp(), ",".join(b.phone_numbers))
                    for b in batches
                ],
            )
            # A report can beat the send's record (the provider pushes fast):
            # give such reports their sign now.
            conn.executemany(
                "UPDATE reports SET sign = ? WHERE biz_id = ? AND sign = ''",
                [(b.sign, b.biz_id) for b in batches if b.sign],
            )

    async def sent_batch(self, biz_id: str) -> SentBatch | None:
        return await self._read(self._sent_batch, biz_id)

    def _sent_batch(self, biz_id: str) -> SentBatch | None:
        row = self._conn.execute(
            "SELECT biz_id, sign, kind, sent_at, phone_numbers FROM sends WHERE biz_id = ?",
            (biz_id,),
        ).fetchone()
        if row is None:
            return None
        phones = tuple(p for p in row["phone_numbers"].split(",") if p)
        return SentBatch(row["biz_id"], phones, row["sign"], int(row["kind"]), _utc(row["sent_at"]))

    async def latest_reports(self, biz_id: str) -> dict[str, StoredReport]:
        return await self._read(self._latest_reports, biz_id)

    def _latest_reports(self, biz_id: str) -> dict[str, StoredReport]:
        rows = self._conn.execute(
            f"SELECT {_REPORT_COLUMNS} FROM reports WHERE biz_id = ? ORDER BY cursor", (biz_id,)
        ).fetchall()
        latest: dict[str, StoredReport] = {}
        for row in rows:
            report = _report_from_row(row)
            phone = report.report.phone_number
            current = latest.get(phone)
            # The newest by the provider's report time (none counts as oldest);
            # on a tie the later arrival wins.
            if current is None or _report_order(report) >= _report_order(current):
                latest[phone] = report
        return latest

    # -- suppressions -------------------------------------------------------
    async def add_suppression(self, sign: str, phone_number: str, reason: str) -> Suppression:
        return await self._write(self._add_suppression, sign, phone_number, reason)

    def _add_suppression(self, sign: str, phone_number: str, reason: str) -> Suppression:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO suppressions (sign, phone, reason, created_at)"
                " VALUES (?, ?, ?, ?)",
                (sign, phone_number, reason, self._clock()),
            )
            row = conn.execute(
                "SELECT reason, created_at FROM suppressions WHERE sign = ? AND phone = ?",
                (sign, phone_number),
            ).fetchone()
        return Suppression(sign, phone_number, row[0], _utc(row[1]))

    async def remove_suppression(self, sign: str, phone_number: str) -> bool:
        return await self._write(self._remove_suppression, sign, phone_number)

    def _remove_suppression(self, sign: str, phone_number: str) -> bool:
        with self._transaction() as conn:
            cur = conn.execute(
                "DELETE FROM suppressions WHERE sign = ? AND phone = ?", (sign, phone_number)
            )
            return cur.rowcount > 0

    async def list_suppressions(
        self, sign: str, after: tuple[str, str] | None, limit: int
    ) -> list[Suppression]:
        return await self._read(self._list_suppressions, sign, after, limit)

    def _list_suppressions(
        self, sign: str, after: tuple[str, str] | None, limit: int
    ) -> list[Suppression]:
        clauses: list[str] = []
        params: list[Any] = []
        if sign:
            clauses.append("sign = ?")
            params.append(sign)
        if after is not None:
            clauses.append("(sign, phone) > (?, ?)")
            params.extend(after)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._conn.execute(
            f"SELECT sign, phone, reason, created_at FROM suppressions{where}"
            " ORDER BY sign, phone LIMIT ?",
            (*params, max(limit, 0)),
        )
        return [Suppression(r[0], r[1], r[2], _utc(r[3])) for r in rows]

    async def suppressed(self, sign: str, phone_numbers: Sequence[str]) -> set[str]:
        if not phone_numbers:
            return set()
        return await self._read(self._suppressed, sign, list(phone_numbers))

    def _suppressed(self, sign: str, phone_numbers: list[str]) -> set[str]:
        # A suppression under the empty sign (an opt-out uplink that named no
        # sign) applies to every sign.
        rows = self._conn.execute(
            "SELECT DISTINCT phone FROM suppressions WHERE sign IN (?, '')"
            " AND phone IN (SELECT value FROM json_each(?))",
            (sign, _json_list(phone_numbers)),
        )
        return {r[0] for r in rows}


def _report_order(stored: StoredReport) -> tuple[float, int]:
    report_time = stored.report.report_time
    return (report_time.timestamp() if report_time is not None else float("-inf"), stored.cursor)
