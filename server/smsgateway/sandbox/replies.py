"""The provider's answers on the wire: result codes, JSON replies, rendered reports and uplinks.

Rendering follows the configuration in force when the answer is made (`code_as_number`,
`field_style`), so the functions here take that `SandboxConfig`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from aiohttp import web

from smsgateway.sandbox.config import REPORT_MESSAGES, SandboxConfig
from smsgateway.sandbox.streams import Report, Uplink

CHINA_TZ = timezone(timedelta(hours=8), "UTC+8")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

CODE_OK = "10000"
CODE_BAD_CREDENTIALS = "10001"
CODE_BAD_PARAM = "10002"
CODE_TEMPLATE_NOT_APPROVED = "10003"
CODE_BALANCE_TOO_LOW = "10004"
CODE_TOKEN_INVALID = "40001"

CENT = Decimal("0.01")
"""Amounts (the balance) are answered in cents, rounded half up."""

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


class Rejection(Exception):
    """A provider answer other than success, raised from deep inside a handler."""

    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def param_error(param: str, reason: str) -> Rejection:
    return Rejection(CODE_BAD_PARAM, f"参数错误: {param} {reason}")


def format_time(timestamp: float) -> str:
    """The provider's time format, in UTC+8."""
    return datetime.fromtimestamp(timestamp, CHINA_TZ).strftime(TIME_FORMAT)


def wire_code(cfg: SandboxConfig, code: str) -> str | int:
    """A result code as the configuration spells it: "10000" or 10000."""
    return int(code) if cfg.code_as_number and code.isdigit() else code


def json_response(payload: object, status: int = 200) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")


def reply(
    cfg: SandboxConfig, code: str, message: str, status: int = 200, **extra: object
) -> web.Response:
    """The provider's {"code", "message", ...} answer."""
    return json_response({"code": wire_code(cfg, code), "message": message, **extra}, status)


def render_report(cfg: SandboxConfig, r: Report) -> dict[str, object]:
    values = (
        r.phone_number,
        format_time(r.send_time),
        format_time(r.report_time),
        r.code == CODE_OK,
        wire_code(cfg, r.code),
        REPORT_MESSAGES.get(r.code, "未知"),
        str(r.sms_size),
        r.biz_id,
    )
    snake = cfg.field_style == "snake"
    keys = _REPORT_KEYS_SNAKE if snake else _REPORT_KEYS_CAMEL
    return dict(zip(keys, values, strict=True))


def render_uplink(cfg: SandboxConfig, u: Uplink, *, with_sign: bool) -> dict[str, object]:
    snake = cfg.field_style == "snake"
    out: dict[str, object] = {
        "phone_number" if snake else "phoneNumber": u.phone_number,
        "send_time" if snake else "sendTime": format_time(u.send_time),
        "content": u.content,
    }
    if with_sign:
        out["sign"] = u.sign
    out["sequence_id" if snake else "sequenceId"] = u.sequence_id
    return out
