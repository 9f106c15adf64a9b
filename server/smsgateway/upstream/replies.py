"""The reply side of the provider's HTTP API: strict JSON, what status and code mean, results.

`interpret` turns one HTTP reply into the endpoint's result, a `ProviderRejectedError`,
or one of the internal faults of `smsgateway.upstream.faults`. Provider messages are
scrubbed of the token and the secret before they reach an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import NoReturn, TypeVar

from opentelemetry.trace import Span

from smsgateway.upstream.config import UpstreamConfig
from smsgateway.upstream.errors import ProviderRejectedError
from smsgateway.upstream.faults import Fault, TokenRejected
from smsgateway.upstream.models import SUCCESS_CODE, Balance, SendReceipt, Token, code_of
from smsgateway.upstream.wire import TOKEN, Endpoint

__all__ = [
    "DEFAULT_TOKEN_LIFETIME_SECONDS",
    "interpret",
    "parse_balance",
    "parse_json",
    "parse_receipt",
    "parse_token",
    "provider_text",
    "scrub",
]

T = TypeVar("T")

DEFAULT_TOKEN_LIFETIME_SECONDS = 7200.0


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for all replies: json.loads with hooks would build a new one per call.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def parse_json(raw: bytes) -> object:
    """Strict JSON (no NaN/Infinity, no comments or trailing commas); floats exact."""
    return _DECODER.decode(raw.decode("utf-8-sig"))


def provider_text(doc: Mapping[str, object]) -> str:
    """The provider's human-readable message of a reply ("message" or "msg"), or ""."""
    for key in ("message", "msg"):
        value = doc.get(key)
        if isinstance(value, str):
            return value
    return ""


def scrub(text: str, token: str | None, secret: str) -> str:
    """`text` with the token and the secret replaced by "<redacted>"."""
    for value in (token, secret):
        if value:
            text = text.replace(value, "<redacted>")
    return text


def interpret(
    endpoint: Endpoint,
    status: int,
    raw: bytes,
    parse: Callable[[object, int], T],
    token: str | None,
    span: Span,
    config: UpstreamConfig,
) -> T:
    """The result `parse` makes of one reply, once its HTTP status and code say success."""
    is_token_call = endpoint is TOKEN
    if status in (401, 403) and not is_token_call:
        raise TokenRejected(f"HTTP {status}")
    if status >= 500 or 300 <= status < 400 or status < 200:
        raise Fault("http_error", f"HTTP {status}", sent=True)
    try:
        doc = parse_json(raw)
    except (ValueError, RecursionError) as exc:
        if status >= 400:
            raise ProviderRejectedError(
                endpoint=endpoint.name, code="", provider_message="", http_status=status
            ) from None
        where = f" at {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise Fault(
            "malformed", f"reply is not valid JSON{where} (HTTP {status})", sent=True
        ) from None
    if isinstance(doc, dict) and "code" in doc:
        try:
            code = code_of(doc["code"])
        except ValueError as exc:
            raise Fault("malformed", f"reply has a bad code: {exc}", sent=True) from None
        span.set_attribute("smsgateway.provider_code", code)
        if code in config.token_rejected_codes and not is_token_call:
            raise TokenRejected(f"code {code}, HTTP {status}")
        if code != SUCCESS_CODE or status >= 400:
            raise ProviderRejectedError(
                endpoint=endpoint.name,
                code=code,
                provider_message=scrub(provider_text(doc), token, config.secret),
                http_status=status,
            )
    elif status >= 400:
        raise ProviderRejectedError(
            endpoint=endpoint.name, code="", provider_message="", http_status=status
        )
    try:
        return parse(doc, status)
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise Fault("malformed", f"unexpected reply: {exc}", sent=True) from None


def parse_receipt(doc: object, status: int) -> SendReceipt:
    """The reply of /sms/send and /sms/sendTemplate."""
    if not isinstance(doc, dict):
        raise ValueError("send reply is not a JSON object")
    biz_id = doc.get("bizId", doc.get("biz_id"))
    if isinstance(biz_id, bool) or not isinstance(biz_id, str | int) or not str(biz_id).strip():
        raise ValueError("send reply has no bizId")
    return SendReceipt(
        biz_id=str(biz_id).strip(), code=code_of(doc.get("code")), message=provider_text(doc)
    )


def parse_balance(doc: object, status: int) -> Balance:
    """The reply of /sms/balance, exact."""
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


def parse_token(doc: object, started: float) -> Token:
    """The reply of /api/token, for a request made at `started` (the client's clock)."""
    if not isinstance(doc, dict):
        raise ValueError("token reply is not a JSON object")
    value = doc.get("token")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("token reply has no token")
    lifetime = _lifetime(doc.get("expires_in", doc.get("expiresIn")))
    # Counted from before the request: never later than the provider's own expiry.
    return Token(value=value.strip(), expires_at=started + lifetime)


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
