"""The `type=` converters of `smsctl`'s arguments: each parses one option's text or
raises `argparse.ArgumentTypeError` with the message argparse prints."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

# Spaces stay inside a number: `+86 136-5168-8564` is one recipient.
_NUMBER_SEPARATORS = re.compile(r"[,，\r\n]+")
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def split_numbers(text: str) -> list[str]:
    return [n for n in (part.strip() for part in _NUMBER_SEPARATORS.split(text)) if n]


def phone_list(text: str) -> list[str]:
    numbers = split_numbers(text)
    if not numbers:
        raise argparse.ArgumentTypeError("no phone number given")
    return numbers


def json_text(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict | list):
        raise argparse.ArgumentTypeError("must be a JSON object or array")
    return text


def since(text: str) -> datetime:
    """An ISO 8601 time (naive means UTC) or an age such as 30s, 15m, 2h, 1d."""
    match = _RELATIVE.match(text.strip())
    if match:
        amount, unit = match.groups()
        return datetime.now(UTC) - timedelta(seconds=float(amount) * _UNITS[unit])
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected an ISO 8601 time (2026-01-31T08:00:00Z) or an age (30s, 15m, 2h, 1d)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def cursor(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def positive(kind: Callable[[str], float]) -> Callable[[str], Any]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError("must be > 0")
        return value

    return parse


def rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be within 0..1")
    return value


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def setting(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw  # a bare word is a string
    return key, value
