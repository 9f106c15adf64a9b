"""The HTTP endpoints the provider pushes delivery reports and uplinks to.

Answers, exactly as the provider's document asks:

* reports accepted: HTTP 200 ``{"code":10000,"msg":"操作成功"}`` (code a number)
* uplinks accepted: HTTP 200 ``{"code":"10000","msg":"请求成功"}`` (code a string)

and only after the batch is durably committed. Anything else gets a non-10000
code (the HTTP status, in the same JSON type as the success code) so that the
provider retries:

====  =====================================================================
400   not JSON even after repair, not an array of objects, an item without a
      required field (the body is kept as a dead letter; nothing is stored)
403   the source address is not allowed, or the callback token is missing/wrong
413   the body is larger than ``max_body_bytes`` (nothing kept), or has more
      than ``max_items`` items (kept as a dead letter)
503   the store could not commit; nothing is half-stored, a retry is safe
====  =====================================================================

The provider cannot sign its pushes, so the endpoints can be protected by a
secret token (an extra path segment ``<path>/<token>`` or the header
``X-Callback-Token``) and by an allowlist of source networks. The token never
appears in logs: run the app with ``access_log=None`` (or a logger that drops
the path), as `WebhookServer` does.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from dataclasses import dataclass, field

from aiohttp import web

from smsgateway.events.ingest import Ingestor, Rejection, StoreUnavailableError
from smsgateway.events.model import Source, Stream

_log = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

TOKEN_HEADER = "X-Callback-Token"

_JSON = "application/json"


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


class _PushHandler:
    """Guards, bounded reading and ingest of one push endpoint."""

    def __init__(self, ingestor: Ingestor, config: WebhookConfig, stream: Stream) -> None:
        self._ingestor = ingestor
        self._config = config
        self._stream = stream
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

    async def _read_body(self, request: web.Request) -> bytes | None:
        """The body, or None when it exceeds the limit (without reading it all)."""
        limit = self._config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > limit:
                return None
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
        body = await self._read_body(request)
        if body is None:
            _log.warning("%s push refused: body over %d bytes", stream, self._config.max_body_bytes)
            return _answer(stream, 413, "body too large")
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


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_webhook_app(ingestor: Ingestor, config: WebhookConfig) -> web.Application:
    """The aiohttp application serving both push endpoints and GET /healthz."""
    # client_max_size only guards request.read(); the handlers read the body
    # themselves with `max_body_bytes`, so this is just a backstop.
    app = web.Application(client_max_size=config.max_body_bytes + 1)
    for stream, path in (
        (Stream.REPORTS, config.report_path),
        (Stream.UPLINKS, config.uplink_path),
    ):
        handler = _PushHandler(ingestor, config, stream)
        app.router.add_post(path, handler.handle)
        if config.callback_token is not None:
            app.router.add_post(path + "/{token}", handler.handle)
    app.router.add_get("/healthz", _healthz)
    return app


class WebhookServer:
    """The webhook app on a TCP listener, without an access log (the path may hold
    the callback token)."""

    def __init__(
        self, ingestor: Ingestor, config: WebhookConfig, host: str = "0.0.0.0", port: int = 8080
    ) -> None:
        self._app = build_webhook_app(ingestor, config)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

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

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
