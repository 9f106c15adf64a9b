"""The one path every delivery report and uplink takes into the store.

Pushes (webhooks.py) and pulls (poller.py) both end here: items are normalised
(phone numbers to their 11-digit form, so that the same report pushed as
``+8613900000001`` and pulled as ``13900000001`` is one event), opt-outs are
detected, the batch is appended in one durable transaction, and only then are
subscribers woken through `on_stored`.

A push body is all or nothing: if any item cannot be read, no item of it is
stored; the raw body is kept as a dead letter and the caller answers with an
error so that the provider retries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from smsgateway.events.lenient_json import LenientJSONError, loads_lenient
from smsgateway.events.model import (
    AppendResult,
    DeliveryReportIn,
    Source,
    StoredEvent,
    Stream,
    UplinkIn,
)
from smsgateway.events.optout import OptOutRules
from smsgateway.events.ports import DeadLetters, EventLog
from smsgateway.messaging.phones import normalize_phone_number
from smsgateway.observability import metrics
from smsgateway.observability.tracing import current_traceparent, ingest_span
from smsgateway.upstream.models import parse_report_item, parse_uplink_item

_log = logging.getLogger(__name__)

_Item = TypeVar("_Item", DeliveryReportIn, UplinkIn)

OnStored = Callable[[Stream, Sequence[StoredEvent]], None]


class StoreUnavailableError(Exception):
    """The store could not commit (or dead-letter) a batch; the provider must retry."""


class Rejection(enum.StrEnum):
    """Why a push body was not accepted."""

    UNPARSEABLE = "unparseable"
    """Not JSON even after repair, not an array of objects, or an item without a
    required field."""
    TOO_MANY_ITEMS = "too_many_items"


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What became of one push body."""

    stream: Stream
    items: int
    """Items in the body (0 when it could not be read as an array)."""
    result: AppendResult | None
    """The append, when the body was accepted (None when rejected or empty)."""
    rejection: Rejection | None = None
    error: str = ""
    """Why it was rejected; names fields and offsets, never values."""
    lenient: bool = False
    """True when only the lenient parser could read it."""

    @property
    def accepted(self) -> bool:
        """The body is durably stored (or held nothing): answer success."""
        return self.rejection is None


@dataclass(slots=True)
class IngestCounters:
    """Running totals for metrics (read by the composition root)."""

    stored: dict[Stream, int] = dataclasses.field(
        default_factory=lambda: {stream: 0 for stream in Stream}
    )
    duplicates: dict[Stream, int] = dataclasses.field(
        default_factory=lambda: {stream: 0 for stream in Stream}
    )
    dead_letters: dict[Stream, int] = dataclasses.field(
        default_factory=lambda: {stream: 0 for stream in Stream}
    )
    lenient_bodies: int = 0
    opt_outs: int = 0


def _normalise_phone(text: str) -> str:
    # Plain mainland mobiles become 11 digits; anything else stays as the
    # provider sent it (we never drop a report over its number's format).
    return normalize_phone_number(text) or text


class Ingestor:
    """Normalises, de-duplicates (via the store), stores and announces events."""

    def __init__(
        self,
        store: EventLog,
        dead_letters: DeadLetters,
        *,
        on_stored: OnStored,
        opt_out: OptOutRules,
        utc_offset_hours: float = 8.0,
    ) -> None:
        """`utc_offset_hours` is the provider's zone for its zone-less times."""
        self._store = store
        self._dead_letters = dead_letters
        self._on_stored = on_stored
        self._opt_out = opt_out
        self._utc_offset_hours = utc_offset_hours
        self.counters = IngestCounters()

    # -- typed items (pulls, and parsed pushes) --------------------------------
    async def ingest_reports(
        self, items: Sequence[DeliveryReportIn], source: Source
    ) -> AppendResult:
        """Store reports durably; raises StoreUnavailableError when the store fails."""
        reports = [self._normalise_report(r) for r in items]
        started = time.perf_counter()
        try:
            with ingest_span(Stream.REPORTS.value, source.value, len(reports)):
                result = await self._store.append_reports(reports, source, current_traceparent())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise StoreUnavailableError(f"storing {len(reports)} reports failed: {exc}") from exc
        metrics.INGEST_LATENCY.labels(Stream.REPORTS.value).observe(time.perf_counter() - started)
        self._announce(Stream.REPORTS, source, result)
        return result

    async def ingest_uplinks(self, items: Sequence[UplinkIn], source: Source) -> AppendResult:
        """Store uplinks durably, with the suppressions their opt-outs ask for."""
        uplinks = [self._normalise_uplink(u) for u in items]
        opt_out_keys = frozenset(
            u.dedup_key() for u in uplinks if self._opt_out.is_opt_out(u.content)
        )
        started = time.perf_counter()
        try:
            with ingest_span(Stream.UPLINKS.value, source.value, len(uplinks)):
                result = await self._store.append_uplinks(
                    uplinks, source, opt_out_keys, current_traceparent()
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise StoreUnavailableError(f"storing {len(uplinks)} uplinks failed: {exc}") from exc
        metrics.INGEST_LATENCY.labels(Stream.UPLINKS.value).observe(time.perf_counter() - started)
        self.counters.opt_outs += sum(1 for e in result.stored if getattr(e, "opt_out", False))
        self._announce(Stream.UPLINKS, source, result)
        return result

    def _normalise_report(self, report: DeliveryReportIn) -> DeliveryReportIn:
        phone = _normalise_phone(report.phone_number)
        if phone == report.phone_number:
            return report
        return dataclasses.replace(report, phone_number=phone)

    def _normalise_uplink(self, uplink: UplinkIn) -> UplinkIn:
        phone = _normalise_phone(uplink.phone_number)
        if phone == uplink.phone_number:
            return uplink
        return dataclasses.replace(uplink, phone_number=phone)

    def _announce(self, stream: Stream, source: Source, result: AppendResult) -> None:
        self.counters.stored[stream] += len(result.stored)
        if result.duplicates:
            self.counters.duplicates[stream] += result.duplicates
            metrics.DUPLICATES.labels(stream.value, source.value).inc(result.duplicates)
        if not result.stored:
            return
        try:
            self._on_stored(stream, result.stored)
        except Exception:
            # The events are committed; a subscriber-side failure must not turn
            # into an error answer (the provider would push them again).
            _log.exception("waking %s subscribers failed", stream)

    # -- raw push bodies -------------------------------------------------------
    async def ingest_body(
        self, stream: Stream, body: bytes, source: Source, *, max_items: int = 10_000
    ) -> IngestOutcome:
        """Parse a push body (strictly, then leniently) and store it, all or nothing.

        A rejected body is kept as a dead letter; raises StoreUnavailableError
        when neither the items nor the dead letter could be stored.
        """
        if len(body) < _PARSE_INLINE_BYTES:
            parsed = _parse_body(stream, body, max_items, self._utc_offset_hours)
        else:
            # Parsing 1,000 items takes tens of ms of CPU: off the event loop, so
            # that gRPC calls keep flowing meanwhile (the GIL is released every
            # switch interval).
            parsed = await asyncio.get_running_loop().run_in_executor(
                None, _parse_body, stream, body, max_items, self._utc_offset_hours
            )
        if isinstance(parsed, _Rejected):
            return await self._reject(stream, body, parsed.rejection, parsed.error, parsed.items)
        items, lenient = parsed
        if lenient:
            self.counters.lenient_bodies += 1
        if not items:
            return IngestOutcome(stream, 0, None, lenient=lenient)
        if stream is Stream.REPORTS:
            result = await self.ingest_reports(cast(list[DeliveryReportIn], items), source)
        else:
            result = await self.ingest_uplinks(cast(list[UplinkIn], items), source)
        return IngestOutcome(stream, len(items), result, lenient=lenient)

    async def _reject(
        self, stream: Stream, body: bytes, rejection: Rejection, error: str, items: int
    ) -> IngestOutcome:
        try:
            await self._dead_letters.add_dead_letter(stream, body, f"{rejection}: {error}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise StoreUnavailableError(f"keeping a dead letter failed: {exc}") from exc
        self.counters.dead_letters[stream] += 1
        metrics.DEAD_LETTERS.labels(stream.value).inc()
        _log.warning(
            "%s push rejected and kept as a dead letter (%d bytes): %s: %s",
            stream,
            len(body),
            rejection,
            error,
        )
        return IngestOutcome(stream, items, None, rejection, error)


_PARSE_INLINE_BYTES = 16 * 1024
"""Bodies below this size (a few dozen items) are parsed on the event loop."""


@dataclass(frozen=True, slots=True)
class _Rejected:
    rejection: Rejection
    error: str
    items: int


def _parse_body(
    stream: Stream, body: bytes, max_items: int, utc_offset_hours: float
) -> tuple[list[DeliveryReportIn] | list[UplinkIn], bool] | _Rejected:
    """The items of a push body and whether it needed the lenient parser."""
    lenient = False
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return _Rejected(Rejection.UNPARSEABLE, f"not UTF-8 (offset {exc.start})", 0)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        try:
            doc = loads_lenient(text)
        except LenientJSONError as exc:
            return _Rejected(Rejection.UNPARSEABLE, str(exc), 0)
        lenient = True
    if not isinstance(doc, list):
        return _Rejected(Rejection.UNPARSEABLE, f"a JSON {_json_type(doc)}, not an array", 0)
    if len(doc) > max_items:
        return _Rejected(
            Rejection.TOO_MANY_ITEMS,
            f"{len(doc)} items, more than the limit of {max_items}",
            len(doc),
        )
    try:
        if stream is Stream.REPORTS:
            reports = [
                _parse_item(parse_report_item, i, item, utc_offset_hours)
                for i, item in enumerate(doc)
            ]
            return reports, lenient
        uplinks = [
            _parse_item(parse_uplink_item, i, item, utc_offset_hours) for i, item in enumerate(doc)
        ]
        return uplinks, lenient
    except ValueError as exc:
        return _Rejected(Rejection.UNPARSEABLE, str(exc), len(doc))


def _parse_item(
    parse: Callable[[dict[str, object], float], _Item], index: int, item: object, offset: float
) -> _Item:
    if not isinstance(item, dict):
        raise ValueError(f"item {index} is a JSON {_json_type(item)}, not an object")
    try:
        return parse(item, offset)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"item {index}: {exc}") from None


def _json_type(doc: object) -> str:
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
