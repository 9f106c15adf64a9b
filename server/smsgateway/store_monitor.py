"""Store health is the service's health: a periodic check that flips serving status.

When the backend's `check()` fails (file deleted or corrupt, Redis down), the
monitor logs one clear line, sets the store gauge to 0 and calls
`on_change(False)` (health NOT_SERVING); when it answers again, `on_change(True)`.
Recovery needs no restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class StoreMonitor:
    """Checks the store every `interval_seconds` and reports changes of its health."""

    def __init__(
        self,
        check: Callable[[], Awaitable[None]],
        on_change: Callable[[bool], Awaitable[None]],
        *,
        interval_seconds: float,
        timeout_seconds: float = 5.0,
        on_result: Callable[[bool], None] = lambda ok: None,
    ) -> None:
        """`on_result` sees every check's result (for metrics); `on_change` only flips."""
        self._check = check
        self._on_change = on_change
        self._interval = interval_seconds
        self._timeout = timeout_seconds
        self._on_result = on_result
        self.healthy = True
        """The last check's verdict (True until a check fails)."""

    async def check_once(self) -> bool:
        """Run one check now; report a change; return the verdict."""
        problem: str | None = None
        try:
            async with asyncio.timeout(self._timeout):
                await self._check()
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            problem = f"the store did not answer its health check within {self._timeout:g} s"
        except Exception as exc:
            problem = str(exc) or type(exc).__name__
        healthy = problem is None
        self._on_result(healthy)
        if healthy != self.healthy:
            self.healthy = healthy
            if healthy:
                log.warning("the store answers again: serving")
            else:
                log.error("the store is unusable, not serving: %s", problem)
            await self._on_change(healthy)
        return healthy

    async def run(self) -> None:
        """Check forever (until cancelled)."""
        while True:
            await asyncio.sleep(self._interval)
            await self.check_once()
