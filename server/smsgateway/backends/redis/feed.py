"""`EventFeed` on Redis: one blocking XREAD loop per stream for this whole replica.

Each loop holds one dedicated connection (taken from the client's pool) and
blocks at most `block_ms` per XREAD, so cancelling `run` ends it within about
one BLOCK (redis-py can complete a read that was cancelled under it; the loop
checks its task's pending cancellation after every read). It
starts at the stream's newest cursor and follows every entry after it, calling
`on_stored(stream, events)` with the events other replicas stored (entries this
replica wrote carry its `origin` and were announced locally by the ingestor).
On an error it reconnects with jittered exponential backoff and resumes after
the last entry it delivered, so nothing appended meanwhile is missed.

The events handed to `on_stored` carry the sign stored with them: a report
stored before its send was recorded shows an empty sign here (a wake-up and
metrics only need the stream; subscribers read the store, which resolves it).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from typing import Any, Final

from smsgateway.backends.redis.connection import Client
from smsgateway.backends.redis.entries import Entry, decode
from smsgateway.backends.redis.errors import translate
from smsgateway.backends.redis.event_layout import EventKeys, enc
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.events.model import StoredEvent, Stream
from smsgateway.events.ports import OnStored

__all__ = ["RedisEventFeed"]

_log = logging.getLogger(__name__)

_BACKOFF_INITIAL: Final = 0.1
_BACKOFF_MAX: Final = 5.0


class RedisEventFeed:
    """Delivers other replicas' appends to local subscribers (`EventFeed`)."""

    def __init__(
        self,
        client: Client,
        keys: RedisKeys,
        *,
        origin: str,
        block_ms: int = 1000,
        batch: int = 1000,
    ) -> None:
        """`origin` must be this replica's `RedisEventLog.origin` (its own entries are
        skipped); `block_ms` bounds one XREAD (and so the cancellation delay; it is
        kept under half the client's socket timeout); `batch` bounds the entries
        one XREAD returns."""
        self._client = client
        self._keys = EventKeys(keys)
        self._origin = enc(origin)
        timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
        if isinstance(timeout, int | float) and timeout > 0:
            block_ms = min(block_ms, max(int(timeout * 500), 10))
        self._block_ms = max(1, block_ms)
        self._batch = max(1, batch)

    async def run(self, on_stored: OnStored) -> None:
        async with asyncio.TaskGroup() as tasks:
            for stream in Stream:
                tasks.create_task(self._follow(stream, on_stored), name=f"redis-feed-{stream}")

    async def _follow(self, stream: Stream, on_stored: OnStored) -> None:
        after: int | None = None
        delay = _BACKOFF_INITIAL
        log_key = self._keys.log(stream)
        task = asyncio.current_task()
        while True:
            conn = self._client.client()
            try:
                with translate("event feed"):
                    if after is None:
                        seq = await conn.hget(self._keys.meta(stream), "seq")  # type: ignore[misc]
                        after = int(seq or 0)
                    while True:
                        reply = await conn.xread(
                            {log_key: f"{after}-0"}, count=self._batch, block=self._block_ms
                        )
                        if task is not None and task.cancelling():
                            # redis-py can finish a read that was cancelled under it
                            # and return normally; honour the cancellation anyway.
                            raise asyncio.CancelledError
                        entries = _entries(reply)
                        if not entries:
                            continue
                        after = entries[-1][0]
                        delay = _BACKOFF_INITIAL
                        self._deliver(stream, entries, on_stored)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect: the feed must outlive any outage
                _log.warning(
                    "event feed of %s interrupted (%s); retrying in %.1f s",
                    stream,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, _BACKOFF_MAX)
            finally:
                await conn.aclose()

    def _deliver(self, stream: Stream, entries: Sequence[Entry], on_stored: OnStored) -> None:
        events: list[StoredEvent] = [
            decode(stream, cursor, fields, fields.get(b"s", b""))
            for cursor, fields in entries
            if fields.get(b"o") != self._origin
        ]
        if not events:
            return
        try:
            on_stored(stream, events)
        except Exception:
            _log.exception("on_stored failed for %d %s events", len(events), stream)


def _entries(reply: Any) -> list[Entry]:
    """The entries of a one-stream XREAD reply.

    redis-py gives `[[key, [(id, fields), ...]]]` over RESP2 and
    `{key: [[(id, fields), ...]]}` over RESP3.
    """
    if not reply:
        return []
    if isinstance(reply, Mapping):
        items = [item for chunk in reply.values() for item in chunk[0]]
    else:
        items = [item for _, chunk in reply for item in chunk]
    return [(int(bytes(entry_id).partition(b"-")[0]), dict(fields)) for entry_id, fields in items]
