"""The rows of `SqliteIdempotencyStore`: its schema, its statements, and the functions
that run them in its writer thread (each takes the writer's connection).

`sends` holds a record: its fingerprint, its header (the response as claimed, or as its
inline calls' outcomes left it) and how many calls the header holds (`inline_calls`).
A `send_calls` row holds one call's state and overrides the header's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from smsgateway.backends.sqlite.rows import execute_rows, insert_rows
from smsgateway.sending.ports import SendRecord
from smsgateway.v1 import smsgateway_pb2 as pb

SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    request_id   TEXT PRIMARY KEY,
    fingerprint  BLOB NOT NULL,
    header       BLOB NOT NULL,
    created_at   REAL NOT NULL,
    inline_calls INTEGER NOT NULL DEFAULT 0
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
MIGRATE = "ALTER TABLE sends ADD COLUMN inline_calls INTEGER NOT NULL DEFAULT 0"
"""Files written before records could hold their calls inline (their records have none)."""

Row = tuple[str, int, str, int, str, str, str]
Outcome = tuple[int, str, str, str, str, int]
CLAIM = (
    "INSERT INTO sends (request_id, fingerprint, header, created_at, inline_calls)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING"
)
TAKE_CALL = (
    "UPDATE send_calls SET outcome = ?, biz_id = ?, provider_code = ?, message = ?"
    " WHERE request_id = ? AND idx = ?"
    f" AND outcome IN ({int(pb.CALL_OUTCOME_NOT_SENT)}, {int(pb.CALL_OUTCOME_REJECTED)})"
)
APPLY_OUTCOMES = (
    "INSERT INTO send_calls"
    " (request_id, idx, phone_numbers, outcome, biz_id, provider_code, message)"
    " SELECT v.column5, v.column6, '', v.column1, v.column2, v.column3, v.column4"
    " FROM (VALUES {rows}) AS v"
    " WHERE EXISTS (SELECT 1 FROM send_calls c"
    "   WHERE c.request_id = v.column5 AND c.idx = v.column6)"
    " OR (v.column6 >= 0 AND v.column6 <"
    "   (SELECT s.inline_calls FROM sends s WHERE s.request_id = v.column5))"
    " ON CONFLICT (request_id, idx) DO UPDATE SET outcome = excluded.outcome,"
    " biz_id = excluded.biz_id, provider_code = excluded.provider_code,"
    " message = excluded.message"
)
"""A call's state over the row it has (or a new row for a call claimed inline)."""
REWRITE_HEADERS = (
    "UPDATE sends SET header = v.column1 FROM (VALUES {rows}) AS v"
    " WHERE sends.request_id = v.column2 AND sends.inline_calls > 0"
)
"""Records claimed inline, each with its header as it stands now (its calls' outcomes)."""


@contextmanager
def atomically(conn: sqlite3.Connection) -> Iterator[None]:
    """Its own transaction, or a savepoint inside the writer's group transaction."""
    nested = conn.in_transaction
    conn.execute("SAVEPOINT claim" if nested else "BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK TO claim" if nested else "ROLLBACK")
            if nested:
                conn.execute("RELEASE claim")
        raise
    conn.execute("RELEASE claim" if nested else "COMMIT")


def replace_expired(
    conn: sqlite3.Connection,
    request_id: str,
    oldest: float,
    header_blob: bytes,
    inline: int,
    rows: list[Row],
    values: tuple[str, bytes, bytes, float, int],
) -> SendRecord | None:
    """The live record that holds `request_id`; an expired one not pruned yet is
    replaced by the new claim (and None returned)."""
    existing = read(conn, request_id, oldest)
    if existing is None:
        conn.execute("DELETE FROM send_calls WHERE request_id = ?", (request_id,))
        conn.execute(
            "INSERT OR REPLACE INTO sends"
            " (request_id, fingerprint, header, created_at, inline_calls) VALUES (?, ?, ?, ?, ?)",
            values,
        )
        insert_calls(conn, rows)
    return existing


def outcome_values(request_id: str, call: pb.UpstreamCall) -> Outcome:
    return (
        int(call.outcome),
        call.biz_id,
        call.provider_code,
        call.message,
        request_id,
        call.index,
    )


def apply_headers(conn: sqlite3.Connection, headers: list[object]) -> None:
    """Rewrite the headers of records claimed inline (values: header, request_id)."""
    execute_rows(conn, REWRITE_HEADERS, 2, headers)


def apply_both(conn: sqlite3.Connection, headers: list[object], outcomes: list[Outcome]) -> None:
    apply_headers(conn, headers)
    apply_outcomes(conn, outcomes)


def rows_for_inline_calls(conn: sqlite3.Connection, request_id: str, indexes: set[int]) -> None:
    """Give each of `indexes` that is an inline call of the record without a row of its
    own a `send_calls` row with its state from the header, so that it can be taken."""
    row = conn.execute(
        "SELECT header, inline_calls FROM sends WHERE request_id = ?", (request_id,)
    ).fetchone()
    if row is None or not row[1]:
        return
    have = {
        r[0] for r in conn.execute("SELECT idx FROM send_calls WHERE request_id = ?", (request_id,))
    }
    header = pb.SendSmsResponse.FromString(row[0])
    rows = [
        (request_id, c.index, "", int(c.outcome), c.biz_id, c.provider_code, c.message)
        for c in header.calls[: row[1]]
        if c.index in indexes and c.index not in have
    ]
    insert_calls(conn, rows)


def apply_outcomes(conn: sqlite3.Connection, outcomes: list[Outcome]) -> None:
    """Write each call's state, the last one given for a call winning, in multi-row
    statements (`execute_rows`): the call's row is rewritten, or created for a call
    claimed inline; a call the record does not have (or a record that does not exist)
    gets nothing."""
    latest = {(o[4], o[5]): o for o in outcomes}.values()
    execute_rows(conn, APPLY_OUTCOMES, 6, [value for outcome in latest for value in outcome])


def rows_of(request_id: str, response: pb.SendSmsResponse) -> tuple[bytes, list[Row]]:
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


def insert_calls(conn: sqlite3.Connection, rows: list[Row]) -> None:
    insert_rows(conn, "INSERT INTO send_calls VALUES", 7, [value for row in rows for value in row])


def read(conn: sqlite3.Connection, request_id: str, oldest: float) -> SendRecord | None:
    row = conn.execute(
        "SELECT fingerprint, header FROM sends WHERE request_id = ? AND created_at >= ?",
        (request_id, oldest),
    ).fetchone()
    if row is None:
        return None
    response = pb.SendSmsResponse.FromString(row[1])
    claimed = {c.index: c for c in response.calls}
    for idx, numbers, outcome, biz_id, code, message in conn.execute(
        "SELECT idx, phone_numbers, outcome, biz_id, provider_code, message"
        " FROM send_calls WHERE request_id = ? ORDER BY idx",
        (request_id,),
    ):
        call = claimed.get(idx)
        if call is None:  # a call of its own row only (a large send)
            call = response.calls.add(
                index=idx, phone_numbers=numbers.split(",") if numbers else []
            )
        call.outcome = outcome
        call.biz_id = biz_id
        call.provider_code = code
        call.message = message
    return SendRecord(request_id, row[0], response)
