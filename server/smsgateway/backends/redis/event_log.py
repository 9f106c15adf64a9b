"""`EventLog` on Redis Streams: one stream per event stream, cursor == entry ID.

An append is one Lua script: it filters duplicates (the `dedup` set), hands out
consecutive cursors from the stream's `seq` counter (`XADD <cursor>-0`), copies
the sign of the send from the send log into each report, indexes reports by
bizId, and writes the suppressions of newly stored opt-outs, all atomically;
it returns only once Redis has replied (and, when configured, once `WAIT`
counted the replicas), so an acknowledged push is in Redis. Cursors are
therefore increasing, gapless, never reused (`seq` survives pruning) and the
same across replicas.

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

from smsgateway.backends.redis.connection import Client, LuaScript, ReplicaWait
from smsgateway.backends.redis.dead_letters import prune_dead_letters
from smsgateway.backends.redis.entries import (
    LUA_HELPERS,
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
from smsgateway.backends.redis.groups import drop_leases_through
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.backends.redis.send_log import prune_sends
from smsgateway.events.model import (
    AppendResult,
    DeliveryReportIn,
    EventFilter,
    Retention,
    Source,
    StoredEvent,
    StoredReport,
    StoredUplink,
    Stream,
    UplinkIn,
)

__all__ = ["PRUNE_CHUNK", "RedisEventLog"]

_log = logging.getLogger(__name__)

PRUNE_CHUNK: Final = 5_000
"""Cursors dropped per script call."""

_READ_CHUNK_MAX: Final = 2_000
"""Entries fetched per XRANGE while reading."""

_REPORT_STRIDE: Final = 6
_UPLINK_STRIDE: Final = 6

# KEYS: meta, log, dedup, sends, unsigned, biz index keys...
# ARGV: now, origin, then per report: digest, bizId, phone, code, payload, biz key index.
# Returns {cursor or 0 (duplicate), sign, ...} per report.
_APPEND_REPORTS = LuaScript(
    """
local now, origin = ARGV[1], ARGV[2]
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local tmax = redis.call('HGET', KEYS[1], 'tmax')
if (not tmax) or tonumber(now) > tonumber(tmax) then tmax = now end
local signs, out = {}, {}
for i = 3, #ARGV, 6 do
  local dg, biz = ARGV[i], ARGV[i + 1]
  if redis.call('ZSCORE', KEYS[3], dg) then
    out[#out + 1] = 0; out[#out + 1] = ''
  else
    local sign = signs[biz]
    if sign == nil then
      sign = ''
      local rec = redis.call('HGET', KEYS[4], biz)
      if rec then
        local colon = string.find(rec, ':', 1, true)
        sign = string.sub(rec, colon + 1, colon + tonumber(string.sub(rec, 1, colon - 1)))
      end
      signs[biz] = sign
    end
    seq = seq + 1
    local c = string.format('%d', seq)
    redis.call('XADD', KEYS[2], c .. '-0', 't', now, 'm', tmax, 'o', origin, 'b', biz,
      'p', ARGV[i + 2], 'c', ARGV[i + 3], 's', sign, 'd', ARGV[i + 4])
    redis.call('ZADD', KEYS[3], c, dg)
    redis.call('ZADD', KEYS[5 + tonumber(ARGV[i + 5])], c, c)
    if sign == '' then redis.call('HSET', KEYS[5], biz, c) end
    out[#out + 1] = seq; out[#out + 1] = sign
  end
end
redis.call('HSET', KEYS[1], 'seq', string.format('%d', seq), 'tmax', tmax)
return out
""",
    "report append",
)

# KEYS: meta, log, dedup, supp, supp records.
# ARGV: now, origin, then per uplink: digest, phone, sign, payload, suppression member
# ('' unless an opt-out), suppression record. Returns {cursor or 0, ...}.
_APPEND_UPLINKS = LuaScript(
    """
local now, origin = ARGV[1], ARGV[2]
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local tmax = redis.call('HGET', KEYS[1], 'tmax')
if (not tmax) or tonumber(now) > tonumber(tmax) then tmax = now end
local out = {}
for i = 3, #ARGV, 6 do
  local dg = ARGV[i]
  if redis.call('ZSCORE', KEYS[3], dg) then
    out[#out + 1] = 0
  else
    seq = seq + 1
    local c = string.format('%d', seq)
    redis.call('XADD', KEYS[2], c .. '-0', 't', now, 'm', tmax, 'o', origin,
      'p', ARGV[i + 1], 's', ARGV[i + 2], 'd', ARGV[i + 3])
    redis.call('ZADD', KEYS[3], c, dg)
    local member = ARGV[i + 4]
    if member ~= '' and redis.call('HSETNX', KEYS[5], member, ARGV[i + 5]) == 1 then
      redis.call('ZADD', KEYS[4], 0, member)
    end
    out[#out + 1] = seq
  end
end
redis.call('HSET', KEYS[1], 'seq', string.format('%d', seq), 'tmax', tmax)
return out
""",
    "uplink append",
)

# KEYS: meta, log. Returns {seq, oldest retained cursor or false}.
_BOUNDS = LuaScript(
    """
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
local oldest = false
if first then oldest = string.match(first[1], '^(%d+)') end
return {redis.call('HGET', KEYS[1], 'seq') or '0', oldest}
""",
    "event cursors",
)

# KEYS: meta, log. ARGV: epoch seconds. Returns the cursor before the first entry whose
# running max receive time (`m`, non-decreasing with the cursor) is at or after it.
_BEFORE_TIME = LuaScript(
    LUA_HELPERS
    + """
local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
if not first then return seq end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
local ts = tonumber(ARGV[1])
local function m_of(e) return tonumber(field(e[2], 'm')) end
if m_of(last) < ts then return seq end
local lo, hi = tonumber(cursor_of(first[1])), tonumber(cursor_of(last[1]))
if m_of(first) >= ts then return string.format('%d', lo - 1) end
while hi - lo > 1 do
  local mid = math.floor((lo + hi) / 2)
  local id = string.format('%d', mid) .. '-0'
  if m_of(redis.call('XRANGE', KEYS[2], id, id)[1]) >= ts then hi = mid else lo = mid end
end
return string.format('%d', hi - 1)
""",
    "cursor lookup by time",
)

# KEYS: log, dedup, unsigned, late. ARGV: through cursor, biz index key prefix.
# Drops entries up to the cursor with their de-duplication members and index entries.
_PRUNE_CHUNK = LuaScript(
    LUA_HELPERS
    + """
local through = ARGV[1]
local t = tonumber(through)
local entries = redis.call('XRANGE', KEYS[1], '-', through .. '-0')
local done = {}
for _, e in ipairs(entries) do
  local b = field(e[2], 'b')
  if b and not done[b] then
    done[b] = true
    redis.call('ZREMRANGEBYSCORE', ARGV[2] .. b, '-inf', through)
    local u = redis.call('HGET', KEYS[3], b)
    if u and tonumber(u) <= t then redis.call('HDEL', KEYS[3], b) end
    local v = redis.call('HGET', KEYS[4], b)
    if v and tonumber(string.sub(v, 1, string.find(v, '|', 1, true) - 1)) <= t then
      redis.call('HDEL', KEYS[4], b)
    end
  end
end
if #entries > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d', t + 1) .. '-0')
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', through)
end
return #entries
""",
    "event prune",
)


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
        unique: dict[bytes, DeliveryReportIn] = {}
        for report in reports:
            unique.setdefault(digest(report.dedup_key()), report)
        k = self._keys
        biz_keys: dict[str, int] = {}
        args: list[Any] = [num(now), self.origin]
        iso: dict[Any, str | None] = {}
        for dg, report in unique.items():
            index = biz_keys.setdefault(report.biz_id, len(biz_keys) + 1)
            args += [
                dg,
                enc(report.biz_id),
                enc(report.phone_number),
                enc(report.provider_code),
                report_payload(report, source, traceparent, iso),
                index,
            ]
        keys: list[Any] = [
            k.meta(Stream.REPORTS),
            k.log(Stream.REPORTS),
            k.dedup(Stream.REPORTS),
            k.sends(),
            k.unsigned(),
            *(k.biz(biz) for biz in biz_keys),
        ]
        reply = await _APPEND_REPORTS.run(self._client, keys, args, wait=self._wait)
        received = utc(now)
        stored: list[StoredEvent] = []
        for i, report in enumerate(unique.values()):
            cursor = _int(reply[2 * i])
            if cursor:
                stored.append(
                    StoredReport(
                        cursor=cursor,
                        report=report,
                        receive_time=received,
                        source=source,
                        sign=dec(reply[2 * i + 1]),
                        traceparent=traceparent,
                    )
                )
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
        iso: dict[Any, str | None] = {}
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
        reply = await _APPEND_UPLINKS.run(self._client, keys, args, wait=self._wait)
        received = utc(now)
        stored: list[StoredEvent] = [
            StoredUplink(
                cursor=_int(cursor),
                uplink=uplink,
                receive_time=received,
                source=source,
                opt_out=opt_out,
                traceparent=traceparent,
            )
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
        seq, oldest = await _BOUNDS.run(self._client, keys, [])
        return _int(seq), (_int(oldest) if oldest else None)

    async def cursor_before_time(self, stream: Stream, at: datetime) -> int:
        if at.tzinfo is None:
            raise ValueError("cursor_before_time needs an aware datetime")
        return await self._before(stream, at.timestamp())

    async def _before(self, stream: Stream, ts: float) -> int:
        keys = [self._keys.meta(stream), self._keys.log(stream)]
        return _int(await _BEFORE_TIME.run(self._client, keys, [num(ts)]))

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
                total += _int(await _PRUNE_CHUNK.run(self._client, keys, [upto, k.biz_prefix()]))
                low = upto + 1
            if oldest is not None and oldest <= through:
                # Leases of dropped events can never be delivered again.
                await drop_leases_through(self._client, k, stream, through)
        await prune_sends(self._client, k, cutoff)
        await prune_dead_letters(self._client, k, cutoff)
        if total:
            _log.info("pruned %d events beyond retention", total)
        return total
