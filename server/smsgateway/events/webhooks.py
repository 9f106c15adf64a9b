"""The HTTP endpoints the provider pushes delivery reports and uplinks to.

Answers, exactly as the provider's document asks:

* reports accepted: HTTP 200 ``{"code":10000,"msg":"操作成功"}`` (code a number)
* uplinks accepted: HTTP 200 ``{"code":"10000","msg":"请求成功"}`` (code a string)

and only after every item is durably stored or, when it is a bad item (a
missing field, a wrong type, an integer outside 0..2^63-1, a lone surrogate),
kept as a dead letter with its reason: one bad item never holds back the others,
and nothing is lost. Anything else gets a non-10000 code (the HTTP status, in
the same JSON type as the success code) so that the provider retries:

====  =====================================================================
400   not UTF-8, not JSON even after repair, not an array, nested deeper than
      `max_depth`, or not strict JSON and too large to repair (the body is
      kept as one dead letter; nothing is stored)
403   the source address is not allowed, or the callback token is missing/wrong
408   the body did not arrive within `read_timeout_seconds` (connection closed)
413   the body is larger than ``max_body_bytes`` (nothing kept), or has more
      than ``max_items`` items (kept as a dead letter)
503   the store could not commit (nothing half-stored, a retry is safe), or
      `max_concurrent` pushes are being handled and no turn came within
      `busy_wait_seconds` (``Retry-After: 1``)
====  =====================================================================

Bounds against abuse: at most `max_concurrent` pushes are read and ingested at
once (so at most that many bodies are in memory); a body must arrive within
`read_timeout_seconds`; request headers and idle keep-alive connections get the
same bound (aiohttp's keep-alive timer); an unread body is never drained
(``lingering_time=0``): the connection is closed after the answer. A slow
client therefore holds a descriptor for at most about twice the read timeout.

The provider cannot sign its pushes, so the endpoints can be protected by a
secret token (an extra path segment ``<path>/<token>`` or the header
``X-Callback-Token``) and by an allowlist of source networks. The token never
appears in logs: the application turns aiohttp's access log off itself
(``handler_args``), whatever runner serves it.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from smsgateway.config import Settings, is_loopback_host
from smsgateway.events.ingest import Ingestor, Rejection, StoreUnavailableError
from smsgateway.events.model import Source, Stream
from smsgateway.events.push_body import ParseLimits

_log = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

TOKEN_HEADER = "X-Callback-Token"

_JSON = "application/json"

_BUSY_LOG_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True)
class WebhookConfig:
    """Where and under which limits the provider's pushes are accepted."""

    report_path: str = "/callbacks/delivery-reports"
    """Path the provider pushes delivery reports to."""
    uplink_path: str = "/callbacks/uplinks"
    """Path the provider pushes uplinks to."""
    max_body_bytes: int = 5 * 1024 * 1024
    """Largest accepted body; a 1,000-report push is about 250 KB."""
    max_items: int = 10_000
    """Most items in one push (the provider documents no limit, only "many")."""
    callback_token: str | None = field(default=None, repr=False)
    """When set, a push must carry it as a last path segment or in X-Callback-Token."""
    allowed_networks: tuple[IPNetwork, ...] = ()
    """Source networks allowed to push; empty allows every source."""
    trust_forwarded_for: bool = False
    """Take the source address from the last X-Forwarded-For entry (the one our
    own reverse proxy appended); only safe behind such a proxy."""
    read_timeout_seconds: float = 10.0
    """A body must arrive completely within this time, or the answer is 408 and the
    connection is closed; also the bound on request headers and idle connections."""
    max_concurrent: int = 16
    """Pushes read and ingested at once, both endpoints together."""
    busy_wait_seconds: float = 1.0
    """How long a push waits for a turn before it is answered 503: long enough to
    absorb a burst (a push takes milliseconds), short enough that waiting
    connections do not pile up (the provider retries a 503)."""

    def __post_init__(self) -> None:
        for path in (self.report_path, self.uplink_path):
            if not path.startswith("/") or path.endswith("/"):
                raise ValueError(f"callback path {path!r} must start and not end with '/'")
        if self.report_path == self.uplink_path:
            raise ValueError("the report and uplink callback paths must differ")
        if self.max_body_bytes <= 0 or self.max_items <= 0:
            raise ValueError("max_body_bytes and max_items must be positive")
        if self.callback_token is not None and (
            not self.callback_token or "/" in self.callback_token
        ):
            raise ValueError("the callback token must be non-empty and contain no '/'")
        if not self.read_timeout_seconds > 0 or self.max_concurrent <= 0:
            raise ValueError("read_timeout_seconds and max_concurrent must be positive")
        if self.busy_wait_seconds < 0:
            raise ValueError("busy_wait_seconds must be ≥ 0")

    @classmethod
    def from_settings(cls, s: Settings) -> WebhookConfig:
        """The endpoints' configuration from the process settings (`SMSGW_*`)."""
        if (
            not is_loopback_host(s.bind_host)
            and not s.callback_token
            and not s.callback_allowed_networks
        ):
            # Only reachable with SMSGW_ALLOW_UNAUTHENTICATED_PUSH=true (config refuses it else).
            _log.warning(
                "push endpoints accept pushes from anyone who reaches them "
                "(no SMSGW_CALLBACK_TOKEN, no SMSGW_CALLBACK_ALLOWED_NETWORKS)"
            )
        return cls(
            report_path=s.report_callback_path,
            uplink_path=s.uplink_callback_path,
            max_body_bytes=s.max_push_bytes,
            max_items=s.max_push_items,
            callback_token=s.callback_token,
            allowed_networks=tuple(
                ipaddress.ip_network(n, strict=False) for n in s.callback_allowed_networks
            ),
            trust_forwarded_for=s.callback_trust_forwarded_for,
            read_timeout_seconds=s.push_read_timeout_seconds,
            max_concurrent=s.max_concurrent_pushes,
        )


def parse_limits_from_settings(s: Settings) -> ParseLimits:
    """The Ingestor's `parse_limits` from the process settings (`SMSGW_*`)."""
    return ParseLimits(max_items=s.max_push_items, lenient_max_bytes=s.push_lenient_max_bytes)


def _body(code: int | str, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}, ensure_ascii=False).encode()


# Precomputed: the success answers are the hot path.
_OK: dict[Stream, bytes] = {
    Stream.REPORTS: _body(10000, "操作成功"),
    Stream.UPLINKS: _body("10000", "请求成功"),
}


def _answer(stream: Stream, status: int, msg: str) -> web.Response:
    # The error code has the JSON type of that stream's success code.
    code: int | str = status if stream is Stream.REPORTS else str(status)
    return web.Response(status=status, body=_body(code, msg), content_type=_JSON, charset="utf-8")


def _ok(stream: Stream) -> web.Response:
    return web.Response(status=200, body=_OK[stream], content_type=_JSON, charset="utf-8")


class PushGate:
    """At most `limit` pushes handled at once; a push waits at most `wait_seconds` for a turn.

    One gate serves both endpoints of an application. A push refused for lack
    of a turn is counted in `busy_refusals` and logged at most every 10 s.
    """

    def __init__(self, limit: int, wait_seconds: float) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._wait = wait_seconds
        self.busy_refusals = 0
        """Pushes answered 503 because no turn came in time (since start)."""
        self._last_log = float("-inf")
        self._unlogged = 0

    async def enter(self) -> bool:
        """Take a turn (True), or give up after the wait (False); `leave()` after True."""
        try:
            async with asyncio.timeout(self._wait):
                await self._slots.acquire()
        except TimeoutError:
            self._refused()
            return False
        return True

    def leave(self) -> None:
        """Give the turn back."""
        self._slots.release()

    def _refused(self) -> None:
        self.busy_refusals += 1
        self._unlogged += 1
        now = time.monotonic()
        if now - self._last_log >= _BUSY_LOG_INTERVAL_SECONDS:
            _log.warning(
                "%d push(es) answered 503: too many pushes at once (waited %.1f s for a turn)",
                self._unlogged,
                self._wait,
            )
            self._last_log, self._unlogged = now, 0


_GATE = web.AppKey("push_gate", PushGate)


class _BodyTooLargeError(Exception):
    pass


class _PushHandler:
    """Guards, bounded reading and ingest of one push endpoint."""

    def __init__(
        self, ingestor: Ingestor, config: WebhookConfig, stream: Stream, gate: PushGate
    ) -> None:
        self._ingestor = ingestor
        self._config = config
        self._stream = stream
        self._gate = gate
        self._token = config.callback_token.encode() if config.callback_token else None

    def _source_allowed(self, request: web.Request) -> bool:
        networks = self._config.allowed_networks
        if not networks:
            return True
        remote = request.remote or ""
        if self._config.trust_forwarded_for:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                remote = forwarded.rsplit(",", 1)[-1].strip()
        try:
            address = ipaddress.ip_address(remote)
        except ValueError:
            return False
        return any(address in network for network in networks)

    def _token_ok(self, request: web.Request) -> bool:
        if self._token is None:
            return True
        given = request.match_info.get("token") or request.headers.get(TOKEN_HEADER) or ""
        return hmac.compare_digest(given.encode(), self._token)

    async def _read_body(self, request: web.Request) -> bytes:
        """The whole body; raises _BodyTooLargeError as soon as it exceeds the limit."""
        limit = self._config.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise _BodyTooLargeError
            chunks.append(chunk)
        return b"".join(chunks)

    async def handle(self, request: web.Request) -> web.Response:
        stream = self._stream
        if not self._source_allowed(request):
            _log.warning("%s push refused: source %s not allowed", stream, request.remote)
            return _answer(stream, 403, "source not allowed")
        if not self._token_ok(request):
            _log.warning("%s push refused: missing or wrong callback token", stream)
            return _answer(stream, 403, "missing or wrong callback token")
        limit = self._config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return self._too_large()
        if not await self._gate.enter():
            response = _answer(stream, 503, "too many pushes at once, retry later")
            response.headers["Retry-After"] = "1"
            return response
        try:
            return await self._read_and_ingest(request)
        finally:
            self._gate.leave()

    def _too_large(self) -> web.Response:
        limit = self._config.max_body_bytes
        _log.warning("%s push refused: body over %d bytes", self._stream, limit)
        return _answer(self._stream, 413, "body too large")

    async def _read_and_ingest(self, request: web.Request) -> web.Response:
        stream = self._stream
        timeout = self._config.read_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                body = await self._read_body(request)
        except TimeoutError:
            _log.warning("%s push refused: body not complete within %.1f s", stream, timeout)
            response = _answer(stream, 408, f"body not received within {timeout:g} s")
            response.force_close()
            return response
        except _BodyTooLargeError:
            return self._too_large()
        try:
            outcome = await self._ingestor.ingest_body(
                stream, body, Source.PUSH, max_items=self._config.max_items
            )
        except StoreUnavailableError:
            _log.exception("%s push not stored; answering 503 so that it is pushed again", stream)
            return _answer(stream, 503, "store unavailable, retry later")
        if outcome.rejection is Rejection.TOO_MANY_ITEMS:
            return _answer(stream, 413, outcome.error)
        if outcome.rejection is not None:
            return _answer(stream, 400, outcome.error)
        return _ok(stream)


def _healthz(serving: Callable[[], bool]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def healthz(_request: web.Request) -> web.Response:
        # The same verdict as gRPC health: probes over plain HTTP (TLS on the gRPC
        # port) must see a pod whose store is down as not ready.
        if serving():
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "not serving"}, status=503)

    return healthz


def build_webhook_app(
    ingestor: Ingestor, config: WebhookConfig, serving: Callable[[], bool] = lambda: True
) -> web.Application:
    """The aiohttp application serving both push endpoints and GET /healthz.

    `/healthz` answers 200 while `serving()` is true, else 503 (the gRPC health verdict).

    Whatever runner serves it gets, from the application itself: no access log
    (the path may hold the token), no draining of unread bodies, and
    `read_timeout_seconds` as the bound on idle connections and request headers.
    """
    # client_max_size only guards request.read(); the handlers read the body
    # themselves with `max_body_bytes`, so this is just a backstop.
    app = web.Application(
        client_max_size=config.max_body_bytes + 1,
        handler_args={
            "access_log": None,
            "lingering_time": 0.0,
            "keepalive_timeout": config.read_timeout_seconds,
        },
    )
    gate = PushGate(config.max_concurrent, config.busy_wait_seconds)
    app[_GATE] = gate
    for stream, path in (
        (Stream.REPORTS, config.report_path),
        (Stream.UPLINKS, config.uplink_path),
    ):
        handler = _PushHandler(ingestor, config, stream, gate)
        app.router.add_post(path, handler.handle)
        if config.callback_token is not None:
            app.router.add_post(path + "/{token}", handler.handle)
    app.router.add_get("/healthz", _healthz(serving))
    return app


def push_gate(app: web.Application) -> PushGate:
    """The gate of an application made by `build_webhook_app` (for metrics and tests)."""
    return app[_GATE]


class WebhookServer:
    """The webhook app on a TCP listener."""

    def __init__(
        self, ingestor: Ingestor, config: WebhookConfig, host: str = "127.0.0.1", port: int = 8080
    ) -> None:
        self._app = build_webhook_app(ingestor, config)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def gate(self) -> PushGate:
        """The concurrency gate of both endpoints."""
        return push_gate(self._app)

    async def start(self) -> None:
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    @property
    def port(self) -> int:
        """The bound port (differs from the requested one when that was 0)."""
        if self._runner is None:
            raise RuntimeError("the webhook server is not started")
        for address in self._runner.addresses:
            return int(address[1])
        raise RuntimeError("the webhook server bound no address")

    @property
    def open_connections(self) -> int:
        """Client connections open now (idle, being read or being answered)."""
        server = self._runner.server if self._runner is not None else None
        return len(server.connections) if server is not None else 0

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
