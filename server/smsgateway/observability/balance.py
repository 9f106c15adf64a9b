"""Background refresh of the provider balance into `smsgateway_balance`.

The balance alert needs a recent value even when nobody calls GetBalance, so one
task polls the provider at a fixed interval. A failed refresh keeps the last value
(its age is visible in `smsgateway_balance_last_update_timestamp_seconds`) and is
logged with the exception type only: upstream error texts may quote a request URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from smsgateway.observability import metrics

__all__ = ["BalanceRefresher"]

_log = logging.getLogger(__name__)


class BalanceRefresher:
    """Calls `fetch` now and then every `interval_seconds`, publishing the result.

    `alert_threshold` is published as `smsgateway_balance_alert_threshold`, which
    the SmsGatewayLowBalance rule compares the balance against.

    `fetch` is e.g. the upstream client's balance call; it must enforce its own
    timeout. Start it inside the running event loop; `stop()` cancels and waits.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Decimal]],
        interval_seconds: float,
        *,
        alert_threshold: Decimal = Decimal(100),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not interval_seconds > 0:
            raise ValueError("interval_seconds must be positive")
        self._fetch = fetch
        # Exported so that the alert rule compares against the deployment's own
        # setting instead of a number baked into the shipped rules file.
        metrics.BALANCE_ALERT_THRESHOLD.set(float(alert_threshold))
        self._interval = interval_seconds
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._refreshed = asyncio.Event()

    def __repr__(self) -> str:
        return f"BalanceRefresher(interval_seconds={self._interval})"

    def start(self) -> None:
        """Start the background task (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="smsgateway-balance-refresher"
            )

    async def stop(self) -> None:
        """Cancel the background task and wait for it to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def refresh_once(self) -> bool:
        """Fetch and publish the balance once; True on success. Never raises (but cancels)."""
        try:
            balance = await self._fetch()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.warning(
                "balance refresh failed",
                extra={"error_type": type(exc).__qualname__},
            )
            return False
        metrics.BALANCE.set(float(balance))
        metrics.BALANCE_UPDATED.set(self._clock())
        self._refreshed.set()
        return True

    async def wait_refreshed(self) -> None:
        """Wait until at least one refresh has succeeded (for start-up and tests)."""
        await self._refreshed.wait()

    async def _run(self) -> None:
        while True:
            await self.refresh_once()
            await asyncio.sleep(self._interval)
