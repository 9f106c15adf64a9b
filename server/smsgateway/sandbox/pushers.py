"""The pushers: background tasks POSTing due reports and uplinks to the configured URLs.

A push is a JSON array of at most `push_batch_size` items, acknowledged only by HTTP 200
with code 10000; an unacknowledged push is retried after `push_retry_seconds`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Literal

from aiohttp import ClientError, ClientSession, ClientTimeout

from smsgateway.sandbox.replies import render_report, render_uplink
from smsgateway.sandbox.state import SandboxState

# The name the sandbox's records have always carried (JSON logs show it as "logger").
log = logging.getLogger("smsgateway.sandbox.provider")


class Pushers:
    """The report and the uplink pusher, with the HTTP session they share."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._session: ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._progress = asyncio.Event()  # set after every push attempt and reconfiguration

    def start(self) -> None:
        self._session = ClientSession()
        self._tasks = [
            asyncio.create_task(self._push_loop("report"), name="sandbox-report-pusher"),
            asyncio.create_task(self._push_loop("uplink"), name="sandbox-uplink-pusher"),
        ]

    async def stop(self) -> None:
        """Stop both pushers and close the session (idempotent)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def reconfigured(self) -> None:
        """Wake `wait_idle` waiters: a push URL may have been set or removed."""
        self._progress.set()

    async def wait_idle(self, timeout: float) -> None:  # noqa: ASYNC109 (public API)
        """Wait until every report/uplink (due or scheduled) has been pushed and acknowledged.

        A stream without a push URL counts as idle. Raises TimeoutError.
        """
        async with asyncio.timeout(timeout):
            while not self._idle():
                self._progress.clear()
                await self._progress.wait()

    def _idle(self) -> bool:
        state = self._state
        now = state.clock()
        cfg = state.config
        reports_idle = cfg.report_push_url is None or state.reports.unpushed(now) == 0
        uplinks_idle = cfg.uplink_push_url is None or state.uplinks.unpushed(now) == 0
        return reports_idle and uplinks_idle

    async def _push_loop(self, kind: Literal["report", "uplink"]) -> None:
        while True:
            cfg = self._state.config
            try:
                pushed = await self._push_step(kind)
            except Exception:  # a bug must not silently end pushing for the process
                log.exception("sandbox %s pusher failed; retrying", kind)
                pushed = False
            if pushed is not None:
                self._progress.set()
            if pushed is None:
                await asyncio.sleep(cfg.push_interval_seconds)
            elif not pushed:
                await asyncio.sleep(cfg.push_retry_seconds)

    async def _push_step(self, kind: Literal["report", "uplink"]) -> bool | None:
        """Push one batch: None if nothing to push, else whether it was acknowledged."""
        state = self._state
        cfg = state.config
        payload: list[dict[str, object]]
        if kind == "report":
            url = cfg.report_push_url
            if url is None:
                return None
            reports = state.reports.push_batch(state.clock(), cfg.push_batch_size)
            if not reports:
                return None
            payload = [render_report(cfg, e.item) for e in reports]
            if await self._post(url, payload, kind):
                state.reports.mark_pushed(reports, keep_for_pull=cfg.pull_repeat)
                return True
            state.reports.push_failures += 1
            return False
        url = cfg.uplink_push_url
        if url is None:
            return None
        uplinks = state.uplinks.push_batch(state.clock(), cfg.push_batch_size)
        if not uplinks:
            return None
        payload = [render_uplink(cfg, e.item, with_sign=True) for e in uplinks]
        if await self._post(url, payload, kind):
            state.uplinks.mark_pushed(uplinks, keep_for_pull=cfg.pull_repeat)
            return True
        state.uplinks.push_failures += 1
        return False

    async def _post(self, url: str, payload: list[dict[str, object]], kind: str) -> bool:
        """POST a JSON array; acknowledged only by HTTP 200 with code 10000 (string or number)."""
        session = self._session
        if session is None:
            return False
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timeout = ClientTimeout(total=self._state.config.push_timeout_seconds)
        try:
            async with session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json;charset=UTF-8"},
                timeout=timeout,
            ) as resp:
                status = resp.status
                answer_text = await resp.read()
        except (ClientError, TimeoutError, OSError) as exc:
            # The URL is not logged: a receiver URL may carry credentials.
            log.info("sandbox %s push of %d failed: %s", kind, len(payload), type(exc).__name__)
            return False
        if status != 200:
            log.info("sandbox %s push of %d answered HTTP %d", kind, len(payload), status)
            return False
        try:
            answer = json.loads(answer_text)
        except ValueError:
            log.info("sandbox %s push of %d answered non-JSON", kind, len(payload))
            return False
        code = answer.get("code") if isinstance(answer, dict) else None
        if code in ("10000", 10000) and not isinstance(code, bool):
            return True
        log.info("sandbox %s push of %d answered code %r", kind, len(payload), code)
        return False
