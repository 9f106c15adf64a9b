"""The provider's HTTP API v1.0 as typed async calls.

One `ProviderClient` per provider account and process, over one shared HTTP client:
the lean pool of `upstream/http1.py` (`new_pool`, what the gateway uses) or an
`aiohttp.ClientSession` (build it with `new_session`). Each call:

1. takes a token from the client's `TokenCache` (single flight, refreshed early);
2. sends one HTTP request per attempt, bounded by the caller's deadline, inside an
   OpenTelemetry client span (`smsgateway.upstream.transport`);
3. parses the reply strictly and turns every failure into one of the typed errors
   of `smsgateway.upstream.errors` (`smsgateway.upstream.replies`).

Retries: reads (token, balance, deliver, smsUp) repeat transient faults with
jittered exponential backoff within the deadline; sends repeat only when the
request provably never left (connection refused). A token rejection on any call
invalidates the token, fetches a new one and repeats that call once: a send
rejected for its token was not accepted, so repeating it cannot send twice.

Secrets: the token travels in the POST body or the GET query and the secret in
the token query. Neither is put in a log line, an error text or a span; texts of
aiohttp's exceptions (which may contain the URL with its query) are never used.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import aiohttp
from opentelemetry import trace

from smsgateway.upstream.config import UpstreamConfig
from smsgateway.upstream.errors import (
    NotSentError,
    ProviderRejectedError,
    TokenRejectedError,
    TokenUnavailableError,
    UpstreamError,
)
from smsgateway.upstream.faults import TokenRejected
from smsgateway.upstream.http1 import Http1Pool
from smsgateway.upstream.models import (
    Balance,
    DeliveryReport,
    SendReceipt,
    Token,
    Uplink,
    parse_report_item,
    parse_uplink_item,
)
from smsgateway.upstream.observer import NoopObserver, UpstreamObserver
from smsgateway.upstream.ports import TokenStore
from smsgateway.upstream.replies import parse_balance, parse_receipt, parse_token
from smsgateway.upstream.token import TokenCache, current_fetch_reason
from smsgateway.upstream.transport import ProviderTransport
from smsgateway.upstream.wire import (
    BALANCE,
    DELIVER,
    SEND,
    SEND_TEMPLATE,
    SMS_UP,
    TOKEN,
    Endpoint,
    join_numbers,
)

__all__ = ["InvalidItemHandler", "ProviderClient"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

InvalidItemHandler = Callable[[str, object, ValueError], None]
"""Called with (endpoint, raw item, error) for a pulled item that cannot be parsed."""


class ProviderClient(ProviderTransport):
    """Typed calls to the provider's six endpoints; owns the account's `TokenCache`."""

    def __init__(
        self,
        session: aiohttp.ClientSession | Http1Pool,
        config: UpstreamConfig,
        *,
        observer: UpstreamObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        on_invalid_item: InvalidItemHandler | None = None,
        token_store: TokenStore | None = None,
    ) -> None:
        """`token_store` shares the account's token with other replicas (None: this
        process only)."""
        super().__init__(
            session,
            config,
            observer=observer or NoopObserver(),
            clock=clock,
            sleep=sleep,
            rng=rng or random.Random(),
            tracer_provider=tracer_provider,
        )
        self._on_invalid_item = on_invalid_item
        if not self._tracks_sent:
            logger.info(
                "upstream session not built by new_session(): every timeout after the "
                "connection is established counts as outcome unknown"
            )
        self.tokens = TokenCache(
            self.fetch_token,
            refresh_margin_seconds=config.token_refresh_margin_seconds,
            clock=clock,
            observer=self._observer,
            store=token_store,
        )

    def __repr__(self) -> str:
        return f"ProviderClient(base_url={self._base!r}, app_id={self._config.app_id!r})"

    async def close(self) -> None:
        """Stop a token fetch still running (the session belongs to the caller)."""
        await self.tokens.close()

    # ------------------------------------------------------------------ endpoints

    async def send(
        self,
        *,
        phone_numbers: Sequence[str],
        sign: str,
        content: str,
        kind: int | None,
        deadline: float | None = None,
    ) -> SendReceipt:
        """POST /sms/send for one batch; `kind` None leaves the parameter out."""
        params = {"phoneNumbers": join_numbers(phone_numbers), "sign": sign, "content": content}
        if kind is not None:
            params["kind"] = str(kind)
        return await self._authed(
            SEND, params, parse_receipt, deadline=deadline, recipients=len(phone_numbers)
        )

    async def send_template(
        self,
        *,
        phone_numbers: Sequence[str],
        sign: str,
        template_id: str,
        param_json: str,
        content: str,
        deadline: float | None = None,
    ) -> SendReceipt:
        """POST /sms/sendTemplate for one batch."""
        params = {
            "phoneNumbers": join_numbers(phone_numbers),
            "paramJson": param_json,
            "templateId": template_id,
            "sign": sign,
            "content": content,
        }
        return await self._authed(
            SEND_TEMPLATE,
            params,
            parse_receipt,
            deadline=deadline,
            recipients=len(phone_numbers),
        )

    async def balance(self, *, deadline: float | None = None) -> Balance:
        """GET /sms/balance, exact."""
        return await self._authed(BALANCE, {}, parse_balance, deadline=deadline)

    async def pull_reports(
        self, *, sign: str | None = None, deadline: float | None = None
    ) -> list[DeliveryReport]:
        """GET /sms/deliver: the delivery reports the provider holds for us."""
        params = {"sign": sign} if sign else {}
        offset = self._config.provider_utc_offset_hours

        def parse(doc: object, status: int) -> list[DeliveryReport]:
            return self._parse_items(DELIVER, doc, lambda item: parse_report_item(item, offset))

        return await self._authed(DELIVER, params, parse, deadline=deadline)

    async def pull_uplinks(self, *, sign: str, deadline: float | None = None) -> list[Uplink]:
        """GET /sms/smsUp: inbound messages for `sign` (filled in where items omit it)."""
        offset = self._config.provider_utc_offset_hours

        def parse(doc: object, status: int) -> list[Uplink]:
            return self._parse_items(
                SMS_UP, doc, lambda item: parse_uplink_item(item, offset, default_sign=sign)
            )

        return await self._authed(SMS_UP, {"sign": sign}, parse, deadline=deadline)

    async def fetch_token(self) -> Token:
        """GET /api/token (retried like every read); used by `self.tokens`."""
        config = self._config
        started = self._clock()

        def parse(doc: object, status: int) -> Token:
            return parse_token(doc, started)

        params = {"appId": config.app_id, "secret": config.secret}
        attributes = {"smsgateway.token.reason": current_fetch_reason()}
        try:
            token = await self._with_retries(
                TOKEN, params, parse, token=None, deadline=None, attributes=attributes
            )
        except ProviderRejectedError as exc:
            failure: TokenUnavailableError = TokenUnavailableError(
                f"provider refused the credentials (code {exc.code or '-'}, "
                f"HTTP {exc.http_status})",
                reason="rejected",
                code=exc.code,
                provider_message=exc.provider_message,
            )
        except UpstreamError as exc:
            failure = TokenUnavailableError(f"token fetch failed: {exc.detail}", reason=exc.reason)
        else:
            logger.info("fetched a provider token valid for %.0f s", token.expires_at - started)
            return token
        logger.warning("%s", failure)
        raise failure

    # ------------------------------------------------------------------ machinery

    async def _authed(
        self,
        endpoint: Endpoint,
        params: dict[str, str],
        parse: Callable[[object, int], T],
        *,
        deadline: float | None,
        recipients: int | None = None,
    ) -> T:
        """A call that needs the token; one repeat with a fresh token if it is rejected."""
        attributes: dict[str, Any] = {}
        if recipients is not None:
            attributes["smsgateway.recipients"] = recipients
        rejection = ""
        for round_ in (1, 2):
            token = await self._token_for(endpoint, deadline)
            try:
                return await self._with_retries(
                    endpoint,
                    {"token": token, **params},
                    parse,
                    token=token,
                    deadline=deadline,
                    attributes=attributes,
                )
            except TokenRejected as exc:
                rejection = exc.detail
            self.tokens.invalidate(token)
            if round_ == 1:
                logger.info("%s: token rejected (%s); retrying once", endpoint.name, rejection)
        raise TokenRejectedError(
            f"provider rejected a freshly fetched token ({rejection})",
            endpoint=endpoint.name,
            reason="token_rejected",
        )

    async def _token_for(self, endpoint: Endpoint, deadline: float | None) -> str:
        current = self.tokens.current()
        if current is not None:
            return current
        try:
            if deadline is None:
                return await self.tokens.get()
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise NotSentError(
                    "deadline already spent before sending",
                    endpoint=endpoint.name,
                    reason="timeout",
                )
            try:
                async with asyncio.timeout(remaining):
                    return await self.tokens.get()
            except TimeoutError:
                pass
        except TokenUnavailableError as exc:
            # The fetch's error is shared by all its waiters: give each caller its own.
            failure = TokenUnavailableError(
                exc.detail,
                reason=exc.reason,
                endpoint=endpoint.name,
                code=exc.code,
                provider_message=exc.provider_message,
            )
            raise failure from None
        raise NotSentError(
            "deadline reached while waiting for a token", endpoint=endpoint.name, reason="timeout"
        )

    def _parse_items(
        self, endpoint: Endpoint, doc: object, parse_item: Callable[[Mapping[str, object]], T]
    ) -> list[T]:
        if isinstance(doc, dict):
            # An object reply with code 10000 (checked already) and the list under "data",
            # or none at all: nothing to collect.
            doc = doc.get("data", [])
        if not isinstance(doc, list):
            raise ValueError("reply is not a JSON array")
        items: list[T] = []
        invalid = 0
        last_error = ""
        for raw in doc:
            try:
                items.append(parse_item(raw))
            except ValueError as exc:
                invalid += 1
                if self._on_invalid_item is not None:
                    self._on_invalid_item(endpoint.name, raw, exc)
                last_error = str(exc)
        if invalid:
            logger.warning(
                "%s: skipped %d of %d items that cannot be parsed (last: %s)",
                endpoint.name,
                invalid,
                len(doc),
                last_error,
            )
        return items
