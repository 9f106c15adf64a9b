"""The event database's schema, and the additive migrations of older files."""

from __future__ import annotations

import sqlite3
from typing import Final

SCHEMA_VERSION: Final = 3
"""1: the first release; 2: groups.last_active, dead_letters.original_length, sends.caller;
3: the send log in `send_log` (a gateway of version 2 would not see its records)."""

SCHEMA: Final = """
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
    last_active REAL NOT NULL DEFAULT 0,
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
    phone_numbers TEXT NOT NULL,
    caller        TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sends_sent_at ON sends (sent_at);
-- The send log since schema 3: a rowid table (a call's row holds up to 1,500 characters of
-- numbers, which a WITHOUT ROWID b-tree stores three times slower). `sends` above keeps
-- what version-2 files recorded until retention empties it; readers look in both.
CREATE TABLE IF NOT EXISTS send_log (
    biz_id        TEXT NOT NULL UNIQUE,
    sign          TEXT NOT NULL,
    kind          INTEGER NOT NULL,
    sent_at       REAL NOT NULL,
    phone_numbers TEXT NOT NULL,
    caller        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS send_log_sent_at ON send_log (sent_at);
-- A report can beat its send's record (the provider pushes fast): the record gives it
-- its sign as it lands, inside the statement that writes the record.
CREATE TRIGGER IF NOT EXISTS send_log_sign_reports AFTER INSERT ON send_log
WHEN NEW.sign != ''
BEGIN
    UPDATE reports SET sign = NEW.sign WHERE biz_id = NEW.biz_id AND sign = '';
END;
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
    body        BLOB NOT NULL,
    original_length INTEGER NOT NULL DEFAULT 0
);
"""

_ADDED_COLUMNS: Final = (
    ("groups", "last_active", "REAL NOT NULL DEFAULT 0"),
    ("dead_letters", "original_length", "INTEGER NOT NULL DEFAULT 0"),
    ("sends", "caller", "TEXT NOT NULL DEFAULT ''"),
)


def migrate_columns(conn: sqlite3.Connection) -> None:
    """Add the columns a version-1 file lacks (CREATE TABLE IF NOT EXISTS keeps old tables)."""
    for table, column, decl in _ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
