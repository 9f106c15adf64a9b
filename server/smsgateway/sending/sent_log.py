"""Accepted calls recorded in the send log behind the answers, several sends per write."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from smsgateway.events.model import SentBatch
from smsgateway.sending.ports import SendLog

__all__ = ["SentLogWriter"]

log = logging.getLogger(__name__)

_SENT_LOG_LINGER_SECONDS = 0.02
"""How long accepted calls wait to be recorded together (a report that arrives first
gets its sign when the record lands)."""


class SentLogWriter:
    """Records accepted calls in the event store in the background; sends that finish
    while a write is under way share the next one.

    The record only serves GetSendStatus and the sign filter of reports, so it
    need not delay the caller's answer (it lands within milliseconds).
    """

    def __init__(self, store: SendLog) -> None:
        self._store = store
        self._pending: list[SentBatch] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, batches: Sequence[SentBatch]) -> None:
        if not batches:
            return
        self._pending.extend(batches)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        # Linger before every write, so that the sends finishing meanwhile share it (one
        # commit for dozens of sends instead of one each): under steady load a write that
        # followed the previous one at once would carry only what finished during it.
        while self._pending:
            await asyncio.sleep(_SENT_LOG_LINGER_SECONDS)
            batches, self._pending = self._pending, []
            try:
                await self._store.record_sends(batches)
            except Exception:
                log.exception("recording %d accepted calls failed", len(batches))

    async def close(self) -> None:
        if self._task is not None:
            await self._task
