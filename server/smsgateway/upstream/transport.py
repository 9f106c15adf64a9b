"""One call to the provider over HTTP: its attempts, their retries and their spans.

`ProviderTransport` is the base of `ProviderClient`, which adds the endpoints and the
token. Each attempt sends one HTTP request bounded by the caller's deadline, inside an
OpenTelemetry client span, and `smsgateway.upstream.replies.interpret` makes the
result or the failure of its reply.

Retries: reads (token, balance, deliver, smsUp) repeat transient faults with
jittered exponential backoff within the deadline; sends repeat only when the
request provably never left (connection refused).

Secrets: texts of aiohttp's exceptions (which may contain the URL with its query,
and so the token or the secret) are never used in a log line, an error or a span.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import aiohttp
import yarl
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from smsgateway.upstream.config import UpstreamConfig
from smsgateway.upstream.errors import (
    NotSentError,
    OutcomeUnknownError,
    ProviderRejectedError,
    UpstreamError,
    UpstreamUnavailableError,
)
from smsgateway.upstream.faults import Fault, TokenRejected
from smsgateway.upstream.http1 import ConnectFailed, ConnectTimeout, Http1Pool, ReplyBroken
from smsgateway.upstream.observer import UpstreamObserver
from smsgateway.upstream.replies import interpret
from smsgateway.upstream.session import AttemptState, current_attempt, tracks_sent
from smsgateway.upstream.wire import FORM_HEADERS, Endpoint, encode_form

__all__ = ["ProviderTransport"]

# The retry warnings are about the client's calls: they log under the client's name.
logger = logging.getLogger("smsgateway.upstream.client")

T = TypeVar("T")

_OFF_PROVIDERS: Final = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_FORM_TYPE: Final = FORM_HEADERS["Content-Type"]


def _connect_detail(exc: aiohttp.ClientConnectorError) -> str:
    # Only the OS error text and our own host: aiohttp's message may include the URL.
    os_error = exc.os_error
    reason = os_error.strerror or type(os_error).__name__
    return f"cannot connect: {reason}"


class ProviderTransport:
    """Attempts and retries of calls to the provider over one shared HTTP client (the lean
    pool of `upstream/http1.py`, or an aiohttp session)."""

    def __init__(
        self,
        session: aiohttp.ClientSession | Http1Pool,
        config: UpstreamConfig,
        *,
        observer: UpstreamObserver,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]],
        rng: random.Random,
        tracer_provider: trace.TracerProvider | None,
    ) -> None:
        # The gateway's lean pool (`new_pool`), or an aiohttp session (`new_session`).
        self._pool = session if isinstance(session, Http1Pool) else None
        self._session = None if isinstance(session, Http1Pool) else session
        self._config = config
        self._observer = observer
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        # Without a provider given, the global one: a proxy until observability installs
        # the SDK provider, so a client built early still traces.
        self._tracer = trace.get_tracer("smsgateway.upstream", tracer_provider=tracer_provider)
        self._tracer_provider = tracer_provider
        self._tracks_sent = tracks_sent(session)
        self._base = config.base_url.rstrip("/")
        self._urls: dict[str, yarl.URL] = {}  # POST endpoints' URLs, one per path
        parts = urlsplit(config.base_url)
        self._base_path = parts.path.rstrip("/")
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if parts.scheme == "https" else 80)

    def _backoff(self, failures: int) -> float:
        """Equal-jitter exponential backoff: half the cap plus a random share of the other half."""
        config = self._config
        cap = min(
            config.backoff_max_seconds, config.backoff_initial_seconds * 2.0 ** (failures - 1)
        )
        return cap / 2 + self._rng.uniform(0.0, cap / 2)

    async def _with_retries(
        self,
        endpoint: Endpoint,
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
            except Fault as exc:
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

    def _attempt_timeout(self, endpoint: Endpoint, deadline: float | None, failures: int) -> float:
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
        endpoint: Endpoint,
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
        except Fault as exc:
            outcome = exc.outcome
            raise
        except TokenRejected:
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
        self, endpoint: Endpoint, resend_count: int, attributes: Mapping[str, Any]
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
        endpoint: Endpoint,
        params: Mapping[str, str],
        parse: Callable[[object, int], T],
        token: str | None,
        timeout_seconds: float,
        span: Span,
    ) -> T:
        encoded = encode_form(params)
        get = endpoint.method == "GET"
        body = None if get else encoded.encode("ascii")
        state = AttemptState()
        if self._pool is not None:
            target = f"{endpoint.path}?{encoded}" if get else endpoint.path
            status, raw = await self._exchange_pooled(
                self._pool, endpoint.method, target, body, timeout_seconds, state
            )
        else:
            if get:
                url = yarl.URL(f"{self._base}{endpoint.path}?{encoded}", encoded=True)
            else:
                url = self._urls.get(endpoint.path) or self._url(endpoint.path)
            status, raw = await self._exchange_aiohttp(
                endpoint.method, url, body, None if get else FORM_HEADERS, timeout_seconds, state
            )
        span.set_attribute("http.response.status_code", status)
        return interpret(endpoint, status, raw, parse, token, span, self._config)

    async def _exchange_aiohttp(
        self,
        method: str,
        url: yarl.URL,
        body: bytes | None,
        headers: Mapping[str, str] | None,
        timeout_seconds: float,
        state: AttemptState,
    ) -> tuple[int, bytes]:
        client_timeout = aiohttp.ClientTimeout(
            total=timeout_seconds,
            sock_connect=min(self._config.connect_timeout_seconds, timeout_seconds),
        )
        assert self._session is not None
        reset = current_attempt.set(state)
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=client_timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                raw = await response.read()
        except aiohttp.ClientConnectorError as exc:
            raise Fault("connection_error", _connect_detail(exc), sent=False) from None
        except aiohttp.ConnectionTimeoutError:
            raise Fault("timeout", "connecting timed out", sent=False) from None
        except TimeoutError:  # includes aiohttp.ServerTimeoutError
            raise Fault(
                "timeout", f"no answer within {timeout_seconds:.3g} s", sent=self._was_sent(state)
            ) from None
        except aiohttp.ClientError as exc:
            raise Fault(
                "connection_error",
                f"connection failed ({type(exc).__name__})",
                sent=self._was_sent(state),
            ) from None
        finally:
            current_attempt.reset(reset)
        return status, raw

    @staticmethod
    async def _exchange_pooled(
        pool: Http1Pool,
        method: str,
        target: str,
        body: bytes | None,
        timeout_seconds: float,
        state: AttemptState,
    ) -> tuple[int, bytes]:
        content_type = _FORM_TYPE if body is not None else None
        try:
            return await pool.request(
                method,
                target,
                body,
                content_type=content_type,
                seconds=timeout_seconds,
                state=state,
            )
        except ConnectFailed as exc:
            raise Fault("connection_error", f"cannot connect: {exc}", sent=False) from None
        except ConnectTimeout:
            raise Fault("timeout", "connecting timed out", sent=False) from None
        except TimeoutError:
            raise Fault(
                "timeout", f"no answer within {timeout_seconds:.3g} s", sent=state.sent
            ) from None
        except ReplyBroken as exc:
            raise Fault(
                "connection_error", f"connection failed ({type(exc).__name__})", sent=True
            ) from None

    def _url(self, path: str) -> yarl.URL:
        url = self._urls[path] = yarl.URL(f"{self._base}{path}", encoded=True)
        return url

    def _was_sent(self, state: AttemptState) -> bool:
        # Without the tracker we cannot know; assume the worst for a send.
        return state.sent or not self._tracks_sent
