"""The provider's HTTP API v1.0 as typed async calls.

One `ProviderClient` per provider account and process, over one shared
`aiohttp.ClientSession` (build it with `new_session`). Each call:

1. takes a token from the client's `TokenCache` (single flight, refreshed early);
2. sends one HTTP request per attempt, bounded by the caller's deadline, inside an
   OpenTelemetry client span;
3. parses the reply strictly and turns every failure into one of the typed errors
   of `smsgateway.upstream.errors`.

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
import functools
import json
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final, NoReturn, TypeVar
from urllib.parse import quote_plus, urlsplit

import aiohttp
import yarl
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from smsgateway.upstream.config import UpstreamConfig
from smsgateway.upstream.errors import (
    NotSentError,
    OutcomeUnknownError,
    ProviderRejectedError,
    TokenRejectedError,
    TokenUnavailableError,
    UpstreamError,
    UpstreamUnavailableError,
)
from smsgateway.upstream.models import (
    SUCCESS_CODE,
    Balance,
    DeliveryReport,
    SendReceipt,
    Token,
    Uplink,
    code_of,
    parse_report_item,
    parse_uplink_item,
)
from smsgateway.upstream.observer import NoopObserver, UpstreamObserver
from smsgateway.upstream.ports import TokenStore
from smsgateway.upstream.session import AttemptState, current_attempt, new_session, tracks_sent
from smsgateway.upstream.token import TokenCache, current_fetch_reason

__all__ = ["InvalidItemHandler", "ProviderClient", "new_session"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

InvalidItemHandler = Callable[[str, object, ValueError], None]
"""Called with (endpoint, raw item, error) for a pulled item that cannot be parsed."""

DEFAULT_TOKEN_LIFETIME_SECONDS = 7200.0
_FORM_HEADERS: Final = {"Content-Type": "application/x-www-form-urlencoded"}
_OFF_PROVIDERS: Final = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)


@dataclass(frozen=True, slots=True)
class _Endpoint:
    name: str
    method: str
    path: str

    @property
    def idempotent(self) -> bool:
        return self.method == "GET"


_TOKEN = _Endpoint("token", "GET", "/api/token")
_SEND = _Endpoint("send", "POST", "/sms/send")
_SEND_TEMPLATE = _Endpoint("send_template", "POST", "/sms/sendTemplate")
_DELIVER = _Endpoint("deliver", "GET", "/sms/deliver")
_SMS_UP = _Endpoint("sms_up", "GET", "/sms/smsUp")
_BALANCE = _Endpoint("balance", "GET", "/sms/balance")


class _Fault(Exception):
    """One attempt got no usable answer (internal; becomes a public error)."""

    def __init__(self, outcome: str, detail: str, *, sent: bool) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.sent = sent


class _TokenRejected(Exception):
    """The provider did not accept the token (internal)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


_NUMBER_LIST = re.compile(r"[0-9+,]*")


@functools.lru_cache(maxsize=8)
def _quote_token(value: str) -> str:
    # The same token is encoded for every call for hours: encode it once.
    return quote_plus(value, safe="")


def _encode_form(params: Mapping[str, str]) -> str:
    """application/x-www-form-urlencoded text; every value escaped ('+', '=', '&', '/', ' ').

    Same bytes as urllib's urlencode, faster for the two values every call carries: the
    token (cached) and the recipient list (a 1,500 character list of digits and commas
    would otherwise be escaped character by character).
    """
    parts = []
    for key, value in params.items():
        if key == "token":
            quoted = _quote_token(value)
        elif key == "phoneNumbers" and _NUMBER_LIST.fullmatch(value):
            quoted = value.replace("+", "%2B").replace(",", "%2C")
        else:
            quoted = quote_plus(value, safe="")
        parts.append(f"{key}={quoted}")  # keys are the provider's fixed ASCII names
    return "&".join(parts)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for all replies: json.loads with hooks would build a new one per call.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def _parse_json(raw: bytes) -> object:
    """Strict JSON (no NaN/Infinity, no comments or trailing commas); floats exact."""
    return _DECODER.decode(raw.decode("utf-8-sig"))


def _provider_text(doc: Mapping[str, object]) -> str:
    for key in ("message", "msg"):
        value = doc.get(key)
        if isinstance(value, str):
            return value
    return ""


def _connect_detail(exc: aiohttp.ClientConnectorError) -> str:
    # Only the OS error text and our own host: aiohttp's message may include the URL.
    os_error = exc.os_error
    reason = os_error.strerror or type(os_error).__name__
    return f"cannot connect: {reason}"


class ProviderClient:
    """Typed calls to the provider's six endpoints; owns the account's `TokenCache`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
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
        self._session = session
        self._config = config
        self._observer: UpstreamObserver = observer or NoopObserver()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        # Without a provider given, the global one: a proxy until observability installs
        # the SDK provider, so a client built early still traces.
        self._tracer = trace.get_tracer("smsgateway.upstream", tracer_provider=tracer_provider)
        self._tracer_provider = tracer_provider
        self._on_invalid_item = on_invalid_item
        self._tracks_sent = tracks_sent(session)
        if not self._tracks_sent:
            logger.info(
                "upstream session not built by new_session(): every timeout after the "
                "connection is established counts as outcome unknown"
            )
        self._base = config.base_url.rstrip("/")
        self._urls: dict[str, yarl.URL] = {}  # POST endpoints' URLs, one per path
        parts = urlsplit(config.base_url)
        self._base_path = parts.path.rstrip("/")
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
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
        params = {"phoneNumbers": _join_numbers(phone_numbers), "sign": sign, "content": content}
        if kind is not None:
            params["kind"] = str(kind)
        return await self._authed(
            _SEND, params, _parse_receipt, deadline=deadline, recipients=len(phone_numbers)
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
            "phoneNumbers": _join_numbers(phone_numbers),
            "paramJson": param_json,
            "templateId": template_id,
            "sign": sign,
            "content": content,
        }
        return await self._authed(
            _SEND_TEMPLATE,
            params,
            _parse_receipt,
            deadline=deadline,
            recipients=len(phone_numbers),
        )

    async def balance(self, *, deadline: float | None = None) -> Balance:
        """GET /sms/balance, exact."""
        return await self._authed(_BALANCE, {}, _parse_balance, deadline=deadline)

    async def pull_reports(
        self, *, sign: str | None = None, deadline: float | None = None
    ) -> list[DeliveryReport]:
        """GET /sms/deliver: the delivery reports the provider holds for us."""
        params = {"sign": sign} if sign else {}
        offset = self._config.provider_utc_offset_hours

        def parse(doc: object, status: int) -> list[DeliveryReport]:
            return self._parse_items(_DELIVER, doc, lambda item: parse_report_item(item, offset))

        return await self._authed(_DELIVER, params, parse, deadline=deadline)

    async def pull_uplinks(self, *, sign: str, deadline: float | None = None) -> list[Uplink]:
        """GET /sms/smsUp: inbound messages for `sign` (filled in where items omit it)."""
        offset = self._config.provider_utc_offset_hours

        def parse(doc: object, status: int) -> list[Uplink]:
            return self._parse_items(
                _SMS_UP, doc, lambda item: parse_uplink_item(item, offset, default_sign=sign)
            )

        return await self._authed(_SMS_UP, {"sign": sign}, parse, deadline=deadline)

    async def fetch_token(self) -> Token:
        """GET /api/token (retried like every read); used by `self.tokens`."""
        config = self._config
        started = self._clock()

        def parse(doc: object, status: int) -> Token:
            if not isinstance(doc, dict):
                raise ValueError("token reply is not a JSON object")
            value = doc.get("token")
            if not isinstance(value, str) or not value.strip():
                raise ValueError("token reply has no token")
            lifetime = _lifetime(doc.get("expires_in", doc.get("expiresIn")))
            # Counted from before the request: never later than the provider's own expiry.
            return Token(value=value.strip(), expires_at=started + lifetime)

        params = {"appId": config.app_id, "secret": config.secret}
        attributes = {"smsgateway.token.reason": current_fetch_reason()}
        try:
            token = await self._with_retries(
                _TOKEN, params, parse, token=None, deadline=None, attributes=attributes
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
        endpoint: _Endpoint,
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
            except _TokenRejected as exc:
                rejection = exc.detail
            self.tokens.invalidate(token)
            if round_ == 1:
                logger.info("%s: token rejected (%s); retrying once", endpoint.name, rejection)
        raise TokenRejectedError(
            f"provider rejected a freshly fetched token ({rejection})",
            endpoint=endpoint.name,
            reason="token_rejected",
        )

    async def _token_for(self, endpoint: _Endpoint, deadline: float | None) -> str:
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

    def _backoff(self, failures: int) -> float:
        """Equal-jitter exponential backoff: half the cap plus a random share of the other half."""
        config = self._config
        cap = min(
            config.backoff_max_seconds, config.backoff_initial_seconds * 2.0 ** (failures - 1)
        )
        return cap / 2 + self._rng.uniform(0.0, cap / 2)

    async def _with_retries(
        self,
        endpoint: _Endpoint,
        params: Mapping[str, str],
        parse: Callable[[object, int], T],
        *,
        token: str | None,
        deadline: float | None,
        attributes: Mapping[str, Any],
    ) -> T:
        config = self._config
        failures = 0
        while True:
            timeout = self._attempt_timeout(endpoint, deadline, failures)
            try:
                return await self._attempt(
                    endpoint, params, parse, token, timeout, failures, attributes
                )
            except _Fault as exc:
                fault = exc
            # Public errors are raised outside the except block: no implicit chaining to
            # aiohttp exceptions whose text may contain the query with the token.
            failures += 1
            if fault.sent and not endpoint.idempotent:
                raise OutcomeUnknownError(
                    f"{fault.detail}; the provider may have accepted the request",
                    endpoint=endpoint.name,
                    reason=fault.outcome,
                )
            final: UpstreamError
            if fault.sent:
                final = UpstreamUnavailableError(
                    f"{fault.detail} (attempt {failures} of {config.max_attempts})",
                    endpoint=endpoint.name,
                    reason=fault.outcome,
                )
            else:
                final = NotSentError(
                    f"{fault.detail} (attempt {failures} of {config.max_attempts})",
                    endpoint=endpoint.name,
                    reason=fault.outcome,
                )
            if failures >= config.max_attempts:
                raise final
            delay = self._backoff(failures)
            if deadline is not None and self._clock() + delay >= deadline:
                raise final
            logger.warning(
                "%s: %s; attempt %d of %d in %.3f s",
                endpoint.name,
                fault.detail,
                failures + 1,
                config.max_attempts,
                delay,
            )
            await self._sleep(delay)

    def _attempt_timeout(self, endpoint: _Endpoint, deadline: float | None, failures: int) -> float:
        config = self._config
        if deadline is None:
            return config.request_timeout_seconds
        remaining = deadline - self._clock()
        if remaining <= 0:
            if failures:
                cls: type[UpstreamError] = (
                    UpstreamUnavailableError if endpoint.idempotent else NotSentError
                )
            else:
                cls = NotSentError
            raise cls(
                "deadline already spent before sending", endpoint=endpoint.name, reason="timeout"
            )
        if endpoint.idempotent:
            # Reads are repeatable: leave time for another attempt within the deadline.
            return min(remaining, config.request_timeout_seconds)
        # A send is not repeated after it left: give it all the caller's time.
        return remaining

    async def _attempt(
        self,
        endpoint: _Endpoint,
        params: Mapping[str, str],
        parse: Callable[[object, int], T],
        token: str | None,
        timeout_seconds: float,
        resend_count: int,
        attributes: Mapping[str, Any],
    ) -> T:
        started = time.perf_counter()
        outcome = "success"
        span = self._client_span(endpoint, resend_count, attributes)
        try:
            return await self._exchange(endpoint, params, parse, token, timeout_seconds, span)
        except _Fault as exc:
            outcome = exc.outcome
            raise
        except _TokenRejected:
            outcome = "token_rejected"
            raise
        except ProviderRejectedError:
            outcome = "rejected"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            if outcome != "success":
                span.set_status(StatusCode.ERROR, outcome)
                span.set_attribute("error.type", outcome)
            if outcome != "cancelled":
                self._observer.request_finished(
                    endpoint.name, outcome, time.perf_counter() - started
                )
            span.end()

    def _tracing_on(self) -> bool:
        if self._tracer_provider is not None:
            return not isinstance(self._tracer_provider, _OFF_PROVIDERS)
        # Read per call: observability may install the SDK provider after we are built.
        return not isinstance(trace.get_tracer_provider(), _OFF_PROVIDERS)

    def _client_span(
        self, endpoint: _Endpoint, resend_count: int, attributes: Mapping[str, Any]
    ) -> Span:
        """The attempt's CLIENT span, a child of the caller's current span; the invalid
        (no-op) span when tracing is off, which costs nothing per call."""
        if not self._tracing_on():
            return trace.INVALID_SPAN
        span_attributes: dict[str, Any] = {
            "http.request.method": endpoint.method,
            "url.path": self._base_path + endpoint.path,
            "server.address": self._host,
            "server.port": self._port,
            "smsgateway.upstream.endpoint": endpoint.name,
            **attributes,
        }
        if resend_count:
            span_attributes["http.request.resend_count"] = resend_count
        # Not made current: nothing below this point starts spans of its own.
        return self._tracer.start_span(
            f"{endpoint.method} {endpoint.path}",
            kind=SpanKind.CLIENT,
            attributes=span_attributes,
            record_exception=False,
            set_status_on_exception=False,
        )

    async def _exchange(
        self,
        endpoint: _Endpoint,
        params: Mapping[str, str],
        parse: Callable[[object, int], T],
        token: str | None,
        timeout_seconds: float,
        span: Span,
    ) -> T:
        encoded = _encode_form(params)
        if endpoint.method == "GET":
            url = yarl.URL(f"{self._base}{endpoint.path}?{encoded}", encoded=True)
            body: bytes | None = None
            headers = None
        else:
            url = self._urls.get(endpoint.path) or self._url(endpoint.path)
            body = encoded.encode("ascii")
            headers = _FORM_HEADERS
        client_timeout = aiohttp.ClientTimeout(
            total=timeout_seconds,
            sock_connect=min(self._config.connect_timeout_seconds, timeout_seconds),
        )
        state = AttemptState()
        reset = current_attempt.set(state)
        try:
            async with self._session.request(
                endpoint.method,
                url,
                data=body,
                headers=headers,
                timeout=client_timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                raw = await response.read()
        except aiohttp.ClientConnectorError as exc:
            raise _Fault("connection_error", _connect_detail(exc), sent=False) from None
        except aiohttp.ConnectionTimeoutError:
            raise _Fault("timeout", "connecting timed out", sent=False) from None
        except TimeoutError:  # includes aiohttp.ServerTimeoutError
            raise _Fault(
                "timeout", f"no answer within {timeout_seconds:.3g} s", sent=self._was_sent(state)
            ) from None
        except aiohttp.ClientError as exc:
            raise _Fault(
                "connection_error",
                f"connection failed ({type(exc).__name__})",
                sent=self._was_sent(state),
            ) from None
        finally:
            current_attempt.reset(reset)
        span.set_attribute("http.response.status_code", status)
        return self._interpret(endpoint, status, raw, parse, token, span)

    def _url(self, path: str) -> yarl.URL:
        url = self._urls[path] = yarl.URL(f"{self._base}{path}", encoded=True)
        return url

    def _was_sent(self, state: AttemptState) -> bool:
        # Without the tracker we cannot know; assume the worst for a send.
        return state.sent or not self._tracks_sent

    def _interpret(
        self,
        endpoint: _Endpoint,
        status: int,
        raw: bytes,
        parse: Callable[[object, int], T],
        token: str | None,
        span: Span,
    ) -> T:
        is_token_call = endpoint is _TOKEN
        if status in (401, 403) and not is_token_call:
            raise _TokenRejected(f"HTTP {status}")
        if status >= 500 or 300 <= status < 400 or status < 200:
            raise _Fault("http_error", f"HTTP {status}", sent=True)
        try:
            doc = _parse_json(raw)
        except (ValueError, RecursionError) as exc:
            if status >= 400:
                raise ProviderRejectedError(
                    endpoint=endpoint.name, code="", provider_message="", http_status=status
                ) from None
            where = f" at {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
            raise _Fault(
                "malformed", f"reply is not valid JSON{where} (HTTP {status})", sent=True
            ) from None
        if isinstance(doc, dict) and "code" in doc:
            try:
                code = code_of(doc["code"])
            except ValueError as exc:
                raise _Fault("malformed", f"reply has a bad code: {exc}", sent=True) from None
            span.set_attribute("smsgateway.provider_code", code)
            if code in self._config.token_rejected_codes and not is_token_call:
                raise _TokenRejected(f"code {code}, HTTP {status}")
            if code != SUCCESS_CODE or status >= 400:
                raise ProviderRejectedError(
                    endpoint=endpoint.name,
                    code=code,
                    provider_message=self._scrub(_provider_text(doc), token),
                    http_status=status,
                )
        elif status >= 400:
            raise ProviderRejectedError(
                endpoint=endpoint.name, code="", provider_message="", http_status=status
            )
        try:
            return parse(doc, status)
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise _Fault("malformed", f"unexpected reply: {exc}", sent=True) from None

    def _scrub(self, text: str, token: str | None) -> str:
        for secret in (token, self._config.secret):
            if secret:
                text = text.replace(secret, "<redacted>")
        return text

    def _parse_items(
        self, endpoint: _Endpoint, doc: object, parse_item: Callable[[Mapping[str, object]], T]
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


def _join_numbers(phone_numbers: Sequence[str]) -> str:
    if isinstance(phone_numbers, str):
        raise TypeError("phone_numbers must be a sequence of numbers, not one string")
    if not phone_numbers:
        raise ValueError("phone_numbers is empty")
    return ",".join(phone_numbers)


def _parse_receipt(doc: object, status: int) -> SendReceipt:
    if not isinstance(doc, dict):
        raise ValueError("send reply is not a JSON object")
    biz_id = doc.get("bizId", doc.get("biz_id"))
    if isinstance(biz_id, bool) or not isinstance(biz_id, str | int) or not str(biz_id).strip():
        raise ValueError("send reply has no bizId")
    return SendReceipt(
        biz_id=str(biz_id).strip(), code=code_of(doc.get("code")), message=_provider_text(doc)
    )


def _parse_balance(doc: object, status: int) -> Balance:
    if not isinstance(doc, dict):
        raise ValueError("balance reply is not a JSON object")
    value = doc.get("balance")
    if isinstance(value, bool) or value is None:
        raise ValueError("balance reply has no balance")
    if isinstance(value, Decimal):  # a JSON number with a fraction, parsed exactly
        amount, text = value, str(value)
    elif isinstance(value, int):
        amount, text = Decimal(value), str(value)
    elif isinstance(value, str):
        text = value.strip()
        amount = Decimal(text)  # InvalidOperation for junk
    else:
        raise ValueError(f"balance has type {type(value).__name__}")
    if not amount.is_finite():
        raise ValueError("balance is not a finite number")
    return Balance(amount=amount, text=text)


def _lifetime(value: object) -> float:
    if value is None:
        return DEFAULT_TOKEN_LIFETIME_SECONDS
    if isinstance(value, bool):
        raise ValueError("expires_in is a boolean")
    if isinstance(value, str):
        value = value.strip()
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError("expires_in is not a number") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("expires_in is not a positive number")
    return seconds
