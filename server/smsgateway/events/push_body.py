"""One push body, read item by item: pure functions, no I/O, safe in any thread.

A body is either refused as a whole (`RejectedBody`: not UTF-8, not JSON even
after repair, nested too deep, not an array, too many items) or read into its
good items and its bad ones (`ParsedBody`). A bad item (a missing field, a
wrong type, an integer outside 0..2^63-1, a lone surrogate, anything the item
parsers in `smsgateway.upstream.models` refuse) never spoils the others: it is
returned with its reason and its own JSON, to be kept as a dead letter.

Every error text names items, fields and offsets, never a value.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from smsgateway.events.lenient_json import (
    DEFAULT_MAX_DEPTH,
    LenientJSONError,
    TooDeepError,
    loads_lenient,
    loads_strict,
)
from smsgateway.events.model import DeliveryReportIn, Stream, UplinkIn
from smsgateway.events.report_items import body_is_clean, read_reports
from smsgateway.upstream.models import parse_uplink_item

_log = logging.getLogger(__name__)

_Item = TypeVar("_Item", DeliveryReportIn, UplinkIn)

Items = list[DeliveryReportIn] | list[UplinkIn]


class Rejection(enum.StrEnum):
    """Why a push body was refused as a whole."""

    UNPARSEABLE = "unparseable"
    """Not UTF-8, not JSON even after repair, or not an array."""
    TOO_DEEP = "too_deep"
    """Arrays/objects nested deeper than `ParseLimits.max_depth`."""
    TOO_LARGE_TO_REPAIR = "too_large_to_repair"
    """Not strict JSON, and larger than `ParseLimits.lenient_max_bytes`."""
    TOO_MANY_ITEMS = "too_many_items"
    """More items than `ParseLimits.max_items`."""


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Bounds on the work one body may cost."""

    max_items: int = 10_000
    """Most items in one push (the provider documents no limit, only "many")."""
    max_depth: int = DEFAULT_MAX_DEPTH
    """Deepest nesting of arrays/objects accepted (a push needs 2)."""
    lenient_max_bytes: int = 1024 * 1024
    """Largest body the lenient parser repairs (about 1 µs of CPU per token);
    a larger body that is not strict JSON is refused with TOO_LARGE_TO_REPAIR."""

    def __post_init__(self) -> None:
        if self.max_items <= 0 or self.max_depth < 2 or self.lenient_max_bytes < 0:
            raise ValueError("max_items must be > 0, max_depth ≥ 2, lenient_max_bytes ≥ 0")


@dataclass(frozen=True, slots=True)
class BadItem:
    """One item that could not be read, with why and what it was."""

    index: int
    """Its position in the body's array."""
    error: str
    """Why, e.g. "item 3: field 'smsSize' is out of range (0 to 2^63-1)"."""
    raw: bytes
    """The item as compact JSON (UTF-8; a lone surrogate kept as its \\u escape)."""


@dataclass(frozen=True, slots=True)
class ParsedBody:
    """A body read as an array: every item is in exactly one of `items` and `bad`."""

    items: Items
    """The good items, in body order."""
    bad: list[BadItem]
    """The bad items, in body order."""
    lenient: bool
    """True when only the lenient parser could read the body."""

    @property
    def total(self) -> int:
        """Items in the body."""
        return len(self.items) + len(self.bad)


@dataclass(frozen=True, slots=True)
class RejectedBody:
    """A body refused as a whole."""

    rejection: Rejection
    error: str
    """Why; names offsets and counts, never values."""
    items: int = 0
    """Items in the body, when it was an array."""


@dataclass(frozen=True, slots=True)
class NeedsRepair:
    """Not strict JSON: the lenient parser may still read it."""

    text: str
    strict_error: str
    """Where the strict parser stopped, e.g. "Expecting value (offset 12)"."""


def parse_strict(
    stream: Stream, body: bytes, limits: ParseLimits, utc_offset_hours: float
) -> ParsedBody | RejectedBody | NeedsRepair:
    """Read `body` as strict JSON (cost: one `json.loads` plus one pass over the items)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return RejectedBody(Rejection.UNPARSEABLE, f"not UTF-8 (offset {exc.start})")
    try:
        doc = loads_strict(text, limits.max_depth)
    except TooDeepError as exc:
        return RejectedBody(Rejection.TOO_DEEP, str(exc))
    except json.JSONDecodeError as exc:
        return NeedsRepair(text, f"{exc.msg} (offset {exc.pos})")
    return _read_items(
        stream, doc, limits, utc_offset_hours, lenient=False, clean=body_is_clean(body)
    )


def parse_lenient(
    stream: Stream, needs: NeedsRepair, limits: ParseLimits, utc_offset_hours: float
) -> ParsedBody | RejectedBody:
    """Repair and read a body the strict parser refused (Python-speed: run it off the loop).

    The caller enforces `limits.lenient_max_bytes` before calling (see `too_large_to_repair`).
    """
    _log.debug("push body is not strict JSON; repairing %d characters", len(needs.text))
    try:
        doc = loads_lenient(needs.text, limits.max_depth)
    except TooDeepError as exc:
        return RejectedBody(Rejection.TOO_DEEP, str(exc))
    except LenientJSONError as exc:
        return RejectedBody(Rejection.UNPARSEABLE, str(exc))
    return _read_items(stream, doc, limits, utc_offset_hours, lenient=True, clean=False)


def too_large_to_repair(body_bytes: int, needs: NeedsRepair, limits: ParseLimits) -> RejectedBody:
    """The refusal of a non-strict body above the lenient parser's size limit."""
    return RejectedBody(
        Rejection.TOO_LARGE_TO_REPAIR,
        f"not strict JSON ({needs.strict_error}) and, at {body_bytes} bytes, larger than "
        f"the {limits.lenient_max_bytes} bytes the lenient parser repairs",
    )


def _read_items(
    stream: Stream,
    doc: object,
    limits: ParseLimits,
    utc_offset_hours: float,
    *,
    lenient: bool,
    clean: bool,
) -> ParsedBody | RejectedBody:
    if not isinstance(doc, list):
        return RejectedBody(Rejection.UNPARSEABLE, f"a JSON {json_type(doc)}, not an array")
    if len(doc) > limits.max_items:
        return RejectedBody(
            Rejection.TOO_MANY_ITEMS,
            f"{len(doc)} items, more than the limit of {limits.max_items}",
            len(doc),
        )
    bad: list[BadItem] = []
    if stream is Stream.REPORTS:

        def on_bad(index: int, item: object, exc: Exception | None) -> None:
            bad.append(_bad_item(index, item, exc))

        reports = read_reports(doc, utc_offset_hours, clean, on_bad)
        return ParsedBody(reports, bad, lenient)
    uplinks = _good_items(_uplink, doc, utc_offset_hours, bad)
    return ParsedBody(uplinks, bad, lenient)


def _uplink(item: dict[str, object], offset: float) -> UplinkIn:
    return parse_uplink_item(item, offset)


def _good_items(
    parse: Callable[[dict[str, object], float], _Item],
    doc: list[object],
    offset: float,
    bad: list[BadItem],
) -> list[_Item]:
    good: list[_Item] = []
    for index, item in enumerate(doc):
        if not isinstance(item, dict):
            bad.append(_bad_item(index, item, None))
            continue
        try:
            good.append(parse(item, offset))
        except (ValueError, TypeError, OverflowError) as exc:
            bad.append(_bad_item(index, item, exc))
    return good


def _bad_item(index: int, item: object, exc: Exception | None) -> BadItem:
    """The bad item at `index`: not an object (`exc` None), or refused with `exc`."""
    if exc is None:
        return BadItem(
            index, f"item {index} is a JSON {json_type(item)}, not an object", item_json(item)
        )
    return BadItem(index, f"item {index}: {exc}", item_json(item))


def item_json(item: object) -> bytes:
    """`item` as compact JSON bytes, for a dead letter; never raises.

    Numbers read as `Decimal` (over-long integers) are written as strings, and
    lone surrogates as their JSON escape (backslashreplace writes exactly that).
    """
    try:
        text = json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=str)
    except (ValueError, TypeError, RecursionError):  # pragma: no cover - depth is bounded
        text = repr(item)
    return text.encode("utf-8", "backslashreplace")


def json_type(doc: object) -> str:
    """The JSON name of a parsed value's type ("object", "array", "number", ...)."""
    if isinstance(doc, dict):
        return "object"
    if isinstance(doc, list):
        return "array"
    if isinstance(doc, str):
        return "string"
    if isinstance(doc, bool):
        return "boolean"
    if doc is None:
        return "null"
    return "number"
