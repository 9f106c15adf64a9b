"""`LimitStore` for one process: state in memory, daily counters journaled to SQLite.

Why in memory: the SQLite backend serves one process, which therefore owns every
limit; deciding in memory keeps the send path free of I/O (the budget allows no
extra disk round trip per send). Why a journal: a restart must not hand out a
fresh daily quota or forget which numbers just received verification codes, so
quota counters and per-number records are written behind, in one small file
(`limits.db`, WAL, `synchronous=NORMAL`, one commit per second at most) and read
back at open. A crash loses at most the last second of counts. Token buckets and
provider slots refill within seconds and are not kept.

Memory: one short list per phone number that received a verification code within
the longest window (at most the largest window count, ~150 bytes), swept once a
minute; use the Redis backend for volumes beyond a few million numbers a day.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from smsgateway.backends.sqlite.writer import SqliteWriter
from smsgateway.security.ports import Charge, Verdict

log = logging.getLogger(__name__)

_FLUSH_SECONDS: Final = 1.0
_SWEEP_SECONDS: Final = 60.0

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS quota (
    key        TEXT PRIMARY KEY,
    used       INTEGER NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS per_number (
    phone  TEXT NOT NULL,
    ticket TEXT NOT NULL,
    at     REAL NOT NULL,
    PRIMARY KEY (phone, ticket)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS per_number_at ON per_number (at);
"""


@dataclass(slots=True)
class _Journal:
    quota: dict[str, tuple[int, float]] = field(default_factory=dict)
    added: list[tuple[str, str, float]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.quota or self.added or self.removed)


class SqliteLimitStore:
    """Implements `security.ports.LimitStore` for a single process."""

    def __init__(self, path: Path | None, *, history_seconds: float = 86400.0) -> None:
        """`path`: the journal file (None: memory only, e.g. tests). `history_seconds`:
        how long per-number records are kept at least (grows to the longest window seen)."""
        self._path = path
        self._history = history_seconds
        self._buckets: dict[str, tuple[float, float]] = {}
        self._quota: dict[str, tuple[int, float]] = {}
        self._numbers: dict[str, list[tuple[float, str]]] = {}
        self._slots: dict[str, float] = {}
        self._journal = _Journal()
        self._writer: SqliteWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._now = 0.0

    # -- lifecycle ---------------------------------------------------------------
    async def open(self, now: float | None = None) -> None:
        """Start the journal and load what it holds that is still live at `now` (default:
        the wall clock); idempotent."""
        now = time.time() if now is None else now
        self._now = max(self._now, now)
        if self._path is None or self._writer is not None:
            return
        writer = SqliteWriter(self._path, synchronous="NORMAL")
        await asyncio.to_thread(writer.start, SCHEMA)
        self._writer = writer
        quota, numbers = await writer.run(lambda conn: self._load(conn, now))
        self._quota.update(quota)
        for phone, at, ticket in numbers:
            self._numbers.setdefault(phone, []).append((at, ticket))
        for entries in self._numbers.values():
            entries.sort(reverse=True)
        self._task = asyncio.create_task(self._flush_loop(), name="limits-journal")

    def _load(
        self, conn: sqlite3.Connection, now: float
    ) -> tuple[dict[str, tuple[int, float]], list[tuple[str, float, str]]]:
        conn.execute("DELETE FROM quota WHERE expires_at <= ?", (now,))
        conn.execute("DELETE FROM per_number WHERE at <= ?", (now - self._history,))
        quota = {
            key: (int(used), float(expires))
            for key, used, expires in conn.execute("SELECT key, used, expires_at FROM quota")
        }
        rows = conn.execute("SELECT phone, at, ticket FROM per_number").fetchall()
        return quota, [(str(p), float(a), str(t)) for p, a, t in rows]

    async def close(self) -> None:
        """Write what is pending and close the journal."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._writer is not None:
            await self._flush()
            await self._writer.stop()
            self._writer = None

    async def _flush_loop(self) -> None:
        last_sweep = self._now
        while True:
            await asyncio.sleep(_FLUSH_SECONDS)
            try:
                if self._now - last_sweep >= _SWEEP_SECONDS:
                    last_sweep = self._now
                    self._sweep()
                await self._flush()
            except Exception:  # keep journaling; the in-memory state stays authoritative
                log.exception("writing the limits journal failed")

    async def _flush(self) -> None:
        if self._writer is None or not self._journal:
            return
        journal, self._journal = self._journal, _Journal()
        horizon = self._now - self._history
        await self._writer.run(lambda conn: self._write(conn, journal, horizon))

    @staticmethod
    def _write(conn: sqlite3.Connection, journal: _Journal, horizon: float) -> None:
        conn.executemany(
            "INSERT INTO quota (key, used, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET used = excluded.used, expires_at = excluded.expires_at",
            [(k, used, exp) for k, (used, exp) in journal.quota.items()],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO per_number (phone, ticket, at) VALUES (?, ?, ?)", journal.added
        )
        conn.executemany("DELETE FROM per_number WHERE phone = ? AND ticket = ?", journal.removed)
        conn.execute("DELETE FROM per_number WHERE at <= ?", (horizon,))

    def _sweep(self) -> None:
        horizon = self._now - self._history
        for phone in [p for p, e in self._numbers.items() if not e or e[0][0] <= horizon]:
            del self._numbers[phone]
        for key in [k for k, (_, exp) in self._quota.items() if exp <= self._now]:
            del self._quota[key]
        for key in [k for k, (_, at) in self._buckets.items() if at < self._now - 3600]:
            del self._buckets[key]
        for key in [k for k, tat in self._slots.items() if tat < self._now - 3600]:
            del self._slots[key]

    # -- LimitStore ----------------------------------------------------------------
    async def admit(self, charge: Charge) -> Verdict:
        """See `LimitStore.admit` (decided in memory, journaled behind)."""
        now = charge.now
        self._now = max(self._now, now)
        if charge.windows:
            self._history = max(self._history, max(w.seconds for w in charge.windows))
        limited: dict[str, float] = {}
        for number in charge.guarded_numbers:
            entries = self._numbers.get(number, ())
            wait = 0.0
            for window in charge.windows:
                if len(entries) >= window.count:
                    at = entries[window.count - 1][0]
                    if at > now - window.seconds:
                        wait = max(wait, at + window.seconds - now)
            if wait > 0:
                limited[number] = wait
        admitted = charge.recipients - len(limited)
        if admitted <= 0:
            return Verdict("per_number", min(limited.values(), default=0.0), limited)
        tokens = 0.0
        if charge.bucket is not None:
            tokens = self._tokens(charge.bucket_key, charge, now)
            if tokens < 1.0:
                return Verdict("rate_limit", (1.0 - tokens) / charge.bucket.per_second)
        used = 0
        if charge.quota_key:
            used = self._quota_used(charge.quota_key, now)
            if used + admitted > charge.quota:
                return Verdict("daily_quota", charge.quota_ttl_seconds, quota_used=used)
        if charge.bucket is not None:
            self._buckets[charge.bucket_key] = (tokens - 1.0, now)
        if charge.quota_key:
            used += admitted
            entry = (used, now + charge.quota_ttl_seconds)
            self._quota[charge.quota_key] = entry
            self._journal.quota[charge.quota_key] = entry
        keep = max((w.count for w in charge.windows), default=0)
        for number in charge.guarded_numbers:
            if number in limited:
                continue
            entries_list = self._numbers.setdefault(number, [])
            entries_list.insert(0, (now, charge.ticket))
            del entries_list[keep:]
            self._journal.added.append((number, charge.ticket, now))
        return Verdict(limited_numbers=limited, admitted=admitted, quota_used=used)

    def _tokens(self, key: str, charge: Charge, now: float) -> float:
        assert charge.bucket is not None
        state = self._buckets.get(key)
        if state is None:
            return charge.bucket.burst
        tokens, at = state
        return min(charge.bucket.burst, tokens + max(0.0, now - at) * charge.bucket.per_second)

    def _quota_used(self, key: str, now: float) -> int:
        state = self._quota.get(key)
        if state is None or state[1] <= now:
            return 0
        return state[0]

    async def refund(self, charge: Charge, verdict: Verdict) -> None:
        """See `LimitStore.refund`."""
        if verdict.refused:
            return
        if charge.bucket is not None and charge.bucket_key in self._buckets:
            tokens, at = self._buckets[charge.bucket_key]
            self._buckets[charge.bucket_key] = (min(charge.bucket.burst, tokens + 1.0), at)
        if charge.quota_key and charge.quota_key in self._quota:
            used, expires = self._quota[charge.quota_key]
            entry = (max(0, used - verdict.admitted), expires)
            self._quota[charge.quota_key] = entry
            self._journal.quota[charge.quota_key] = entry
        for number in charge.guarded_numbers:
            entries = self._numbers.get(number)
            if entries is None:
                continue
            kept = [e for e in entries if e[1] != charge.ticket]
            if len(kept) != len(entries):
                self._numbers[number] = kept
                self._journal.removed.append((number, charge.ticket))

    async def reserve(
        self, key: str, now: float, per_second: float, burst: float, max_wait: float
    ) -> float | None:
        """See `LimitStore.reserve` (GCRA: a burst of `burst`, then one per 1/rate s)."""
        self._now = max(self._now, now)
        interval = 1.0 / per_second
        tolerance = (max(1.0, burst) - 1.0) * interval
        tat = self._slots.get(key, now)
        start = max(now, tat - tolerance)
        wait = start - now
        if wait > max_wait:
            return None
        self._slots[key] = max(tat, start) + interval
        return wait
