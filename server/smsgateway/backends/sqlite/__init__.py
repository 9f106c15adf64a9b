"""The embedded backend: SQLite files under the data directory, one process.

* `events.db` (WAL, synchronous=FULL): both event streams, consumer groups,
  the send log, suppressions and dead letters — one file, so that an append
  can read the send log and write suppressions in the same transaction.
* `idempotency.db` (WAL, synchronous=NORMAL): request_id records.
* `limits.db`: quota counters and per-number history, written behind (decided in memory).
The token and the leader lease are in memory: one process has no one to share them with.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from smsgateway.backends import Backend, BackendInfo
from smsgateway.backends.sqlite.database import SqliteDatabase
from smsgateway.backends.sqlite.dead_letters import SqliteDeadLetters
from smsgateway.backends.sqlite.event_log import SqliteEventLog
from smsgateway.backends.sqlite.feed import LocalEventFeed
from smsgateway.backends.sqlite.groups import SqliteConsumerGroups
from smsgateway.backends.sqlite.idempotency import SqliteIdempotencyStore
from smsgateway.backends.sqlite.leases import LocalLeaseStore
from smsgateway.backends.sqlite.limits import SqliteLimitStore
from smsgateway.backends.sqlite.send_log import SqliteSendLog
from smsgateway.backends.sqlite.suppressions import SqliteSuppressions
from smsgateway.backends.sqlite.tokens import LocalTokenStore


@dataclass(frozen=True, slots=True)
class SqliteOptions:
    """How the embedded backend is set up."""

    data_dir: Path
    """Where `events.db` and `idempotency.db` live (created when missing)."""
    idempotency_ttl_seconds: float = 24 * 3600
    """How long a request_id is remembered."""
    max_groups: int = 1000
    """Consumer groups allowed, both streams together."""
    dead_letter_max_count: int = 10_000
    """Dead letters kept at most (oldest dropped first)."""
    dead_letter_max_bytes: int = 64 * 1024 * 1024
    """Bytes of dead-letter bodies kept at most (oldest dropped first)."""
    dead_letter_max_body_bytes: int = 64 * 1024
    """Bytes kept of one dead letter's body (its full length is recorded too)."""
    synchronous: str = "FULL"
    """The event database's `synchronous` pragma."""


async def open_backend(
    options: SqliteOptions, *, clock: Callable[[], float] = time.time
) -> Backend:
    """Open (creating or migrating) both databases and return every port."""
    db = SqliteDatabase(options.data_dir / "events.db", synchronous=options.synchronous)
    await db.open()
    idempotency = SqliteIdempotencyStore(
        options.data_dir / "idempotency.db",
        ttl_seconds=options.idempotency_ttl_seconds,
        clock=clock,
    )
    limits = SqliteLimitStore(options.data_dir / "limits.db")
    try:
        await idempotency.open()
        await limits.open()
    except BaseException:
        await idempotency.close()
        await db.close()
        raise

    async def check() -> None:
        await db.check()
        await idempotency.check()

    async def close() -> None:
        try:
            await limits.close()
            await idempotency.close()
        finally:
            await db.close()

    return Backend(
        info=BackendInfo(
            name="sqlite",
            shared=False,
            durability={"events_synchronous": options.synchronous, "idempotency": "NORMAL"},
        ),
        events=SqliteEventLog(db, clock=clock),
        feed=LocalEventFeed(),
        groups=SqliteConsumerGroups(db, max_groups=options.max_groups, clock=clock),
        dead_letters=SqliteDeadLetters(
            db,
            max_count=options.dead_letter_max_count,
            max_bytes=options.dead_letter_max_bytes,
            max_body_bytes=options.dead_letter_max_body_bytes,
            clock=clock,
        ),
        send_log=SqliteSendLog(db),
        suppressions=SqliteSuppressions(db, clock=clock),
        idempotency=idempotency,
        tokens=LocalTokenStore(),
        leases=LocalLeaseStore(),
        limits=limits,
        check=check,
        close=close,
    )
