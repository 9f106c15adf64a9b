"""`EventLog` on Redis Streams: one stream per event stream, cursor == entry ID.

An append is one Lua script: it filters duplicates (the `dedup` set), hands out
consecutive cursors from the stream's `seq` counter (`XADD <cursor>-0`), copies
the sign of the send from the send log into each report, indexes reports by
bizId, and writes the suppressions of newly stored opt-outs, all atomically;
it returns only once Redis has replied (and, when configured, once `WAIT`
counted the replicas), so an acknowledged push is in Redis. Cursors are
therefore increasing, gapless, never reused (`seq` survives pruning) and the
same across replicas. A client retry of an append whose reply was lost finds
its events stored and reports them as duplicates (nothing is stored twice).

`prune` drops a prefix of each stream by age and by count, with the events'
de-duplication members, bizId index entries and late signs, every group's
leases of them, and the sends and dead letters older than the age cutoff.

Costs: an append is one round trip, O(events · log n). `read` is XRANGE in
chunks, filtered here on raw fields, so a selective filter costs O(entries
scanned). `cursor_before_time` is a binary search over entry IDs in one script,
O(log² n). `prune` cuts a prefix in chunks of `PRUNE_CHUNK` cursors, one script
each, so appends interleave with a long prune.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from smsgateway.backends.redis.connection import Client, ReplicaWait
from smsgateway.backends.redis.dead_letters import prune_dead_letters
from smsgateway.backends.redis.entries import (
    compile_filter,
    decode,
    effective_sign,
    read_range,
    report_payload,
    uplink_payload,
)
from smsgateway.backends.redis.event_layout import (
    EventKeys,
    dec,
    digest,
    enc,
    num,
    opt_out_reason,
    supp_member,
    supp_record,
    utc,
)
from smsgateway.backends.redis.event_scripts import (
    APPEND_REPORTS,
    APPEND_UPLINKS,
    BEFORE_TIME,
    BOUNDS,
    PRUNE_CHUNK_SCRIPT,
)
from smsgateway.backends.redis.groups import drop_leases_through
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.backends.redis.send_log import prune_sends
from smsgateway.events.model import (
    AppendResult,
    DeliveryReportIn,
    EventFilter,
    IsoTimes,
    Retention,
    Source,
    StoredEvent,
    StoredReport,
    StoredUplink,
    Stream,
    UplinkIn,
    report_dedup_keys,
)

__all__ = ["PRUNE_CHUNK", "RedisEventLog"]

_log = logging.getLogger(__name__)

PRUNE_CHUNK: Final = 5_000
"""Cursors dropped per script call."""

_READ_CHUNK_MAX: Final = 2_000
"""Entries fetched per XRANGE while reading."""


def _int(value: Any) -> int:
    return int(value) if not isinstance(value, bytes) else int(value.decode())


class RedisEventLog:
    """`EventLog` on Redis Streams (it also writes opt-out suppressions atomically)."""

    def __init__(
        self,
        client: Client,
        keys: RedisKeys,
        clock: Callable[[], float] = time.time,
        *,
        origin: str | None = None,
        wait: ReplicaWait | None = None,
    ) -> None:
        """`clock` gives wall-clock seconds (receive times, retention); `origin` names
        this replica in the entries it writes (give `RedisEventFeed` the same, so it
        skips them; random when None); `wait`, when set, makes every append wait
        for replica acknowledgment (`WAIT`) before returning."""
        self._client = client
        self._keys = EventKeys(keys)
        self._clock = clock
        self._wait = wait
        self.origin = origin or uuid.uuid4().hex[:12]
        """This replica's mark on its entries."""

    # -- append -------------------------------------------------------------------
    async def append_reports(
        self, reports: Sequence[DeliveryReportIn], source: Source, traceparent: str = ""
    ) -> AppendResult:
        if not reports:
            return AppendResult(stored=(), duplicates=0)
        now = self._clock()
        iso = IsoTimes()
        unique: dict[bytes, DeliveryReportIn] = {}
        for key, report in zip(report_dedup_keys(reports, iso), reports, strict=True):
            unique.setdefault(digest(key), report)
        k = self._keys
        biz_keys: dict[str, tuple[bytes, int]] = {}
        codes: dict[str, bytes] = {}
        args: list[Any] = [num(now), self.origin]
        # The reports of one push mostly share their payload (status, message, times):
        # encode each distinct one once. Times are keyed by identity: the reports hold
        # them, so no identity is reused during the append.
        payloads: dict[tuple[Any, ...], bytes] = {}
        for dg, report in unique.items():
            biz = biz_keys.get(report.biz_id)
            if biz is None:
                biz = biz_keys[report.biz_id] = (enc(report.biz_id), len(biz_keys) + 1)
            code = codes.get(report.provider_code)
            if code is None:
                code = codes[report.provider_code] = enc(report.provider_code)
            shape = (
                report.success,
                report.message,
                report.sms_size,
                id(report.send_time),
                id(report.report_time),
            )
            payload = payloads.get(shape)
            if payload is None:
                payload = payloads[shape] = report_payload(report, source, traceparent, iso)
            args += (dg, biz[0], enc(report.phone_number), code, payload, biz[1])
        keys: list[Any] = [
            k.meta(Stream.REPORTS),
            k.log(Stream.REPORTS),
            k.dedup(Stream.REPORTS),
            k.sends(),
            k.unsigned(),
            *(k.biz(biz) for biz in biz_keys),
        ]
        reply = await APPEND_REPORTS.run(self._client, keys, args, wait=self._wait)
        received = utc(now)
        signs: dict[bytes, str] = {}
        stored: list[StoredEvent] = []
        pairs = iter(reply)
        for report, cursor, raw_sign in zip(unique.values(), pairs, pairs, strict=True):
            if cursor := _int(cursor):
                sign = signs.get(raw_sign)
                if sign is None:
                    sign = signs[raw_sign] = dec(raw_sign)
                stored.append(StoredReport(cursor, report, received, source, sign, traceparent))
        return AppendResult(stored=stored, duplicates=len(reports) - len(stored))

    async def append_uplinks(
        self,
        uplinks: Sequence[UplinkIn],
        source: Source,
        opt_out_keys: frozenset[str] = frozenset(),
        traceparent: str = "",
    ) -> AppendResult:
        if not uplinks:
            return AppendResult(stored=(), duplicates=0)
        now = self._clock()
        unique: dict[bytes, tuple[UplinkIn, bool]] = {}
        for uplink in uplinks:
            key = uplink.dedup_key()
            unique.setdefault(digest(key), (uplink, key in opt_out_keys))
        args: list[Any] = [num(now), self.origin]
        iso = IsoTimes()
        for dg, (uplink, opt_out) in unique.items():
            member = supp_member(uplink.sign, uplink.phone_number) if opt_out else b""
            record = supp_record(opt_out_reason(uplink.content), now) if opt_out else b""
            args += [
                dg,
                enc(uplink.phone_number),
                enc(uplink.sign),
                uplink_payload(uplink, source, opt_out, traceparent, iso),
                member,
                record,
            ]
        k = self._keys
        keys = [
            k.meta(Stream.UPLINKS),
            k.log(Stream.UPLINKS),
            k.dedup(Stream.UPLINKS),
            k.suppressions(),
            k.suppression_records(),
        ]
        reply = await APPEND_UPLINKS.run(self._client, keys, args, wait=self._wait)
        received = utc(now)
        stored: list[StoredEvent] = [
            StoredUplink(_int(cursor), uplink, received, source, opt_out, traceparent)
            for cursor, (uplink, opt_out) in zip(reply, unique.values(), strict=True)
            if _int(cursor)
        ]
        return AppendResult(stored=stored, duplicates=len(uplinks) - len(stored))

    # -- read ---------------------------------------------------------------------
    async def read(
        self, stream: Stream, after: int, limit: int, event_filter: EventFilter | None = None
    ) -> list[StoredEvent]:
        if limit <= 0:
            return []
        compiled = compile_filter(stream, event_filter)
        out: list[StoredEvent] = []
        start = max(int(after), 0)
        while len(out) < limit:
            wanted = limit - len(out)
            count = min(wanted if compiled is None else max(wanted, 256), _READ_CHUNK_MAX)
            _, entries, lates = await read_range(self._client, self._keys, stream, start, count)
            for cursor, fields in entries:
                if compiled is None or compiled.matches(cursor, fields, lates):
                    out.append(
                        decode(stream, cursor, fields, effective_sign(fields, cursor, lates))
                    )
                    if len(out) == limit:
                        break
            if len(entries) < count:
                break
            start = entries[-1][0]
        return out

    async def last_cursor(self, stream: Stream) -> int:
        return (await self._bounds(stream))[0]

    async def oldest_cursor(self, stream: Stream) -> int:
        last, oldest = await self._bounds(stream)
        return oldest if oldest is not None else last + 1

    async def _bounds(self, stream: Stream) -> tuple[int, int | None]:
        keys = [self._keys.meta(stream), self._keys.log(stream)]
        seq, oldest = await BOUNDS.run(self._client, keys, [])
        return _int(seq), (_int(oldest) if oldest else None)

    async def cursor_before_time(self, stream: Stream, at: datetime) -> int:
        if at.tzinfo is None:
            raise ValueError("cursor_before_time needs an aware datetime")
        return await self._before(stream, at.timestamp())

    async def _before(self, stream: Stream, ts: float) -> int:
        keys = [self._keys.meta(stream), self._keys.log(stream)]
        return _int(await BEFORE_TIME.run(self._client, keys, [num(ts)]))

    # -- retention ----------------------------------------------------------------
    async def prune(self, retention: Retention) -> int:
        cutoff = self._clock() - retention.max_age_seconds
        k = self._keys
        total = 0
        for stream in Stream:
            last, oldest = await self._bounds(stream)
            # Everything before the first event received at or after the cutoff.
            through = max(await self._before(stream, cutoff), last - max(retention.max_events, 0))
            low = oldest if oldest is not None else last + 1
            while low <= through:
                upto = min(through, low + PRUNE_CHUNK - 1)
                keys = [k.log(stream), k.dedup(stream), k.unsigned(), k.late()]
                total += _int(
                    await PRUNE_CHUNK_SCRIPT.run(self._client, keys, [upto, k.biz_prefix()])
                )
                low = upto + 1
            if oldest is not None and oldest <= through:
                # Leases of dropped events can never be delivered again.
                await drop_leases_through(self._client, k, stream, through)
        await prune_sends(self._client, k, cutoff)
        await prune_dead_letters(self._client, k, cutoff)
        if total:
            _log.info("pruned %d events beyond retention", total)
        return total
