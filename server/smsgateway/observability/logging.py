"""Structured logs: one JSON object per line, phone numbers masked, secrets redacted.

Every record carries `time`, `level`, `logger`, `message`, and — inside a valid
OpenTelemetry span — `trace_id` and `span_id`, so a log line leads to its trace.
Fields passed with `extra=` appear as top-level keys. The message (after `%` args
are applied), string extras and exception text all pass through the same scrubbing:
phone numbers become ``136****8564`` and values of token/secret/appId-like keys in
query strings or JSON become ``***``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from opentelemetry import trace

from smsgateway.messaging.phones import mask_phones_in_text

__all__ = ["JsonFormatter", "configure_logging", "scrub"]

# Keys whose values are credentials in the provider's API (`appId`, `secret`, `token`)
# and in common HTTP usage. Matched in `key=value` (query strings, form bodies, reprs)
# and in `"key": "value"` (JSON) forms.
_SECRET_KEYS: Final = (
    r"(?:access_?token|token|secret|app_?id|password|passwd|authorization|api_?key)"
)
# `key=value` with optional spaces, or `key:value` without: "token: provider refused…"
# is an endpoint name followed by prose, not a credential.
_SECRET_ASSIGN: Final = re.compile(rf"(?i)\b({_SECRET_KEYS})(\s*=\s*|:)(?![\"'\s])([^&\s,;\"')]+)")
_SECRET_JSON: Final = re.compile(rf"(?i)([\"']{_SECRET_KEYS}[\"']\s*:\s*)([\"'])(.*?)(\2)")
_SECRET_NAME: Final = re.compile(rf"(?i){_SECRET_KEYS}")
_BEARER: Final = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")

# Attributes every LogRecord has; anything else came from `extra=`.
_RESERVED: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)


def scrub(text: str) -> str:
    """`text` with phone numbers masked and credential values replaced by ``***``."""
    if "earer" in text:
        text = _BEARER.sub(r"\1***", text)
    if "=" in text or ":" in text:
        text = _SECRET_JSON.sub(r"\1\2***\4", text)
        text = _SECRET_ASSIGN.sub(r"\1\2***", text)
    return mask_phones_in_text(text)


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    # Anything else is rendered by its str(), which may quote request data.
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line (no trailing newline; the handler adds it)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            entry["trace_id"] = f"{ctx.trace_id:032x}"
            entry["span_id"] = f"{ctx.span_id:016x}"
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_") and key not in entry:
                # extra={"token": ...} is redacted by its name, whatever the value looks like.
                entry[key] = "***" if _SECRET_NAME.fullmatch(key) else _scrub_value(value)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = scrub(record.exc_text)
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


_handler: logging.Handler | None = None


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of the process to `stream` (stdout) as JSON lines at `level`.

    `level` is a standard level name (DEBUG, INFO, WARNING, ERROR, CRITICAL; any case),
    e.g. from SMSGW_LOG_LEVEL; anything else raises ValueError. Calling it again
    replaces the handler it installed before and leaves other handlers alone.
    """
    global _handler
    name = level.strip().upper()
    numeric = logging.getLevelNamesMapping().get(name)
    if numeric is None or name == "NOTSET":
        raise ValueError(f"unknown log level {level!r} (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    handler = logging.StreamHandler(sys.stdout if stream is None else stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(numeric)
    _handler = handler
    # Python emits warnings through logging once captured, so they are JSON too.
    logging.captureWarnings(True)
    return handler
