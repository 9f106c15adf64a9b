"""Checks of the send parameters of /sms/send and /sms/sendTemplate.

Each check raises `Rejection` on the first problem: 10002 naming the parameter, or 10003
for a template that is not approved. The token is checked by `Tokens.check`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from aiohttp import web

from smsgateway.sandbox.replies import CODE_TEMPLATE_NOT_APPROVED, Rejection, param_error

MAX_NUMBERS = 1000
MAX_NUMBERS_CHARS = 1500
MAX_SIGN = 20
MAX_CONTENT = 1000
MAX_PARAM_JSON = 100
MAX_TEMPLATE_ID = 20
MAX_TOKEN_SEND = 200  # send, sendTemplate, deliver
MAX_TOKEN_SHORT = 64  # smsUp, balance
KINDS = frozenset({"1", "2", "3"})

_SEPARATORS = re.compile("[,，]")
_PHONE = re.compile(r"\+?\d{5,20}")


@dataclass(frozen=True, slots=True)
class SendParams:
    """A send whose parameters passed the checks (what `accept_send` bills and records)."""

    numbers: tuple[str, ...]
    sign: str
    content: str
    kind: str | None
    template_id: str | None
    param_json: str | None


async def form_params(request: web.Request) -> dict[str, str]:
    """The POST parameters: the form body over the query string (the body wins)."""
    if request.content_type == "application/json":
        raise param_error("body", "must be application/x-www-form-urlencoded, not JSON")
    params = dict(request.query)
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, str):
                params[key] = value
    return params


def check_send(params: Mapping[str, str], require_kind: bool | None) -> SendParams:
    """The parameters of /sms/send (`require_kind` as in `SandboxConfig.require_kind`)."""
    numbers = parse_numbers(params.get("phoneNumbers", ""))
    sign = parse_sign(params.get("sign", ""), required=True)
    content = params.get("content", "")
    _check_content(content)
    if f"【{sign}】" not in content:
        raise param_error("content", f"must contain the sign as 【{sign}】")
    kind = params.get("kind") or None
    if require_kind and kind is None:
        raise param_error("kind", "is required (1, 2 or 3) for this account")
    if kind is not None and kind not in KINDS:
        raise param_error("kind", "must be 1, 2 or 3")
    if require_kind is False and kind is not None:
        raise param_error("kind", "must be absent: this account has a single kind")
    return SendParams(numbers, sign, content, kind, None, None)


def check_send_template(params: Mapping[str, str], approved: Collection[str]) -> SendParams:
    """The parameters of /sms/sendTemplate (`approved`: the approved templateIds)."""
    numbers = parse_numbers(params.get("phoneNumbers", ""))
    param_json = params.get("paramJson", "")
    if not param_json:
        raise param_error("paramJson", "is required")
    if len(param_json) > MAX_PARAM_JSON:
        raise param_error("paramJson", f"longer than {MAX_PARAM_JSON}")
    try:
        json.loads(param_json)
    except ValueError:
        raise param_error("paramJson", "is not valid JSON") from None
    template_id = params.get("templateId", "")
    if not template_id:
        raise param_error("templateId", "is required")
    if len(template_id) > MAX_TEMPLATE_ID:
        raise param_error("templateId", f"longer than {MAX_TEMPLATE_ID}")
    if template_id not in approved:
        raise Rejection(CODE_TEMPLATE_NOT_APPROVED, "模板未审核通过: templateId")
    sign = parse_sign(params.get("sign", ""), required=True)
    content = params.get("content", "")
    _check_content(content)
    kind = params.get("kind") or None
    return SendParams(numbers, sign, content, kind, template_id, param_json)


def is_phone_number(text: str) -> bool:
    """5..20 digits with an optional leading "+"."""
    return _PHONE.fullmatch(text) is not None


def parse_numbers(raw: str) -> tuple[str, ...]:
    if not raw.strip():
        raise param_error("phoneNumbers", "is required")
    numbers = tuple(part.strip() for part in _SEPARATORS.split(raw))
    if len(numbers) > MAX_NUMBERS:
        raise param_error("phoneNumbers", f"more than {MAX_NUMBERS} numbers")
    if len(raw) > MAX_NUMBERS_CHARS:
        raise param_error("phoneNumbers", f"longer than {MAX_NUMBERS_CHARS} characters")
    for position, number in enumerate(numbers, start=1):
        if not is_phone_number(number):
            raise param_error("phoneNumbers", f"item {position} is not a phone number")
    return numbers


def parse_sign(raw: str, *, required: bool) -> str:
    """The sign, or "" when it is absent and optional."""
    if not raw:
        if required:
            raise param_error("sign", "is required")
        return ""
    if len(raw) > MAX_SIGN:
        raise param_error("sign", f"longer than {MAX_SIGN}")
    if "【" in raw or "】" in raw:
        raise param_error("sign", "must not contain 【】")
    return raw


def _check_content(content: str) -> None:
    if not content:
        raise param_error("content", "is required")
    if len(content) > MAX_CONTENT:
        raise param_error("content", f"longer than {MAX_CONTENT}")
