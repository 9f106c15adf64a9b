"""The one path every delivery report and uplink takes into the store.

Pushes (webhooks.py) and pulls (poller.py) both end here: items are normalised
(phone numbers to their 11-digit form, so that the same report pushed as
``+8613900000001`` and pulled as ``13900000001`` is one event), opt-outs are
detected, the good items are appended in one durable step, and only then are
subscribers woken through `on_stored`.

Items are judged one by one (`push_body`): the good ones of a push are stored,
each bad one is kept as a dead letter with its reason (its own JSON, not the
whole body again), and the push is accepted. Only a body that cannot be read
as an array at all is refused (kept once as a dead letter). The single error
that makes the caller answer "retry" is `StoreUnavailableError` (from
`smsgateway.store_errors`): the store could not commit, nothing is half-stored
beyond what de-duplication absorbs on the retry.

Should the store refuse a batch for any other reason (an item the validation
let through), the batch is split in halves until the refused items are
isolated; those are dead-lettered and the rest is stored, so that one item can
never block a batch.

CPU: bodies up to 16 KiB are parsed on the event loop (well under a
millisecond); larger ones, and every lenient repair, run on one dedicated
worker thread, so that parsing never stalls gRPC calls and at most one body is
being parsed at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar, cast

from smsgateway.events.model import (
    AppendResult,
    DeliveryReportIn,
    Source,
    StoredEvent,
    StoredUplink,
    Stream,
    UplinkIn,
)
from smsgateway.events.optout import OptOutRules
from smsgateway.events.ports import DeadLetters, EventLog
from smsgateway.events.push_body import (
    BadItem,
    NeedsRepair,
    ParsedBody,
    ParseLimits,
    RejectedBody,
    Rejection,
    parse_lenient,
    parse_strict,
    too_large_to_repair,
)
from smsgateway.messaging.phones import normalize_phone_number
from smsgateway.observability import metrics
from smsgateway.observability.tracing import current_traceparent, ingest_span
from smsgateway.store_errors import StoreUnavailableError

__all__ = [
    "IngestCounters",
    "IngestOutcome",
    "Ingestor",
    "OnStored",
    "ParseLimits",
    "Rejection",
    "StoreUnavailableError",
]

_log = logging.getLogger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")

OnStored = Callable[[Stream, Sequence[StoredEvent]], None]

_Event = DeliveryReportIn | UplinkIn

PARSE_INLINE_BYTES = 16 * 1024
"""Strict bodies up to this size (a few dozen items) are parsed on the event loop."""

MAX_ITEM_DEAD_LETTERS = 32
"""Bad items of one push kept as a dead letter each; the rest share one more."""


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What became of one push body."""

    stream: Stream
    items: int
    """Items in the body (0 when it could not be read as an array)."""
    result: AppendResult | None
    """The append of the good items (None when there were none or the body was refused)."""
    rejection: Rejection | None = None
    """Why the body was refused as a whole (None when accepted)."""
    error: str = ""
    """Why it was refused; names fields and offsets, never values."""
    lenient: bool = False
    """True when only the lenient parser could read it."""
    bad_items: int = 0
    """Items kept as dead letters instead of being stored."""

    @property
    def accepted(self) -> bool:
        """Every item is durably stored or kept as a dead letter: answer success."""
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
    """Dead letters written: refused bodies, single bad items and grouped bad items."""
    bad_items: dict[Stream, int] = dataclasses.field(
        default_factory=lambda: {stream: 0 for stream in Stream}
    )
    """Items kept as dead letters instead of being stored."""
    lenient_bodies: int = 0
    opt_outs: int = 0


def _normalise_phone(text: str) -> str:
    # Plain mainland mobiles become 11 digits; anything else stays as the
    # provider sent it (we never drop a report over its number's format).
    return normalize_phone_number(text) or text


def _normalised_reports(items: Sequence[DeliveryReportIn]) -> list[DeliveryReportIn]:
    """`items` with their phone numbers normalised (as `_normalise_phone` does), in a new
    list; an item whose number is already normal is kept as it is (no copy)."""
    out = list(items)
    normalise = normalize_phone_number
    for index, report in enumerate(out):
        phone = report.phone_number
        normal = normalise(phone)
        if normal and normal != phone:
            out[index] = dataclasses.replace(report, phone_number=normal)
    return out


def _storable_text(text: str) -> str:
    # Error texts go into the store: never let a lone surrogate through.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
        parse_limits: ParseLimits | None = None,
        max_item_dead_letters: int = MAX_ITEM_DEAD_LETTERS,
    ) -> None:
        """`utc_offset_hours` is the provider's zone for its zone-less times;
        `parse_limits` bound what one body may cost (`ParseLimits()` when None)."""
        self._store = store
        self._dead_letters = dead_letters
        self._on_stored = on_stored
        self._opt_out = opt_out
        self._utc_offset_hours = utc_offset_hours
        self._limits = parse_limits or ParseLimits()
        self._max_item_dead_letters = max(0, max_item_dead_letters)
        self._executor: ThreadPoolExecutor | None = None
        self.counters = IngestCounters()

    @property
    def parse_limits(self) -> ParseLimits:
        """The bounds applied to push bodies."""
        return self._limits

    def close(self) -> None:
        """Stop the parse thread (idempotent); parses already running finish."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # -- typed items (pulls, and parsed pushes) --------------------------------
    async def ingest_reports(
        self, items: Sequence[DeliveryReportIn], source: Source
    ) -> AppendResult:
        """Store reports durably; raises StoreUnavailableError when the store fails."""
        return await self._append(Stream.REPORTS, _normalised_reports(items), source, frozenset())

    async def ingest_uplinks(self, items: Sequence[UplinkIn], source: Source) -> AppendResult:
        """Store uplinks durably, with the suppressions their opt-outs ask for."""
        uplinks = [self._normalise_uplink(u) for u in items]
        opt_out_keys = frozenset(
            u.dedup_key() for u in uplinks if self._opt_out.is_opt_out(u.content)
        )
        return await self._append(Stream.UPLINKS, uplinks, source, opt_out_keys)

    def _normalise_uplink(self, uplink: UplinkIn) -> UplinkIn:
        phone = _normalise_phone(uplink.phone_number)
        if phone == uplink.phone_number:
            return uplink
        return dataclasses.replace(uplink, phone_number=phone)

    async def _append(
        self,
        stream: Stream,
        items: Sequence[_Event],
        source: Source,
        opt_out_keys: frozenset[str],
    ) -> AppendResult:
        """Append `items`; isolate and dead-letter items the store refuses (not when it is down)."""
        if not items:
            return AppendResult((), 0)
        try:
            return await self._append_once(stream, items, source, opt_out_keys)
        except (StoreUnavailableError, asyncio.CancelledError):
            raise
        except Exception as exc:
            if len(items) == 1:
                await self._keep_unstorable(stream, items[0], exc)
                return AppendResult((), 0)
            _log.error(
                "the store refused a batch of %d %s (%s); splitting it to isolate the items",
                len(items),
                stream,
                type(exc).__name__,
            )
        middle = len(items) // 2
        first = await self._append(stream, items[:middle], source, opt_out_keys)
        second = await self._append(stream, items[middle:], source, opt_out_keys)
        return AppendResult([*first.stored, *second.stored], first.duplicates + second.duplicates)

    async def _append_once(
        self,
        stream: Stream,
        items: Sequence[_Event],
        source: Source,
        opt_out_keys: frozenset[str],
    ) -> AppendResult:
        started = time.perf_counter()
        with ingest_span(stream.value, source.value, len(items)):
            # `items` hold only the stream's type (ingest_reports / ingest_uplinks).
            if stream is Stream.REPORTS:
                reports = cast(Sequence[DeliveryReportIn], items)
                result = await self._store.append_reports(reports, source, current_traceparent())
            else:
                uplinks = cast(Sequence[UplinkIn], items)
                result = await self._store.append_uplinks(
                    uplinks, source, opt_out_keys, current_traceparent()
                )
        metrics.INGEST_LATENCY.labels(stream.value).observe(time.perf_counter() - started)
        if stream is Stream.UPLINKS:
            self.counters.opt_outs += sum(
                1 for e in result.stored if isinstance(e, StoredUplink) and e.opt_out
            )
        self._announce(stream, source, result)
        return result

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

    async def _keep_unstorable(self, stream: Stream, item: _Event, exc: Exception) -> None:
        raw = json.dumps(dataclasses.asdict(item), ensure_ascii=False, default=str)
        error = f"the store refused the item ({type(exc).__name__})"
        _log.error("a %s item the store refused is kept as a dead letter: %s", stream, error)
        await self._add_dead_letters(stream, [(raw.encode("utf-8", "backslashreplace"), error)])
        self.counters.bad_items[stream] += 1

    # -- raw push bodies -------------------------------------------------------
    async def ingest_body(
        self, stream: Stream, body: bytes, source: Source, *, max_items: int | None = None
    ) -> IngestOutcome:
        """Parse a push body (strictly, then leniently) and store its good items.

        Bad items are kept as dead letters and do not stop the others; a body
        refused as a whole is kept as one dead letter. Raises
        StoreUnavailableError when the good items or the dead letters could not
        be stored (the push may be retried as a whole: duplicates are dropped).
        """
        limits = self._limits
        if max_items is not None and max_items != limits.max_items:
            limits = dataclasses.replace(limits, max_items=max_items)
        parsed = await self._parse(stream, body, limits)
        if isinstance(parsed, RejectedBody):
            return await self._reject(stream, body, parsed)
        if parsed.lenient:
            self.counters.lenient_bodies += 1
        result: AppendResult | None = None
        if parsed.items:
            # parse_strict / parse_lenient return the stream's own item type.
            if stream is Stream.REPORTS:
                result = await self.ingest_reports(
                    cast(list[DeliveryReportIn], parsed.items), source
                )
            else:
                result = await self.ingest_uplinks(cast(list[UplinkIn], parsed.items), source)
        if parsed.bad:
            await self._keep_bad_items(stream, parsed)
        return IngestOutcome(
            stream, parsed.total, result, lenient=parsed.lenient, bad_items=len(parsed.bad)
        )

    async def _parse(
        self, stream: Stream, body: bytes, limits: ParseLimits
    ) -> ParsedBody | RejectedBody:
        offset = self._utc_offset_hours
        strict: ParsedBody | RejectedBody | NeedsRepair
        if len(body) <= PARSE_INLINE_BYTES:
            strict = parse_strict(stream, body, limits, offset)
        else:
            strict = await self._in_worker(parse_strict, stream, body, limits, offset)
        if not isinstance(strict, NeedsRepair):
            return strict
        if len(body) > limits.lenient_max_bytes:
            return too_large_to_repair(len(body), strict, limits)
        # The repair is a Python loop: always in the worker, whatever the size.
        return await self._in_worker(parse_lenient, stream, strict, limits, offset)

    async def _in_worker(self, fn: Callable[_P, _R], *args: _P.args, **_: _P.kwargs) -> _R:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="push-parse")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _keep_bad_items(self, stream: Stream, parsed: ParsedBody) -> None:
        bad = parsed.bad
        alone, grouped = bad[: self._max_item_dead_letters], bad[self._max_item_dead_letters :]
        letters = [(b.raw, b.error) for b in alone]
        if grouped:
            letters.append(_group_letter(grouped))
        await self._add_dead_letters(stream, letters)
        self.counters.bad_items[stream] += len(bad)
        _log.warning(
            "%s push: %d of %d items kept as dead letters (%d letters), the rest stored; first: %s",
            stream,
            len(bad),
            parsed.total,
            len(letters),
            bad[0].error,
        )

    async def _add_dead_letters(self, stream: Stream, letters: list[tuple[bytes, str]]) -> None:
        """Write the letters concurrently (a group-committing store folds them into one
        transaction); raise StoreUnavailableError when any could not be written."""
        outcomes = await asyncio.gather(
            *(
                self._dead_letters.add_dead_letter(stream, raw, _storable_text(error))
                for raw, error in letters
            ),
            return_exceptions=True,
        )
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        written = len(outcomes) - len(failures)
        self.counters.dead_letters[stream] += written
        if written:
            metrics.DEAD_LETTERS.labels(stream.value).inc(written)
        for failure in failures:
            if isinstance(failure, asyncio.CancelledError):
                raise failure
        if failures:
            first = failures[0]
            if isinstance(first, StoreUnavailableError):
                raise first
            raise StoreUnavailableError(f"keeping a dead letter failed: {first}") from first

    async def _reject(self, stream: Stream, body: bytes, rejected: RejectedBody) -> IngestOutcome:
        await self._add_dead_letters(stream, [(body, f"{rejected.rejection}: {rejected.error}")])
        _log.warning(
            "%s push refused and kept as a dead letter (%d bytes): %s: %s",
            stream,
            len(body),
            rejected.rejection,
            rejected.error,
        )
        return IngestOutcome(
            stream, rejected.items, None, rejected.rejection, rejected.error, bad_items=0
        )


def _group_letter(grouped: list[BadItem]) -> tuple[bytes, str]:
    """One dead letter for the bad items beyond the per-push limit: a JSON array of them."""
    body = b"[" + b",".join(b.raw for b in grouped) + b"]"
    error = (
        f"items {grouped[0].index} to {grouped[-1].index}: {len(grouped)} more bad items, "
        f"kept together as an array; the first: {grouped[0].error}"
    )
    return body, error
