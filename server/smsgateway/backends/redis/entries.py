"""Stream entries of the event log: their fields, decoding, filters, and shared Lua.

An entry's fields (the same names in the same order for every entry of a
stream, so Redis stores the names once per stream node):

* reports: `t` receive time, `m` running max of receive times, `o` origin
  (the writing replica), `b` bizId, `p` phone, `c` provider code, `s` sign
  (empty when the send was not recorded yet), `d` JSON
  `[success, message, sms_size, send_time, report_time, source, traceparent]`;
* uplinks: `t`, `m`, `o`, `p`, `s`, `d` JSON
  `[content, sequence_id, send_time, source, opt_out, traceparent]`.

Filters compare the raw `b`/`p`/`c`/`s` bytes, so entries that do not match are
never JSON-decoded. The sign of a report stored before its send was recorded is
resolved through `LateSigns`, so reads, filters and claims see what SQLite's
in-place update shows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smsgateway.backends.redis.connection import Client, LuaScript
from smsgateway.backends.redis.event_layout import EventKeys, LateSigns, dec, enc, utc
from smsgateway.events.model import (
    KNOWN_PROVIDER_CODES,
    DeliveryReportIn,
    EventFilter,
    IsoTimes,
    ReportFilter,
    Source,
    StoredEvent,
    StoredReport,
    StoredUplink,
    Stream,
    UplinkFilter,
    UplinkIn,
)

Fields = dict[bytes, bytes]
Entry = tuple[int, Fields]
"""(cursor, fields) of one stream entry."""

LUA_HELPERS = """
local function field(f, name)
  for i = 1, #f, 2 do if f[i] == name then return f[i + 1] end end
  return nil
end
local function cursor_of(id) return string.match(id, '^(%d+)') end
-- The late-sign values of the empty-signed reports among `entries`: {biz, value, ...}.
local function lates(entries, late_key)
  local seen, out = {}, {}
  for _, e in ipairs(entries) do
    local b = field(e[2], 'b')
    if b and field(e[2], 's') == '' and not seen[b] then
      seen[b] = true
      local v = redis.call('HGET', late_key, b)
      if v then out[#out + 1] = b; out[#out + 1] = v end
    end
  end
  return out
end
"""
"""Lua functions shared by every script that reads entries (prepended to it)."""


def parse_entries(raw: Sequence[Any]) -> list[Entry]:
    """Entries as a script returns them (`[[id, [f, v, ...]], ...]`)."""
    out: list[Entry] = []
    for item in raw:
        entry_id, flat = item[0], item[1]
        cursor = int(bytes(entry_id).partition(b"-")[0])
        out.append((cursor, {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}))
    return out


def parse_lates(raw: Sequence[Any]) -> LateSigns:
    """`LateSigns` from a script's flat `{biz, value, ...}` reply."""
    return LateSigns({raw[i]: raw[i + 1] for i in range(0, len(raw), 2)})


def effective_sign(fields: Fields, cursor: int, lates: LateSigns) -> bytes:
    """The sign of an entry as SQLite would show it now."""
    sign = fields.get(b"s", b"")
    if sign or b"b" not in fields:
        return sign
    return lates.sign(fields[b"b"], cursor)


# -- encoding ---------------------------------------------------------------------


# One encoder for every payload: `json.dumps` with non-default options builds a new
# encoder per call, which cost more than the encoding itself.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(values: list[Any]) -> bytes:
    return enc(_ENCODER.encode(values))


def report_payload(
    report: DeliveryReportIn,
    source: Source,
    traceparent: str,
    iso: IsoTimes,
) -> bytes:
    """The `d` field of a report (`iso` formats its times)."""
    return _json(
        [
            int(report.success),
            report.message,
            report.sms_size,
            iso(report.send_time),
            iso(report.report_time),
            source.value,
            traceparent,
        ]
    )


def uplink_payload(
    uplink: UplinkIn,
    source: Source,
    opt_out: bool,
    traceparent: str,
    iso: IsoTimes,
) -> bytes:
    """The `d` field of an uplink (`iso` formats its time)."""
    return _json(
        [
            uplink.content,
            uplink.sequence_id,
            iso(uplink.send_time),
            source.value,
            int(opt_out),
            traceparent,
        ]
    )


# -- decoding -----------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


@functools.lru_cache(maxsize=256)
def _received(t: bytes) -> datetime:
    return utc(float(t))


def decode(stream: Stream, cursor: int, fields: Fields, sign: bytes) -> StoredEvent:
    """The stored event of an entry, with the sign it shows (`effective_sign`)."""
    payload = json.loads(dec(fields[b"d"]))
    if stream is Stream.REPORTS:
        success, message, sms_size, send_time, report_time, source, trace = payload
        return StoredReport(
            cursor=cursor,
            report=DeliveryReportIn(
                biz_id=dec(fields[b"b"]),
                phone_number=dec(fields[b"p"]),
                provider_code=dec(fields[b"c"]),
                success=bool(success),
                message=message,
                sms_size=sms_size,
                send_time=_from_iso(send_time),
                report_time=_from_iso(report_time),
            ),
            receive_time=_received(fields[b"t"]),
            source=Source(source),
            sign=dec(sign),
            traceparent=trace,
        )
    content, sequence_id, send_time, source, opt_out, trace = payload
    return StoredUplink(
        cursor=cursor,
        uplink=UplinkIn(
            phone_number=dec(fields[b"p"]),
            content=content,
            sign=dec(sign),
            sequence_id=sequence_id,
            send_time=_from_iso(send_time),
        ),
        receive_time=_received(fields[b"t"]),
        source=Source(source),
        opt_out=bool(opt_out),
        traceparent=trace,
    )


def decode_all(stream: Stream, entries: Sequence[Entry], lates: LateSigns) -> list[StoredEvent]:
    return [decode(stream, c, f, effective_sign(f, c, lates)) for c, f in entries]


# -- filters ------------------------------------------------------------------------

_KNOWN_CODES = frozenset(enc(c) for c in KNOWN_PROVIDER_CODES)


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """An `EventFilter` over raw entry bytes; empty parts match everything."""

    biz_ids: frozenset[bytes]
    phones: frozenset[bytes]
    sign: bytes
    codes: frozenset[bytes]
    other_codes: bool

    def matches(self, cursor: int, fields: Fields, lates: LateSigns) -> bool:
        if self.biz_ids and fields.get(b"b") not in self.biz_ids:
            return False
        if self.phones and fields[b"p"] not in self.phones:
            return False
        if self.codes or self.other_codes:
            code = fields[b"c"]
            if not (code in self.codes or (self.other_codes and code not in _KNOWN_CODES)):
                return False
        return not self.sign or effective_sign(fields, cursor, lates) == self.sign


def compile_filter(stream: Stream, event_filter: EventFilter | None) -> CompiledFilter | None:
    """The filter over raw bytes, None when it matches everything.

    Raises `TypeError` for a filter of the other stream (as the SQLite backend does).
    """
    if event_filter is None:
        return None
    if stream is Stream.REPORTS:
        if not isinstance(event_filter, ReportFilter):
            raise TypeError(f"a {type(event_filter).__name__} does not filter reports")
    elif not isinstance(event_filter, UplinkFilter):
        raise TypeError(f"a {type(event_filter).__name__} does not filter uplinks")
    return _compile(event_filter)


@functools.lru_cache(maxsize=64)
def _compile(event_filter: EventFilter) -> CompiledFilter | None:
    if isinstance(event_filter, ReportFilter):
        compiled = CompiledFilter(
            frozenset(enc(b) for b in event_filter.biz_ids),
            frozenset(enc(p) for p in event_filter.phone_numbers),
            enc(event_filter.sign),
            frozenset(enc(c) for c in event_filter.provider_codes),
            event_filter.other_codes,
        )
    else:
        compiled = CompiledFilter(
            frozenset(),
            frozenset(enc(p) for p in event_filter.phone_numbers),
            enc(event_filter.sign),
            frozenset(),
            False,
        )
    empty = not (
        compiled.biz_ids
        or compiled.phones
        or compiled.sign
        or compiled.codes
        or compiled.other_codes
    )
    return None if empty else compiled


# -- reading a range ---------------------------------------------------------------

# KEYS: meta, log, late. ARGV: exclusive start ID, count. Returns {seq, entries, lates}.
_READ = LuaScript(
    LUA_HELPERS
    + """
local entries = redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', ARGV[2])
return {redis.call('HGET', KEYS[1], 'seq') or '0', entries, lates(entries, KEYS[3])}
""",
    "event read",
)


async def read_range(
    client: Client, keys: EventKeys, stream: Stream, after: int, count: int
) -> tuple[int, list[Entry], LateSigns]:
    """Up to `count` entries after the cursor: (newest cursor, entries, their late signs).

    The newest cursor is read in the same atomic step as the entries, so when
    fewer than `count` come back, every event up to it was seen.
    """
    reply = await _READ.run(
        client, [keys.meta(stream), keys.log(stream), keys.late()], [f"({after}-0", count]
    )
    return int(reply[0]), parse_entries(reply[1]), parse_lates(reply[2])
