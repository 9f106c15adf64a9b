"""Row mapping and filter SQL shared by the SQLite event aggregates."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from smsgateway.events.model import (
    KNOWN_PROVIDER_CODES,
    DeliveryReportIn,
    EventFilter,
    ReportFilter,
    Source,
    StoredEvent,
    StoredReport,
    StoredUplink,
    Stream,
    UplinkFilter,
    UplinkIn,
)

REPORT_COLUMNS = (
    "cursor, biz_id, phone, code, success, message, sms_size, send_time, report_time, "
    "sign, receive_time, source, traceparent"
)
UPLINK_COLUMNS = (
    "cursor, phone, content, sign, sequence_id, send_time, receive_time, source, opt_out, "
    "traceparent"
)
TABLE: Final = {Stream.REPORTS: "reports", Stream.UPLINKS: "uplinks"}
COLUMNS: Final = {Stream.REPORTS: REPORT_COLUMNS, Stream.UPLINKS: UPLINK_COLUMNS}


def from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


_CHUNK_ROWS: Final = (256, 128, 64, 32, 16, 8, 4, 2, 1)
"""Rows per multi-row statement: a batch is cut into these sizes (a batch of n rows takes
one statement per bit of n), so that a statement has at most nine shapes. Each shape is
prepared once and then found in the connection's statement cache; a shape per batch size
would fill that cache (128 statements per connection, up to ~1 KiB of prepared program
per row) with hundreds of prepared statements: memory that grows for minutes under load."""
_IN_SIZES: Final = (1, 8, 64, 512)
"""Values per `IN (...)` list: a list is padded up to the next of these sizes (repeating
its last value), for the same reason."""


@functools.lru_cache(maxsize=128)
def _rows_sql(template: str, columns: int, rows: int) -> str:
    row = "(" + ",".join("?" * columns) + ")"
    return template.replace("{rows}", ",".join([row] * rows))


def execute_rows(conn: sqlite3.Connection, template: str, columns: int, params: list[Any]) -> int:
    """Run `template` for the rows whose `columns` values each follow one another in
    `params`, its `{rows}` standing for a list of rows (``(?, ?), (?, ?)``); returns the
    number of rows.

    The rows go in order, in multi-row statements of the sizes `_CHUNK_ROWS` (a third
    less CPU per row than `executemany`), each within SQLite's limit on bound variables.
    """
    count = len(params) // columns
    if count * columns != len(params):
        raise ValueError(f"{len(params)} values are not rows of {columns}")
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    start = 0
    for size in _CHUNK_ROWS:
        if size * columns > limit and size > 1:
            continue
        width = size * columns
        while len(params) - start >= width:
            conn.execute(_rows_sql(template, columns, size), params[start : start + width])
            start += width
    return count


def insert_rows(conn: sqlite3.Connection, insert: str, columns: int, params: list[Any]) -> int:
    """Run `insert` (``INSERT INTO t (c1, ...) VALUES``) for the rows whose `columns`
    values each follow one another in `params` (see `execute_rows`); the number of rows."""
    return execute_rows(conn, insert + " {rows}", columns, params)


def select_in(
    conn: sqlite3.Connection,
    sql: str,
    values: Sequence[Any],
    row: Callable[[sqlite3.Row], Any] = lambda r: r[0],
) -> list[Any]:
    """`sql (?, ?, ...)` over `values`, in lists of the sizes `_IN_SIZES` (each padded
    with its last value, which matches no more rows for being there twice); the rows of
    every list."""
    out: list[Any] = []
    step = _IN_SIZES[-1]
    for i in range(0, len(values), step):
        chunk = list(values[i : i + step])
        size = next(n for n in _IN_SIZES if n >= len(chunk))
        chunk += chunk[-1:] * (size - len(chunk))
        marks = ",".join("?" * size)
        out.extend(row(r) for r in conn.execute(f"{sql} ({marks})", chunk))
    return out


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def json_list(values: Sequence[str] | frozenset[str] | set[str]) -> str:
    # Sets of any size go in as one parameter (json_each), so a long filter never
    # hits SQLite's limit on bound variables.
    return json.dumps(list(values), ensure_ascii=False)


def report_from_row(row: sqlite3.Row) -> StoredReport:
    report = DeliveryReportIn(
        biz_id=row["biz_id"],
        phone_number=row["phone"],
        provider_code=row["code"],
        success=bool(row["success"]),
        message=row["message"],
        sms_size=row["sms_size"],
        send_time=from_iso(row["send_time"]),
        report_time=from_iso(row["report_time"]),
    )
    return StoredReport(
        cursor=row["cursor"],
        report=report,
        receive_time=utc(row["receive_time"]),
        source=Source(row["source"]),
        sign=row["sign"],
        traceparent=row["traceparent"],
    )


def uplink_from_row(row: sqlite3.Row) -> StoredUplink:
    uplink = UplinkIn(
        phone_number=row["phone"],
        content=row["content"],
        sign=row["sign"],
        sequence_id=row["sequence_id"],
        send_time=from_iso(row["send_time"]),
    )
    return StoredUplink(
        cursor=row["cursor"],
        uplink=uplink,
        receive_time=utc(row["receive_time"]),
        source=Source(row["source"]),
        opt_out=bool(row["opt_out"]),
        traceparent=row["traceparent"],
    )


def event_from_row(stream: Stream, row: sqlite3.Row) -> StoredEvent:
    return report_from_row(row) if stream is Stream.REPORTS else uplink_from_row(row)


def filter_sql(stream: Stream, event_filter: EventFilter | None) -> tuple[str, list[Any]]:
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
            params.append(json_list(event_filter.biz_ids))
    elif not isinstance(event_filter, UplinkFilter):
        raise TypeError(f"a {type(event_filter).__name__} does not filter uplinks")
    # Both streams filter on phone and sign alike.
    if event_filter.phone_numbers:
        clauses.append("phone IN (SELECT value FROM json_each(?))")
        params.append(json_list(event_filter.phone_numbers))
    if event_filter.sign:
        clauses.append("sign = ?")
        params.append(event_filter.sign)
    if isinstance(event_filter, ReportFilter):
        code_clauses: list[str] = []
        if event_filter.provider_codes:
            code_clauses.append("code IN (SELECT value FROM json_each(?))")
            params.append(json_list(event_filter.provider_codes))
        if event_filter.other_codes:
            code_clauses.append("code NOT IN (SELECT value FROM json_each(?))")
            params.append(json_list(KNOWN_PROVIDER_CODES))
        if code_clauses:
            clauses.append("(" + " OR ".join(code_clauses) + ")")
    return "".join(f" AND {c}" for c in clauses), params


def last_cursor(conn: sqlite3.Connection, stream: Stream) -> int:
    """The highest cursor ever handed out (sqlite_sequence survives a prune)."""
    row = conn.execute(
        "SELECT seq FROM sqlite_sequence WHERE name = ?", (TABLE[stream],)
    ).fetchone()
    return int(row[0]) if row is not None else 0
