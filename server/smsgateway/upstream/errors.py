"""Typed failures of calls to the provider.

The classes separate what a caller must treat differently:

* `ProviderRejectedError` - the provider answered and refused (code != 10000).
* `NotSentError` - nothing reached the provider (connection refused, deadline
  already spent, no token); repeating the call is safe.
* `OutcomeUnknownError` - a send left but no valid answer came back (timeout,
  reset, HTTP 5xx, malformed reply); repeating it may send twice.
* `UpstreamUnavailableError` - an idempotent read failed transiently, retries
  included.
* `TokenRejectedError` - the provider refused a token fetched a moment ago.

Texts are built by this package from fixed words, codes and redacted provider
messages only, never from aiohttp's exception texts (they can carry the URL with
the token in its query). `str()` and `repr()` therefore never contain the
token, the secret or a phone number.
"""

from __future__ import annotations

import re

__all__ = [
    "NotSentError",
    "OutcomeUnknownError",
    "ProviderRejectedError",
    "TokenRejectedError",
    "TokenUnavailableError",
    "UpstreamError",
    "UpstreamUnavailableError",
    "redact",
]

# Phone numbers and other long identifiers a provider message might echo back.
_LONG_DIGITS = re.compile(r"\+?\d[\d \-]{5,}\d")
_MAX_TEXT = 200


def redact(text: str) -> str:
    """Provider text made safe for logs and exception texts: digit runs masked, length capped."""
    text = _LONG_DIGITS.sub("<digits>", text)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + "…"
    return text


class UpstreamError(Exception):
    """Base of every failure of a provider call."""

    retryable: bool = False
    """Whether the caller may repeat the call later (the gRPC layer's RetryInfo)."""

    def __init__(self, message: str, *, endpoint: str, reason: str = "") -> None:
        super().__init__(f"{endpoint}: {message}")
        self.endpoint = endpoint
        self.detail = message
        """The text without the endpoint prefix."""
        """The endpoint: "token", "send", "send_template", "deliver", "sms_up", "balance"."""
        self.reason = reason
        """The last observed outcome, one of the observer's outcome words ("timeout", ...)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ProviderRejectedError(UpstreamError):
    """The provider answered with a code other than 10000 (and not a token rejection)."""

    def __init__(
        self, *, endpoint: str, code: str, provider_message: str, http_status: int
    ) -> None:
        super().__init__(
            f"provider rejected the request (code {code or '-'}, HTTP {http_status}): "
            f"{redact(provider_message)}",
            endpoint=endpoint,
            reason="rejected",
        )
        self.code = code
        """The provider's code as text ("" when the reply carried none)."""
        self.provider_message = provider_message
        """The provider's message, token and secret removed (may still name a number)."""
        self.http_status = http_status


class NotSentError(UpstreamError):
    """The request never reached the provider; repeating it is safe."""

    retryable = True


class TokenUnavailableError(NotSentError):
    """No token could be obtained, so the request was not sent."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        endpoint: str = "token",
        code: str | None = None,
        provider_message: str = "",
    ) -> None:
        super().__init__(message, endpoint=endpoint, reason=reason)
        self.code = code
        """The provider's code when it refused the credentials, else None (network, timeout)."""
        self.provider_message = provider_message
        if code is not None:
            # Wrong credentials: waiting does not help until the configuration is fixed.
            self.retryable = False


class OutcomeUnknownError(UpstreamError):
    """A send left but no valid answer came back: it may or may not have been accepted."""


class UpstreamUnavailableError(UpstreamError):
    """An idempotent read (balance, pulls) failed transiently, retries included."""

    retryable = True


class TokenRejectedError(UpstreamError):
    """The provider rejected a token that had just been fetched again."""
