"""Typed results of the provider's endpoints.

`DeliveryReport` and `Uplink` are shared with `events/` (pushes carry the same
items as pulls); parsing of raw items (both field spellings, `code` as string or
number, provider-local times) lives here too.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """One delivery report, as pulled from /sms/deliver or pushed to us."""

    biz_id: str
    phone_number: str
    provider_code: str
    """The provider's code as text ("10000", "4", ...)."""
    success: bool
    message: str = ""
    sms_size: int = 0
    send_time: datetime | None = None
    """Aware datetimes (the provider's zone applied by the parser)."""
    report_time: datetime | None = None

    def dedup_key(self) -> str:
        """Identity of a report: the same report pushed twice or pulled and pushed."""
        report_time = self.report_time.isoformat() if self.report_time else ""
        return f"{self.biz_id}|{self.phone_number}|{self.provider_code}|{report_time}"


@dataclass(frozen=True, slots=True)
class Uplink:
    """One uplink (inbound message), as pulled from /sms/smsUp or pushed to us."""

    phone_number: str
    content: str
    sign: str
    sequence_id: int
    send_time: datetime | None = None

    def dedup_key(self) -> str:
        """Identity of an uplink: the provider's sequence id with the sender."""
        return f"{self.sequence_id}|{self.phone_number}"


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """The provider's answer to an accepted send: one bizId for the whole batch."""

    biz_id: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Balance:
    """The account balance, exact."""

    amount: Decimal
    text: str
    """The amount as the provider wrote it (e.g. "100.00")."""


@dataclass(frozen=True, slots=True)
class Token:
    """A provider token; its value never appears in a repr."""

    value: str = field(repr=False)
    expires_at: float
    """When it stops being valid, on the client's monotonic clock."""


SUCCESS_CODE = "10000"


def code_of(value: object) -> str:
    """The provider's `code` as text: 10000, "10000" and 10000.0 all give "10000"."""
    if isinstance(value, bool):
        raise ValueError("code is a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if not math.isfinite(value) or value != int(value):
            raise ValueError("code is not a whole number")
        return str(int(value))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("code is empty")
        return _utf8(text, "code")
    raise ValueError(f"code has type {type(value).__name__}")


def parse_time(text: str | None, utc_offset_hours: float) -> datetime | None:
    """A provider time "yyyy-MM-dd HH:mm:ss" (zone-less) as an aware datetime."""
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise ValueError(f"time has type {type(text).__name__}, expected text")
    return _parse_time_text(text, utc_offset_hours)


@functools.lru_cache(maxsize=4096)
def _parse_time_text(text: str, utc_offset_hours: float) -> datetime:
    # Memoised (datetimes are immutable; errors are not cached): the reports of one
    # push carry a few distinct times, and this was a sixth of a push's parse CPU.
    stripped = text.strip()
    # fromisoformat is ~50x faster than strptime; the regex keeps it as strict.
    if _TIME_SHAPE.fullmatch(stripped) is None:
        raise ValueError(f"time {text[:40]!r} is not 'yyyy-MM-dd HH:mm:ss'")
    try:
        naive = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"time {text[:40]!r} is not 'yyyy-MM-dd HH:mm:ss'") from None
    aware = naive.replace(tzinfo=_zone(utc_offset_hours))
    try:
        aware.astimezone(UTC)  # years 1 and 9999 can leave the representable range
    except OverflowError:
        raise ValueError(f"time {text[:40]!r} is out of range") from None
    return aware


@functools.lru_cache(maxsize=8)
def _zone(utc_offset_hours: float) -> timezone:
    return timezone(timedelta(hours=utc_offset_hours))


_TIME_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)


_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def _field(item: Mapping[str, object], camel: str, snake: str) -> object:
    """A field under either published spelling (camelCase first)."""
    value = item.get(camel)
    return item.get(snake) if value is None else value


def _text(item: Mapping[str, object], camel: str, snake: str, *, required: bool) -> str:
    value = _field(item, camel, snake)
    if value is None:
        if required:
            raise ValueError(f"field {camel!r} / {snake!r} is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"field {camel!r} has type {type(value).__name__}, expected text")
    text = str(value).strip()
    if required and not text:
        raise ValueError(f"field {camel!r} is empty")
    return _utf8(text, camel)


def _utf8(text: str, name: str) -> str:
    """`text`, when it can be stored and sent on: not a lone surrogate ("\\ud800"), which
    UTF-8 cannot encode, nor a NUL, which SQLite's JSON functions cut strings at."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"field {name!r} is not valid Unicode (a lone surrogate)") from None
    if "\x00" in text:
        raise ValueError(f"field {name!r} contains a NUL character")
    return text


INT64_MAX = 2**63 - 1
"""The largest integer a store keeps (SQLite INTEGER and protobuf int64 are 64-bit)."""

_MAX_DIGITS = len(str(INT64_MAX))


def _integer(value: object, name: str) -> int:
    """A whole number in 0..INT64_MAX, from a number or a string of ASCII digits."""
    if isinstance(value, bool):
        raise ValueError(f"field {name!r} is a boolean, expected a number")
    number: int
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        if value.adjusted() > _MAX_DIGITS:  # no need to build a 5,000-digit int
            raise ValueError(f"field {name!r} is out of range (0 to 2^63-1)")
        number = int(value)
    elif isinstance(value, str) and (digits := value.strip()).isascii() and digits.isdigit():
        if len(digits.lstrip("0")) > _MAX_DIGITS:
            raise ValueError(f"field {name!r} is out of range (0 to 2^63-1)")
        number = int(digits)
    else:
        raise ValueError(f"field {name!r} is not a whole number")
    if not 0 <= number <= INT64_MAX:
        raise ValueError(f"field {name!r} is out of range (0 to 2^63-1)")
    return number


def _success(value: object, code: str) -> bool:
    if value is None:
        return code == SUCCESS_CODE
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValueError("field 'success' is not a boolean")


def _mapping(item: object) -> Mapping[str, object]:
    if not isinstance(item, Mapping):
        raise ValueError(f"item is a {type(item).__name__}, expected a JSON object")
    return item


def parse_report_item(item: Mapping[str, object], utc_offset_hours: float = 8.0) -> DeliveryReport:
    """One delivery report from a pull or a push (either spelling, `code` text or number).

    Raises ValueError naming the offending field (never its value when it is a number).
    """
    item = _mapping(item)
    if item.get("code") is None:
        raise ValueError("field 'code' is missing")
    code = code_of(item.get("code"))
    size_value = _field(item, "smsSize", "sms_size")
    return DeliveryReport(
        biz_id=_text(item, "bizId", "biz_id", required=True),
        phone_number=_text(item, "phoneNumber", "phone_number", required=True),
        provider_code=code,
        success=_success(item.get("success"), code),
        message=_text(item, "message", "message", required=False),
        sms_size=0 if size_value in (None, "") else _integer(size_value, "smsSize"),
        send_time=parse_time(_time_text(item, "sendTime", "send_time"), utc_offset_hours),
        report_time=parse_time(_time_text(item, "reportTime", "report_time"), utc_offset_hours),
    )


def parse_uplink_item(
    item: Mapping[str, object], utc_offset_hours: float = 8.0, *, default_sign: str = ""
) -> Uplink:
    """One uplink from a pull or a push; `default_sign` fills a missing `sign` (pulls omit it)."""
    item = _mapping(item)
    sequence = _field(item, "sequenceId", "sequence_id")
    if sequence is None:
        raise ValueError("field 'sequenceId' / 'sequence_id' is missing")
    content = item.get("content")
    if not isinstance(content, str):
        raise ValueError("field 'content' is missing or not text")
    _utf8(content, "content")
    sign = _text(item, "sign", "sign", required=False) or default_sign
    return Uplink(
        phone_number=_text(item, "phoneNumber", "phone_number", required=True),
        content=content,
        sign=sign,
        sequence_id=_integer(sequence, "sequenceId"),
        send_time=parse_time(_time_text(item, "sendTime", "send_time"), utc_offset_hours),
    )


def _time_text(item: Mapping[str, object], camel: str, snake: str) -> str | None:
    value = _field(item, camel, snake)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"field {camel!r} has type {type(value).__name__}, expected text")
