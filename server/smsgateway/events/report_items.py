"""The delivery reports of a push body, read fast: the common shape inline, the rest exactly.

`read_reports` gives, for every item of a parsed body, exactly what
`smsgateway.upstream.models.parse_report_item` gives (the same report, or the
same error): an item of the common shape (text and number fields of the types
the provider sends, camelCase or snake_case) is read here without the general
checks' function calls; anything else (a wrong type, an empty required field, a
value with spaces to strip in a number, a bad time) goes to `parse_report_item`
itself, which then reads or refuses it as it always did. The fast path never
refuses an item, it only declines it. It mirrors `parse_report_item`'s rules, so
a change there needs the same change here: the property test in
tests/events_store/test_events_store_report_items.py checks that both agree.

`clean` says that no text of the body can hold a lone surrogate or a NUL (see
`body_is_clean`); when it is False, each text is checked as the general path does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Final

from smsgateway.events.model import DeliveryReportIn
from smsgateway.upstream.models import INT64_MAX, SUCCESS_CODE, parse_report_item, parse_time

__all__ = ["body_is_clean", "read_reports"]

# JSON text can carry a lone surrogate or a NUL only as a \u escape: raw UTF-8 cannot
# encode a surrogate (the strict decoder refuses it) and a raw control character is
# not allowed inside a JSON string. So a body without these escapes has no such text.
_UNSAFE_ESCAPE: Final = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")

_MAX_FAST_DIGITS: Final = len(str(INT64_MAX)) - 1
"""A string of at most this many digits is always within 0..INT64_MAX."""

_DECLINE: Final = object()
"""A time the fast path leaves to the general parser."""

_SIZES: Final = {str(n): n for n in range(100)}
"""`smsSize` texts read without a conversion (a push repeats a handful of them)."""


def body_is_clean(body: bytes) -> bool:
    """True when no JSON string of `body` can decode to a lone surrogate or a NUL."""
    return b"\\u" not in body or _UNSAFE_ESCAPE.search(body) is None


def _storable(text: str) -> bool:
    # What `_utf8` in upstream.models accepts: no lone surrogate, no NUL.
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_reports(
    doc: list[object],
    utc_offset_hours: float,
    clean: bool,
    on_bad: Callable[[int, object, Exception | None], None],
) -> list[DeliveryReportIn]:
    """The reports of `doc`'s items in order; `on_bad(index, item, error)` for the others.

    `error` is what `parse_report_item` raised (ValueError, TypeError or
    OverflowError), None for an item that is not a JSON object.
    """
    good: list[DeliveryReportIn] = []
    append = good.append
    times: dict[str, datetime | None] = {}
    for index, item in enumerate(doc):
        if type(item) is not dict:
            on_bad(index, item, None)
            continue
        report = _fast_report(item, utc_offset_hours, clean, times)
        if report is not None:
            append(report)
            continue
        try:
            append(parse_report_item(item, utc_offset_hours))
        except (ValueError, TypeError, OverflowError) as exc:
            on_bad(index, item, exc)
    return good


def _time_field(
    get: Callable[[str], object],
    camel: str,
    snake: str,
    utc_offset_hours: float,
    times: dict[str, datetime | None],
) -> object:
    """A time field under either spelling: None when absent, the time `parse_time` gives
    (memoised in `times`), or `_DECLINE` when it is not a string `parse_time` accepts."""
    value = get(camel)
    if value is None:
        value = get(snake)
    if value is None:
        return None
    if type(value) is not str:
        return _DECLINE
    found = times.get(value, _DECLINE)
    if found is not _DECLINE:
        return found
    try:
        at = times[value] = parse_time(value, utc_offset_hours)
    except ValueError:
        return _DECLINE
    return at


def _fast_report(
    item: dict[str, object],
    utc_offset_hours: float,
    clean: bool,
    times: dict[str, datetime | None],
) -> DeliveryReportIn | None:
    """The report of an item of the common shape, None to leave it to `parse_report_item`."""
    # Each field under either published spelling, camelCase first (as upstream's `_field`).
    get = item.get
    biz = get("bizId")
    if biz is None:
        biz = get("biz_id")
    phone = get("phoneNumber")
    if phone is None:
        phone = get("phone_number")
    code = get("code")
    message = get("message")
    if type(biz) is not str or type(phone) is not str:
        return None
    biz, phone = biz.strip(), phone.strip()
    if type(code) is str:
        code = code.strip()
    elif type(code) is int:
        code = str(code)
    else:
        return None
    if message is None:
        message = ""
    elif type(message) is str:
        message = message.strip()
    else:
        return None
    if not (biz and phone and code):
        return None
    if not clean and not (
        _storable(biz) and _storable(phone) and _storable(code) and _storable(message)
    ):
        return None
    success = get("success")
    if success is None:
        success = code == SUCCESS_CODE
    elif type(success) is not bool:
        return None
    size = get("smsSize")
    if size is None:
        size = get("sms_size")
    sms_size = 0
    if type(size) is str:
        known = _SIZES.get(size)
        if known is not None:
            sms_size = known
        elif size.isdigit() and size.isascii() and len(size) <= _MAX_FAST_DIGITS:
            sms_size = int(size)
        elif size:
            return None
    elif type(size) is int:
        if not 0 <= size <= INT64_MAX:
            return None
        sms_size = size
    elif size is not None:
        return None
    sent = _time_field(get, "sendTime", "send_time", utc_offset_hours, times)
    reported = _time_field(get, "reportTime", "report_time", utc_offset_hours, times)
    if sent is _DECLINE or reported is _DECLINE:
        return None
    return DeliveryReportIn(
        biz,
        phone,
        code,
        success,
        message,
        sms_size,
        sent,  # type: ignore[arg-type]  # not _DECLINE: a datetime or None
        reported,  # type: ignore[arg-type]
    )
