"""`EventFeed` of a single process: every append is announced locally, so nothing to do."""

from __future__ import annotations

import asyncio

from smsgateway.events.ports import OnStored


class LocalEventFeed:
    """No other replica can write the embedded store: `run` only waits to be cancelled."""

    async def run(self, on_stored: OnStored) -> None:
        await asyncio.Event().wait()
