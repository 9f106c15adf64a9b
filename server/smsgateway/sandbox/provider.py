"""The sandbox provider: the provider's HTTP API v1.0 simulated over real HTTP (aiohttp).

Endpoints (see shared/upstream/http-api-v1.0.md): GET /api/token, POST /sms/send,
POST /sms/sendTemplate, GET /sms/deliver, GET /sms/smsUp, GET /sms/balance; plus an
unauthenticated admin API under /admin (sandbox only): GET /admin/state,
POST /admin/faults, POST /admin/reset-secret, POST /admin/uplinks, POST /admin/config.

The provider publishes no error codes ("待更新"), so the sandbox uses this table:

======  =============  =========================================================
code    HTTP status    meaning
======  =============  =========================================================
10000   200            success (message "操作成功", balance "请求成功")
10001   200            /api/token: appId or secret wrong
10002   200            parameter missing, too long or malformed; the message names
                       the parameter ("参数错误: phoneNumbers ..."); also a JSON body
                       where a form is expected
10003   200            /sms/sendTemplate: templateId not an approved template
10004   200            balance too low for the send (nothing is billed)
40001   401            token unknown, expired or revoked by a secret reset
                       (`SandboxConfig.token_rejection_http_status` may make it 200)
10500   200            injected fault (`Faults.error_code`, configurable)
======  =============  =========================================================

Decisions where the provider's document is open (mirroring shared/upstream/NOTES.md):

* POST parameters are read from an x-www-form-urlencoded (or multipart) body, with the
  query string as a fallback (a Spring-style server reads both; the body wins).
* /api/token returns the same token while it is valid; `expires_in` is the remaining
  lifetime in whole seconds (rounded up), so a client never believes a token lives longer.
* Tokens are 62 base64 characters and always contain "-", "+" and "=" (often "/").
* `phoneNumbers`: separators "," and "，"; every item must be 5..20 digits with an
  optional leading "+" (empty items are rejected); at most 1000 items, then at most 1500
  characters.
* Billing: per recipient, 1 segment up to 70 characters, else ceil(len/67); the whole
  send is refused (10004) when the balance cannot pay for every recipient.
* Reports: one per recipient, due `report_delay_seconds` after acceptance (on the
  injected clock), code drawn from `report_outcomes` with the seeded RNG, `smsSize` the
  segment count as a string (as in the provider's sample). A report is served by pull
  once (every time with `pull_repeat`); with a push URL each report is also pushed
  (even when it was pulled first), and a pushed report is not pulled afterwards (unless
  `pull_repeat`). Uplinks behave the same; pulled uplinks carry no "sign", pushed ones do.
* Times are "yyyy-MM-dd HH:mm:ss" in UTC+8.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from types import TracebackType
from typing import Any

from aiohttp import web

from smsgateway.sandbox.admin import AdminEndpoints
from smsgateway.sandbox.config import (
    CONFIG_KEYS,
    FAULT_KEYS,
    Faults,
    SandboxBatch,
    SandboxConfig,
)
from smsgateway.sandbox.endpoints import ProviderEndpoints
from smsgateway.sandbox.fault_injection import fault_middleware
from smsgateway.sandbox.pushers import Pushers
from smsgateway.sandbox.replies import CENT
from smsgateway.sandbox.state import SandboxState
from smsgateway.sandbox.traffic import inject_uplink

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 0.25

_DEFAULT_CONFIG = SandboxConfig()


class SandboxProvider:
    """The simulated provider: an aiohttp server plus background pushers.

    Use `await start()` / `await stop()` (or `async with`). All state lives on the event
    loop that started it; the public attributes are for tests and benchmarks to inspect.
    """

    def __init__(
        self, config: SandboxConfig = _DEFAULT_CONFIG, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._state = SandboxState(config, clock)
        self._pushers = Pushers(self._state)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: any free port); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        app = web.Application(middlewares=[fault_middleware(self._state)])
        ProviderEndpoints(self._state).add_routes(app.router)
        AdminEndpoints(self).add_routes(app.router)
        # access_log=None: the access log would print query strings, i.e. tokens and secrets.
        # A short shutdown_timeout: stop() must not wait out injected latency.
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=STOP_GRACE_SECONDS
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        url_host = f"[{host}]" if ":" in host else host
        self._url = f"http://{url_host}:{bound_port}"
        self._pushers.start()
        log.info("sandbox provider listening on %s", self._url)
        return self._url

    async def stop(self) -> None:
        """Stop the pushers, the push session and the server (idempotent)."""
        await self._pushers.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SandboxProvider:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. "http://127.0.0.1:40123" (after start)."""
        if self._url is None:
            raise RuntimeError("sandbox not started")
        return self._url

    @property
    def config(self) -> SandboxConfig:
        """The current configuration (replaced by `configure`)."""
        return self._state.config

    # ---- inspection (tests and benchmarks) ---------------------------------------------

    @property
    def faults(self) -> Faults:
        """The injected faults in force (replaced by `set_faults` / `clear_faults`)."""
        return self._state.faults

    @property
    def batches(self) -> list[SandboxBatch]:
        """Every accepted send, in order."""
        return self._state.batches

    @property
    def requests(self) -> Counter[str]:
        """Requests received, by path (/admin included)."""
        return self._state.requests

    @property
    def tokens_issued(self) -> int:
        """Tokens minted by /api/token."""
        return self._state.tokens_issued

    @property
    def balance(self) -> Decimal:
        """The current balance (tests may set it)."""
        return self._state.balance

    @balance.setter
    def balance(self, value: Decimal) -> None:
        self._state.balance = value

    # ---- control (Python API; the admin endpoints call these) --------------------------

    def set_faults(self, **kwargs: Any) -> None:
        """Replace all faults with these (unnamed knobs go back to their defaults)."""
        unknown = set(kwargs) - FAULT_KEYS
        if unknown:
            raise ValueError(f"unknown fault knobs: {sorted(unknown)}")
        self._state.faults = Faults(**kwargs)

    def clear_faults(self) -> None:
        self._state.faults = Faults()

    def reset_secret(self, new_secret: str | None = None) -> str:
        """Replace the secret and revoke the current token; returns the new secret."""
        secret = new_secret if new_secret is not None else secrets.token_hex(16)
        self._state.config = dataclasses.replace(self._state.config, secret=secret)
        self._state.tokens.revoke()
        return secret

    def configure(self, **changes: Any) -> None:
        """Change settings at run time (keys: the SandboxConfig fields).

        `balance` sets the current balance, `seed` reseeds the RNGs, `secret` acts like
        `reset_secret`. Values from JSON are accepted (amounts as strings, lists for sets).
        """
        unknown = set(changes) - CONFIG_KEYS
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        state = self._state
        new = dataclasses.replace(state.config, **changes)
        if "balance" in changes:
            state.balance = new.balance
        if "seed" in changes:
            state.reseed(new.seed)
        if new.secret != state.config.secret:
            state.tokens.revoke()
        state.config = new
        self._pushers.reconfigured()

    def inject_uplink(
        self, phone_number: str, content: str, sign: str, send_time: datetime | None = None
    ) -> dict[str, object]:
        """Simulate a handset replying; returns the stored uplink (camelCase, with sign).

        A naive `send_time` is read as UTC+8 (the provider's zone).
        """
        return inject_uplink(self._state, phone_number, content, sign, send_time)

    async def wait_pushes_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (public API)
        """Wait until every report/uplink (due or scheduled) has been pushed and acknowledged.

        A stream without a push URL counts as idle. Raises TimeoutError.
        """
        await self._pushers.wait_idle(timeout)

    def state(self) -> dict[str, Any]:
        """Counters for /admin/state (no secrets, no tokens)."""
        state = self._state
        now = state.clock()
        cfg = state.config
        config_view: dict[str, Any] = {}
        for f in dataclasses.fields(cfg):
            if f.name == "secret":
                continue
            value = getattr(cfg, f.name)
            if isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, frozenset):
                value = sorted(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            config_view[f.name] = value
        return {
            "url": self._url,
            "requests": dict(state.requests),
            "tokensIssued": state.tokens_issued,
            "balance": str(state.balance.quantize(CENT, ROUND_HALF_UP)),
            "batches": len(state.batches),
            "forgottenBatches": state.forgotten_batches,
            "forgottenReports": state.reports.forgotten,
            "forgottenUplinks": state.uplinks.forgotten,
            "pendingReports": state.reports.pending(now),
            "pendingUplinks": state.uplinks.pending(now),
            "reportsPulled": state.reports.pulled_total,
            "reportsPushed": state.reports.pushed_total,
            "reportPushFailures": state.reports.push_failures,
            "uplinksPulled": state.uplinks.pulled_total,
            "uplinksPushed": state.uplinks.pushed_total,
            "uplinkPushFailures": state.uplinks.push_failures,
            "faults": state.faults.to_json(),
            "config": config_view,
        }
