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

import asyncio
import base64
import collections
import dataclasses
import heapq
import hmac
import json
import logging
import math
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from smsgateway.sandbox.config import (
    CONFIG_KEYS,
    FAULT_KEYS,
    PATH_BALANCE,
    PATH_DELIVER,
    PATH_SEND,
    PATH_SEND_TEMPLATE,
    PATH_SMS_UP,
    PATH_TOKEN,
    PROVIDER_PATHS,
    REPORT_MESSAGES,
    Faults,
    SandboxBatch,
    SandboxConfig,
)

log = logging.getLogger(__name__)

CHINA_TZ = timezone(timedelta(hours=8), "UTC+8")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

CODE_OK = "10000"
CODE_BAD_CREDENTIALS = "10001"
CODE_BAD_PARAM = "10002"
CODE_TEMPLATE_NOT_APPROVED = "10003"
CODE_BALANCE_TOO_LOW = "10004"
CODE_TOKEN_INVALID = "40001"

MAX_NUMBERS = 1000
MAX_NUMBERS_CHARS = 1500
MAX_SIGN = 20
MAX_CONTENT = 1000
MAX_PARAM_JSON = 100
MAX_TEMPLATE_ID = 20
MAX_TOKEN_SEND = 200  # send, sendTemplate, deliver
MAX_TOKEN_SHORT = 64  # smsUp, balance
KINDS = frozenset({"1", "2", "3"})
STOP_GRACE_SECONDS = 0.25

_SEPARATORS = re.compile("[,，]")
_PHONE = re.compile(r"\+?\d{5,20}")
_CENT = Decimal("0.01")
_DEFAULT_CONFIG = SandboxConfig()

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Rejection(Exception):
    """A provider answer other than success, raised from deep inside a handler."""

    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _param_error(param: str, reason: str) -> _Rejection:
    return _Rejection(CODE_BAD_PARAM, f"参数错误: {param} {reason}")


def segments_of(content: str) -> int:
    """Billed segments of one message: 1 up to 70 characters, else 67 per segment."""
    return 1 if len(content) <= 70 else math.ceil(len(content) / 67)


def format_time(timestamp: float) -> str:
    """The provider's time format, in UTC+8."""
    return datetime.fromtimestamp(timestamp, CHINA_TZ).strftime(TIME_FORMAT)


def _mint_token() -> str:
    # 43 random bytes -> 60 base64 chars ending in "=="; "-" and "+" are inserted so every
    # token exercises a client's URL encoding (real tokens contain them too).
    raw = base64.b64encode(secrets.token_bytes(43)).decode("ascii")
    return f"{raw[:20]}-{raw[20:40]}+{raw[40:]}"


@dataclass(slots=True)
class _Report:
    biz_id: str
    phone_number: str
    code: str
    sms_size: int
    send_time: float
    report_time: float


@dataclass(slots=True)
class _Uplink:
    phone_number: str
    content: str
    sign: str
    sequence_id: int
    send_time: float


@dataclass(slots=True, eq=False)
class _Entry(Generic[T]):
    seq: int
    sign: str
    item: T
    pulled: bool = False
    pushed: bool = False


class _Stream(Generic[T]):
    """Items (reports or uplinks) that become due at a time, then are pulled and/or pushed."""

    def __init__(self) -> None:
        self._scheduled: list[tuple[float, int, _Entry[T]]] = []  # heap by due time
        self._ready: dict[int, _Entry[T]] = {}  # due, still wanted by pull or push
        self._seq = 0
        self.pushed_total = 0
        self.pulled_total = 0
        self.push_failures = 0

    def add(self, due: float, sign: str, item: T) -> None:
        self._seq += 1
        heapq.heappush(self._scheduled, (due, self._seq, _Entry(self._seq, sign, item)))

    def _promote(self, now: float) -> None:
        while self._scheduled and self._scheduled[0][0] <= now:
            entry = heapq.heappop(self._scheduled)[2]
            self._ready[entry.seq] = entry

    def pull(
        self, now: float, sign: str | None, limit: int, *, repeat: bool, keep_for_push: bool
    ) -> list[T]:
        self._promote(now)
        out: list[T] = []
        done: list[int] = []
        for entry in self._ready.values():
            if len(out) >= limit:
                break
            if sign is not None and entry.sign != sign:
                continue
            if not repeat and (entry.pulled or entry.pushed):
                if entry.pushed or not keep_for_push:  # left over from pull_repeat
                    done.append(entry.seq)
                continue
            out.append(entry.item)
            entry.pulled = True
            if not repeat and not keep_for_push:
                done.append(entry.seq)
        for seq in done:
            del self._ready[seq]
        self.pulled_total += len(out)
        return out

    def push_batch(self, now: float, limit: int) -> list[_Entry[T]]:
        self._promote(now)
        out: list[_Entry[T]] = []
        for entry in self._ready.values():
            if not entry.pushed:
                out.append(entry)
                if len(out) >= limit:
                    break
        return out

    def mark_pushed(self, entries: Iterable[_Entry[T]], *, keep_for_pull: bool) -> None:
        for entry in entries:
            entry.pushed = True
            self.pushed_total += 1
            if not keep_for_pull:
                self._ready.pop(entry.seq, None)

    def unpushed(self, now: float) -> int:
        self._promote(now)
        return len(self._scheduled) + sum(1 for e in self._ready.values() if not e.pushed)

    def pending(self, now: float) -> int:
        """Not yet due, or due and neither pulled nor pushed."""
        self._promote(now)
        waiting = sum(1 for e in self._ready.values() if not (e.pulled or e.pushed))
        return len(self._scheduled) + waiting


class SandboxProvider:
    """The simulated provider: an aiohttp server plus background pushers.

    Use `await start()` / `await stop()` (or `async with`). All state lives on the event
    loop that started it; the public attributes are for tests and benchmarks to inspect.
    """

    def __init__(
        self, config: SandboxConfig = _DEFAULT_CONFIG, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._config = config
        self._clock = clock
        self._rng = random.Random(config.seed)
        # Faults draw from their own RNG so toggling them does not shift bizIds/outcomes.
        self._fault_rng = random.Random(None if config.seed is None else config.seed + 1)
        self.faults = Faults()
        self.batches: list[SandboxBatch] = []
        self.requests: collections.Counter[str] = collections.Counter()
        self.tokens_issued = 0
        self.balance: Decimal = config.balance
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._reports: _Stream[_Report] = _Stream()
        self._uplinks: _Stream[_Uplink] = _Stream()
        self._next_sequence_id = 1_000_000_000 + self._rng.randrange(1_000_000_000)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._url: str | None = None
        self._push_progress = asyncio.Event()  # set after every push attempt and reconfiguration

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: any free port); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get(PATH_TOKEN, self._handle_token)
        app.router.add_post(PATH_SEND, self._handle_send)
        app.router.add_post(PATH_SEND_TEMPLATE, self._handle_send_template)
        app.router.add_get(PATH_DELIVER, self._handle_deliver)
        app.router.add_get(PATH_SMS_UP, self._handle_sms_up)
        app.router.add_get(PATH_BALANCE, self._handle_balance)
        app.router.add_get("/admin/state", self._admin_state)
        app.router.add_post("/admin/faults", self._admin_faults)
        app.router.add_post("/admin/reset-secret", self._admin_reset_secret)
        app.router.add_post("/admin/uplinks", self._admin_uplinks)
        app.router.add_post("/admin/config", self._admin_config)
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
        self._session = ClientSession()
        self._tasks = [
            asyncio.create_task(self._push_loop("report"), name="sandbox-report-pusher"),
            asyncio.create_task(self._push_loop("uplink"), name="sandbox-uplink-pusher"),
        ]
        log.info("sandbox provider listening on %s", self._url)
        return self._url

    async def stop(self) -> None:
        """Stop the pushers, the push session and the server (idempotent)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
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
        return self._config

    # ---- control (Python API; the admin endpoints call these) --------------------------

    def set_faults(self, **kwargs: Any) -> None:
        """Replace all faults with these (unnamed knobs go back to their defaults)."""
        unknown = set(kwargs) - FAULT_KEYS
        if unknown:
            raise ValueError(f"unknown fault knobs: {sorted(unknown)}")
        self.faults = Faults(**kwargs)

    def clear_faults(self) -> None:
        self.faults = Faults()

    def reset_secret(self, new_secret: str | None = None) -> str:
        """Replace the secret and revoke the current token; returns the new secret."""
        secret = new_secret if new_secret is not None else secrets.token_hex(16)
        self._config = dataclasses.replace(self._config, secret=secret)
        self._token = None
        return secret

    def configure(self, **changes: Any) -> None:
        """Change settings at run time (keys: the SandboxConfig fields).

        `balance` sets the current balance, `seed` reseeds the RNGs, `secret` acts like
        `reset_secret`. Values from JSON are accepted (amounts as strings, lists for sets).
        """
        unknown = set(changes) - CONFIG_KEYS
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        new = dataclasses.replace(self._config, **changes)
        if "balance" in changes:
            self.balance = new.balance
        if "seed" in changes:
            self._rng = random.Random(new.seed)
            self._fault_rng = random.Random(None if new.seed is None else new.seed + 1)
        if new.secret != self._config.secret:
            self._token = None
        self._config = new
        self._push_progress.set()

    def inject_uplink(
        self, phone_number: str, content: str, sign: str, send_time: datetime | None = None
    ) -> dict[str, object]:
        """Simulate a handset replying; returns the stored uplink (camelCase, with sign).

        A naive `send_time` is read as UTC+8 (the provider's zone).
        """
        if not _PHONE.fullmatch(phone_number):
            raise ValueError("phone_number must be 5..20 digits")
        if not content:
            raise ValueError("content must not be empty")
        if not sign or len(sign) > MAX_SIGN:
            raise ValueError(f"sign must be 1..{MAX_SIGN} characters")
        if send_time is None:
            timestamp = self._clock()
        elif send_time.tzinfo is None:
            timestamp = send_time.replace(tzinfo=CHINA_TZ).timestamp()
        else:
            timestamp = send_time.timestamp()
        uplink = _Uplink(phone_number, content, sign, self._next_sequence_id, timestamp)
        self._next_sequence_id += 1
        self._uplinks.add(self._clock(), sign, uplink)
        return {
            "phoneNumber": uplink.phone_number,
            "sendTime": format_time(uplink.send_time),
            "content": uplink.content,
            "sign": uplink.sign,
            "sequenceId": uplink.sequence_id,
        }

    async def wait_pushes_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (public API)
        """Wait until every report/uplink (due or scheduled) has been pushed and acknowledged.

        A stream without a push URL counts as idle. Raises TimeoutError.
        """
        async with asyncio.timeout(timeout):
            while not self._pushes_idle():
                self._push_progress.clear()
                await self._push_progress.wait()

    def state(self) -> dict[str, Any]:
        """Counters for /admin/state (no secrets, no tokens)."""
        now = self._clock()
        cfg = self._config
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
            "requests": dict(self.requests),
            "tokensIssued": self.tokens_issued,
            "balance": str(self.balance.quantize(_CENT, ROUND_HALF_UP)),
            "batches": len(self.batches),
            "pendingReports": self._reports.pending(now),
            "pendingUplinks": self._uplinks.pending(now),
            "reportsPulled": self._reports.pulled_total,
            "reportsPushed": self._reports.pushed_total,
            "reportPushFailures": self._reports.push_failures,
            "uplinksPulled": self._uplinks.pulled_total,
            "uplinksPushed": self._uplinks.pushed_total,
            "uplinkPushFailures": self._uplinks.push_failures,
            "faults": self.faults.to_json(),
            "config": config_view,
        }

    # ---- rendering ----------------------------------------------------------------------

    def _code(self, code: str) -> str | int:
        return int(code) if self._config.code_as_number and code.isdigit() else code

    def _json(self, payload: object, status: int = 200) -> web.Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return web.Response(
            body=body, status=status, content_type="application/json", charset="utf-8"
        )

    def _reply(self, code: str, message: str, status: int = 200, **extra: object) -> web.Response:
        return self._json({"code": self._code(code), "message": message, **extra}, status)

    def _render_report(self, r: _Report) -> dict[str, object]:
        values = (
            r.phone_number,
            format_time(r.send_time),
            format_time(r.report_time),
            r.code == CODE_OK,
            self._code(r.code),
            REPORT_MESSAGES.get(r.code, "未知"),
            str(r.sms_size),
            r.biz_id,
        )
        snake = self._config.field_style == "snake"
        keys = _REPORT_KEYS_SNAKE if snake else _REPORT_KEYS_CAMEL
        return dict(zip(keys, values, strict=True))

    def _render_uplink(self, u: _Uplink, *, with_sign: bool) -> dict[str, object]:
        snake = self._config.field_style == "snake"
        out: dict[str, object] = {
            "phone_number" if snake else "phoneNumber": u.phone_number,
            "send_time" if snake else "sendTime": format_time(u.send_time),
            "content": u.content,
        }
        if with_sign:
            out["sign"] = u.sign
        out["sequence_id" if snake else "sequenceId"] = u.sequence_id
        return out

    # ---- faults -------------------------------------------------------------------------

    def _draw(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        return rate >= 1.0 or self._fault_rng.random() < rate

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)  # never reaches the client

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        self.requests[path] += 1
        faults = self.faults
        if path not in PROVIDER_PATHS or not faults.applies_to(path):
            return await handler(request)
        if faults == _NO_FAULTS:
            return await handler(request)
        await request.read()  # every fault happens after the whole request arrived
        if faults.latency_seconds > 0:
            await asyncio.sleep(faults.latency_seconds)
        drop = self._draw(faults.drop_rate)
        if drop and not faults.drop_after_processing:
            return self._drop(request)
        if self._draw(faults.http_5xx_rate):
            # An HTML error page, as a proxy in front of the provider would send.
            return web.Response(
                status=faults.http_5xx_status,
                text=f"<html><body><h1>{faults.http_5xx_status} injected fault</h1></body></html>",
                content_type="text/html",
            )
        if self._draw(faults.error_rate):
            return self._reply(faults.error_code, "系统繁忙，请稍后再试")
        response = await handler(request)
        if drop:
            return self._drop(request)
        if self._draw(faults.malformed_rate) and isinstance(response, web.Response):
            body = response.body if isinstance(response.body, bytes) else b"{}"
            return web.Response(
                body=body[: len(body) // 2],
                status=200,
                content_type="application/json",
                charset="utf-8",
            )
        return response

    # ---- provider endpoints ---------------------------------------------------------------

    def _check_token(self, params: Mapping[str, str], max_len: int) -> None:
        token = params.get("token", "")
        if not token:
            raise _param_error("token", "is required")
        if len(token) > max_len:
            raise _param_error("token", f"longer than {max_len}")
        current = self._token
        if (
            current is None
            or self._clock() >= self._token_expires_at
            or not hmac.compare_digest(token.encode(), current.encode())
        ):
            raise _Rejection(
                CODE_TOKEN_INVALID, "token无效", self._config.token_rejection_http_status
            )

    @staticmethod
    async def _form_params(request: web.Request) -> dict[str, str]:
        if request.content_type == "application/json":
            raise _param_error("body", "must be application/x-www-form-urlencoded, not JSON")
        params = dict(request.query)
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in (await request.post()).items():
                if isinstance(value, str):
                    params[key] = value
        return params

    async def _handle_token(self, request: web.Request) -> web.Response:
        try:
            app_id = request.query.get("appId", "")
            secret = request.query.get("secret", "")
            if not app_id:
                raise _param_error("appId", "is required")
            if not secret:
                raise _param_error("secret", "is required")
            cfg = self._config
            # Both compared (no short circuit) in constant time.
            app_ok = hmac.compare_digest(app_id.encode(), cfg.app_id.encode())
            secret_ok = hmac.compare_digest(secret.encode(), cfg.secret.encode())
            if not (app_ok and secret_ok):
                raise _Rejection(CODE_BAD_CREDENTIALS, "appId或secret错误")
            now = self._clock()
            if self._token is None or now >= self._token_expires_at:
                self._token = _mint_token()
                self._token_expires_at = now + cfg.token_ttl_seconds
                self.tokens_issued += 1
            expires_in = math.ceil(self._token_expires_at - now)
            return self._reply(CODE_OK, "操作成功", token=self._token, expires_in=expires_in)
        except _Rejection as rej:
            return self._reply(rej.code, rej.message, rej.status)

    async def _handle_send(self, request: web.Request) -> web.Response:
        try:
            params = await self._form_params(request)
            self._check_token(params, MAX_TOKEN_SEND)
            numbers = _parse_numbers(params.get("phoneNumbers", ""))
            sign = _parse_sign(params.get("sign", ""), required=True)
            content = params.get("content", "")
            _check_content(content)
            if f"【{sign}】" not in content:
                raise _param_error("content", f"must contain the sign as 【{sign}】")
            kind = params.get("kind") or None
            require = self._config.require_kind
            if require and kind is None:
                raise _param_error("kind", "is required (1, 2 or 3) for this account")
            if kind is not None and kind not in KINDS:
                raise _param_error("kind", "must be 1, 2 or 3")
            if require is False and kind is not None:
                raise _param_error("kind", "must be absent: this account has a single kind")
            return self._accept(numbers, sign, content, kind, None, None)
        except _Rejection as rej:
            return self._reply(rej.code, rej.message, rej.status)

    async def _handle_send_template(self, request: web.Request) -> web.Response:
        try:
            params = await self._form_params(request)
            self._check_token(params, MAX_TOKEN_SEND)
            numbers = _parse_numbers(params.get("phoneNumbers", ""))
            param_json = params.get("paramJson", "")
            if not param_json:
                raise _param_error("paramJson", "is required")
            if len(param_json) > MAX_PARAM_JSON:
                raise _param_error("paramJson", f"longer than {MAX_PARAM_JSON}")
            try:
                json.loads(param_json)
            except ValueError:
                raise _param_error("paramJson", "is not valid JSON") from None
            template_id = params.get("templateId", "")
            if not template_id:
                raise _param_error("templateId", "is required")
            if len(template_id) > MAX_TEMPLATE_ID:
                raise _param_error("templateId", f"longer than {MAX_TEMPLATE_ID}")
            if template_id not in self._config.approved_templates:
                raise _Rejection(CODE_TEMPLATE_NOT_APPROVED, "模板未审核通过: templateId")
            sign = _parse_sign(params.get("sign", ""), required=True)
            content = params.get("content", "")
            _check_content(content)
            kind = params.get("kind") or None
            return self._accept(numbers, sign, content, kind, template_id, param_json)
        except _Rejection as rej:
            return self._reply(rej.code, rej.message, rej.status)

    def _accept(
        self,
        numbers: tuple[str, ...],
        sign: str,
        content: str,
        kind: str | None,
        template_id: str | None,
        param_json: str | None,
    ) -> web.Response:
        cfg = self._config
        segments = segments_of(content)
        cost = cfg.price_per_segment * segments * len(numbers)
        if cost > self.balance:
            raise _Rejection(CODE_BALANCE_TOO_LOW, "余额不足")
        self.balance -= cost
        now = self._clock()
        biz_id = str(self._rng.randrange(10**19, 10**20))
        self.batches.append(
            SandboxBatch(
                biz_id=biz_id,
                phone_numbers=numbers,
                sign=sign,
                content=content,
                kind=kind,
                template_id=template_id,
                param_json=param_json,
                segments=segments,
                received_at=now,
            )
        )
        codes = list(cfg.report_outcomes)
        if len(codes) == 1:
            drawn = codes * len(numbers)
        else:
            drawn = self._rng.choices(codes, list(cfg.report_outcomes.values()), k=len(numbers))
        due = now + cfg.report_delay_seconds
        for number, code in zip(numbers, drawn, strict=True):
            self._reports.add(due, sign, _Report(biz_id, number, code, segments, now, due))
        return self._reply(CODE_OK, "操作成功", bizId=biz_id)

    async def _handle_deliver(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request.query, MAX_TOKEN_SEND)
            sign = _parse_sign(request.query.get("sign", ""), required=False) or None
        except _Rejection as rej:
            return self._reply(rej.code, rej.message, rej.status)
        cfg = self._config
        reports = self._reports.pull(
            self._clock(),
            sign,
            cfg.pull_max_items,
            repeat=cfg.pull_repeat,
            keep_for_push=cfg.report_push_url is not None,
        )
        return self._json([self._render_report(r) for r in reports])

    async def _handle_sms_up(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request.query, MAX_TOKEN_SHORT)
            sign = _parse_sign(request.query.get("sign", ""), required=True)
        except _Rejection as rej:
            return self._reply(rej.code, rej.message, rej.status)
        cfg = self._config
        uplinks = self._uplinks.pull(
            self._clock(),
            sign,
            cfg.pull_max_items,
            repeat=cfg.pull_repeat,
            keep_for_push=cfg.uplink_push_url is not None,
        )
        return self._json([self._render_uplink(u, with_sign=False) for u in uplinks])

    async def _handle_balance(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request.query, MAX_TOKEN_SHORT)
        except _Rejection as rej:
            return self._reply(rej.code, rej.message, rej.status)
        # Written by hand: json.dumps cannot emit 100.00 (it would be 100.0 as a float).
        amount = self.balance.quantize(_CENT, ROUND_HALF_UP)
        code = json.dumps(self._code(CODE_OK))
        body = f'{{"code":{code},"message":"请求成功","balance":{amount:.2f}}}'
        return web.Response(body=body.encode(), content_type="application/json", charset="utf-8")

    # ---- pushes -------------------------------------------------------------------------

    def _pushes_idle(self) -> bool:
        now = self._clock()
        cfg = self._config
        reports_idle = cfg.report_push_url is None or self._reports.unpushed(now) == 0
        uplinks_idle = cfg.uplink_push_url is None or self._uplinks.unpushed(now) == 0
        return reports_idle and uplinks_idle

    async def _push_loop(self, kind: Literal["report", "uplink"]) -> None:
        while True:
            cfg = self._config
            try:
                pushed = await self._push_step(kind)
            except Exception:  # a bug must not silently end pushing for the process
                log.exception("sandbox %s pusher failed; retrying", kind)
                pushed = False
            if pushed is not None:
                self._push_progress.set()
            if pushed is None:
                await asyncio.sleep(cfg.push_interval_seconds)
            elif not pushed:
                await asyncio.sleep(cfg.push_retry_seconds)

    async def _push_step(self, kind: Literal["report", "uplink"]) -> bool | None:
        """Push one batch: None if nothing to push, else whether it was acknowledged."""
        cfg = self._config
        payload: list[dict[str, object]]
        if kind == "report":
            url = cfg.report_push_url
            if url is None:
                return None
            reports = self._reports.push_batch(self._clock(), cfg.push_batch_size)
            if not reports:
                return None
            payload = [self._render_report(e.item) for e in reports]
            if await self._post(url, payload, kind):
                self._reports.mark_pushed(reports, keep_for_pull=cfg.pull_repeat)
                return True
            self._reports.push_failures += 1
            return False
        url = cfg.uplink_push_url
        if url is None:
            return None
        uplinks = self._uplinks.push_batch(self._clock(), cfg.push_batch_size)
        if not uplinks:
            return None
        payload = [self._render_uplink(e.item, with_sign=True) for e in uplinks]
        if await self._post(url, payload, kind):
            self._uplinks.mark_pushed(uplinks, keep_for_pull=cfg.pull_repeat)
            return True
        self._uplinks.push_failures += 1
        return False

    async def _post(self, url: str, payload: list[dict[str, object]], kind: str) -> bool:
        """POST a JSON array; acknowledged only by HTTP 200 with code 10000 (string or number)."""
        session = self._session
        if session is None:
            return False
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timeout = ClientTimeout(total=self._config.push_timeout_seconds)
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

    # ---- admin endpoints ----------------------------------------------------------------

    @staticmethod
    async def _admin_body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise web.HTTPBadRequest(
                text='{"error":"body must be JSON"}', content_type="application/json"
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text='{"error":"body must be a JSON object"}', content_type="application/json"
            )
        return body

    def _admin_error(self, message: str) -> web.Response:
        return self._json({"error": message}, status=400)

    async def _admin_state(self, request: web.Request) -> web.Response:
        return self._json(self.state())

    async def _admin_faults(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        try:
            self.set_faults(**body)
        except (TypeError, ValueError) as exc:
            return self._admin_error(str(exc))
        return self._json({"faults": self.faults.to_json()})

    async def _admin_reset_secret(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        secret = body.get("secret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            return self._admin_error("secret must be a non-empty string")
        return self._json({"secret": self.reset_secret(secret)})

    async def _admin_uplinks(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        phone = body.get("phoneNumber", body.get("phone_number"))
        content = body.get("content")
        sign = body.get("sign")
        send_time_text = body.get("sendTime", body.get("send_time"))
        if not all(isinstance(v, str) for v in (phone, content, sign)):
            return self._admin_error("phoneNumber, content and sign are required strings")
        assert isinstance(phone, str) and isinstance(content, str) and isinstance(sign, str)
        send_time: datetime | None = None
        if send_time_text is not None:
            try:
                send_time = datetime.strptime(str(send_time_text), TIME_FORMAT)
            except ValueError:
                return self._admin_error("sendTime must be yyyy-MM-dd HH:mm:ss (UTC+8)")
        try:
            stored = self.inject_uplink(phone, content, sign, send_time)
        except ValueError as exc:
            return self._admin_error(str(exc))
        return self._json(stored)

    async def _admin_config(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        try:
            self.configure(**body)
        except (TypeError, ValueError) as exc:
            return self._admin_error(str(exc))
        return self._json({"config": self.state()["config"]})


_NO_FAULTS = Faults()
_REPORT_KEYS_CAMEL = (
    "phoneNumber",
    "sendTime",
    "reportTime",
    "success",
    "code",
    "message",
    "smsSize",
    "bizId",
)
_REPORT_KEYS_SNAKE = (
    "phone_number",
    "send_time",
    "report_time",
    "success",
    "code",
    "message",
    "sms_size",
    "biz_id",
)


def _parse_numbers(raw: str) -> tuple[str, ...]:
    if not raw.strip():
        raise _param_error("phoneNumbers", "is required")
    numbers = tuple(part.strip() for part in _SEPARATORS.split(raw))
    if len(numbers) > MAX_NUMBERS:
        raise _param_error("phoneNumbers", f"more than {MAX_NUMBERS} numbers")
    if len(raw) > MAX_NUMBERS_CHARS:
        raise _param_error("phoneNumbers", f"longer than {MAX_NUMBERS_CHARS} characters")
    for position, number in enumerate(numbers, start=1):
        if not _PHONE.fullmatch(number):
            raise _param_error("phoneNumbers", f"item {position} is not a phone number")
    return numbers


def _parse_sign(raw: str, *, required: bool) -> str:
    """The sign, or "" when it is absent and optional."""
    if not raw:
        if required:
            raise _param_error("sign", "is required")
        return ""
    if len(raw) > MAX_SIGN:
        raise _param_error("sign", f"longer than {MAX_SIGN}")
    if "【" in raw or "】" in raw:
        raise _param_error("sign", "must not contain 【】")
    return raw


def _check_content(content: str) -> None:
    if not content:
        raise _param_error("content", "is required")
    if len(content) > MAX_CONTENT:
        raise _param_error("content", f"longer than {MAX_CONTENT}")
