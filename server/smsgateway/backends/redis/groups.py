"""`ConsumerGroups` on Redis: durable positions and leases shared by every replica.

A group is a position (`<stream>:groups`), a filter key (`<stream>:gfilter`), a
lease set (cursor → expiry) with holders (cursor → "<deliveries>|<member>"),
and its last activity in `groups:active` (join, claim, ack), which also counts
the groups for `max_groups` and finds idle ones for `prune_groups`.

Every state change is one Lua script, so members on different replicas never
hold the same event at once. An unfiltered claim is a single script (expired
leases first, then new events after the position). A filtered claim runs the
filter here, on raw fields: the script re-leases expired events and returns
the candidates after the position; the matches are then leased by a
compare-and-set of the position (retried after a concurrent claim moved it),
and events that do not match are skipped for good by advancing past them, as
SQLite does.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from smsgateway.backends.redis.connection import Client, LuaScript
from smsgateway.backends.redis.entries import (
    LUA_HELPERS,
    CompiledFilter,
    Entry,
    compile_filter,
    decode,
    decode_all,
    effective_sign,
    parse_entries,
    parse_lates,
    read_range,
)
from smsgateway.backends.redis.errors import translate
from smsgateway.backends.redis.event_layout import EventKeys, LateSigns, dec, enc, group_member, num
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.events.model import (
    EventFilter,
    GroupInfo,
    GroupMismatchError,
    StoredEvent,
    Stream,
    TooManyGroupsError,
    UnknownGroupError,
)
from smsgateway.store_errors import StoreUnavailableError

__all__ = ["RedisConsumerGroups", "drop_leases_through"]

_CAS_ATTEMPTS: Final = 200

# KEYS: positions, filters, activity, leases, holders.
# ARGV: name, start, filter key, now, max groups, activity member.
# Returns {0, position, pending} | {1} (other filter) | {2, count} (too many).
_JOIN = LuaScript(
    """
local f = redis.call('HGET', KEYS[2], ARGV[1])
if f then
  if f ~= ARGV[3] then return {1} end
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[6])
  return {0, redis.call('HGET', KEYS[1], ARGV[1]) or '0', redis.call('ZCARD', KEYS[4])}
end
local count = redis.call('ZCARD', KEYS[3])
if count >= tonumber(ARGV[5]) then return {2, count} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[6])
redis.call('DEL', KEYS[4], KEYS[5])
return {0, ARGV[2], 0}
""",
    "consumer group join",
)

# KEYS: positions, activity, leases, holders, log, meta, late.
# ARGV: name, activity member, now, expires, limit, member, 'all' | 'scan', scan count.
# Returns {0} (no group) | {1, position, seq, leased entries, candidates, late signs}.
_CLAIM = LuaScript(
    LUA_HELPERS
    + """
local pos = redis.call('HGET', KEYS[1], ARGV[1])
if not pos then return {0} end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
local limit, expires, member = tonumber(ARGV[5]), ARGV[4], ARGV[6]
-- 1. Leases that ran out (their holder is slow or gone), oldest cursor first.
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
table.sort(expired, function(a, b) return tonumber(a) < tonumber(b) end)
local out = {}
for i = 1, math.min(limit, #expired) do
  local c = expired[i]
  local e = redis.call('XRANGE', KEYS[5], c .. '-0', c .. '-0')[1]
  if e then
    local h = redis.call('HGET', KEYS[4], c)
    local d = 1
    if h then d = tonumber(string.match(h, '^(%d+)')) + 1 end
    redis.call('ZADD', KEYS[3], expires, c)
    redis.call('HSET', KEYS[4], c, string.format('%d', d) .. '|' .. member)
    out[#out + 1] = e
  else  -- pruned meanwhile: nothing left to deliver
    redis.call('ZREM', KEYS[3], c)
    redis.call('HDEL', KEYS[4], c)
  end
end
-- 2. New events after the position.
local seq = redis.call('HGET', KEYS[6], 'seq') or '0'
local remaining = limit - #out
local candidates = {}
if remaining > 0 then
  if ARGV[7] == 'all' then
    local fresh = redis.call('XRANGE', KEYS[5], '(' .. pos .. '-0', '+', 'COUNT', remaining)
    local newpos = tonumber(pos)
    if #fresh == remaining then
      newpos = tonumber(cursor_of(fresh[#fresh][1]))
    elseif tonumber(seq) > newpos then
      newpos = tonumber(seq)  -- every event up to the newest was seen
    end
    for _, e in ipairs(fresh) do
      local c = cursor_of(e[1])
      redis.call('ZADD', KEYS[3], expires, c)
      redis.call('HSET', KEYS[4], c, '1|' .. member)
      out[#out + 1] = e
    end
    local np = string.format('%d', newpos)
    if np ~= pos then redis.call('HSET', KEYS[1], ARGV[1], np); pos = np end
  else
    candidates = redis.call('XRANGE', KEYS[5], '(' .. pos .. '-0', '+', 'COUNT', ARGV[8])
  end
end
local all = {}
for _, e in ipairs(out) do all[#all + 1] = e end
for _, e in ipairs(candidates) do all[#all + 1] = e end
return {1, pos, seq, out, candidates, lates(all, KEYS[7])}
""",
    "consumer group claim",
)

# KEYS: positions, leases, holders. ARGV: name, expected position, new position,
# expires, member, cursors... Returns {1} | {0} (no group) | {2, position} (moved).
_COMMIT = LuaScript(
    """
local pos = redis.call('HGET', KEYS[1], ARGV[1])
if not pos then return {0} end
if pos ~= ARGV[2] then return {2, pos} end
for i = 6, #ARGV do
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i], '1|' .. ARGV[5])
end
if ARGV[3] ~= pos then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return {1}
""",
    "consumer group claim",
)

# KEYS: leases, holders, activity. ARGV: activity member, now, cursors...
_ACK = LuaScript(
    """
local n = 0
for i = 3, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then n = n + 1 end
  redis.call('HDEL', KEYS[2], ARGV[i])
end
redis.call('ZADD', KEYS[3], 'XX', ARGV[2], ARGV[1])
return n
""",
    "consumer group ack",
)

# KEYS: leases, holders. ARGV: member. Expires every lease of the member.
_RELEASE = LuaScript(
    """
local h = redis.call('HGETALL', KEYS[2])
local n = 0
for i = 1, #h, 2 do
  local v = h[i + 1]
  if string.sub(v, string.find(v, '|', 1, true) + 1) == ARGV[1] then
    redis.call('ZADD', KEYS[1], 0, h[i])
    n = n + 1
  end
end
return n
""",
    "consumer group release",
)

# KEYS: positions, filters, activity, leases, holders. ARGV: name, activity member,
# idle-before time ('' = delete whatever its activity). Returns 1 when deleted.
_DELETE = LuaScript(
    """
if ARGV[3] ~= '' then
  local s = redis.call('ZSCORE', KEYS[3], ARGV[2])
  if s and tonumber(s) >= tonumber(ARGV[3]) then return 0 end
end
local existed = redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[4], KEYS[5])
return existed
""",
    "consumer group delete",
)

# KEYS: leases, holders. ARGV: through cursor. Drops the leases at or below it.
_DROP_LEASES = LuaScript(
    """
local t, n = tonumber(ARGV[1]), 0
for _, c in ipairs(redis.call('HKEYS', KEYS[2])) do
  if tonumber(c) <= t then
    redis.call('HDEL', KEYS[2], c)
    redis.call('ZREM', KEYS[1], c)
    n = n + 1
  end
end
return n
""",
    "lease prune",
)


async def drop_leases_through(client: Client, keys: EventKeys, stream: Stream, through: int) -> int:
    """Drop every group's leases of cursors at or below `through` (pruned events)."""
    with translate("lease prune"):
        names: list[bytes] = await client.hkeys(keys.group_positions(stream))  # type: ignore[misc]
    dropped = 0
    for raw in names:
        name = dec(raw)
        leases = [keys.leases(stream, name), keys.holders(stream, name)]
        dropped += int(await _DROP_LEASES.run(client, leases, [through]))
    return dropped


class RedisConsumerGroups:
    """`ConsumerGroups` on Redis, shared by every replica."""

    def __init__(
        self,
        client: Client,
        keys: RedisKeys,
        clock: Callable[[], float] = time.time,
        *,
        max_groups: int = 1000,
        scan_chunk: int = 500,
    ) -> None:
        """`max_groups` bounds the groups of both streams together; `clock` gives
        wall-clock seconds (lease expiry, idleness); `scan_chunk` is how many
        entries a filtered claim examines per round trip."""
        self._client = client
        self._keys = EventKeys(keys)
        self._clock = clock
        self._max_groups = max_groups
        self._scan = max(1, scan_chunk)

    async def join_group(
        self, stream: Stream, name: str, start_after: int, filter_key: str
    ) -> GroupInfo:
        k = self._keys
        start = max(int(start_after), 0)
        reply = await _JOIN.run(
            self._client,
            [
                k.group_positions(stream),
                k.group_filters(stream),
                k.group_activity(),
                k.leases(stream, name),
                k.holders(stream, name),
            ],
            [
                enc(name),
                start,
                enc(filter_key),
                num(self._clock()),
                self._max_groups,
                group_member(stream, name),
            ],
        )
        status = int(reply[0])
        if status == 1:
            raise GroupMismatchError(
                f"consumer group {name!r} of {stream} exists with another filter"
            )
        if status == 2:
            raise TooManyGroupsError(
                f"there are already {int(reply[1])} consumer groups (the limit is"
                f" {self._max_groups}); delete unused ones or raise the limit"
            )
        return GroupInfo(stream, name, int(reply[1]), filter_key, int(reply[2]))

    async def claim(
        self,
        stream: Stream,
        group: str,
        member: str,
        limit: int,
        lease_seconds: float,
        event_filter: EventFilter | None = None,
    ) -> list[StoredEvent]:
        if limit <= 0:
            return []
        compiled = compile_filter(stream, event_filter)
        k = self._keys
        now = self._clock()
        expires = num(now + lease_seconds)
        reply = await _CLAIM.run(
            self._client,
            [
                k.group_positions(stream),
                k.group_activity(),
                k.leases(stream, group),
                k.holders(stream, group),
                k.log(stream),
                k.meta(stream),
                k.late(),
            ],
            [
                enc(group),
                group_member(stream, group),
                num(now),
                expires,
                limit,
                enc(member),
                "all" if compiled is None else "scan",
                self._scan,
            ],
        )
        if int(reply[0]) == 0:
            raise UnknownGroupError(f"no consumer group {group!r} on {stream}")
        lates = parse_lates(reply[5])
        leased = parse_entries(reply[3])
        events = decode_all(stream, leased, lates)
        if compiled is None or len(leased) >= limit:
            return events
        fresh = await self._claim_matching(
            stream,
            group,
            member,
            limit - len(leased),
            expires,
            compiled,
            (int(reply[1]), int(reply[2]), parse_entries(reply[4]), lates),
        )
        return events + fresh

    async def _claim_matching(
        self,
        stream: Stream,
        group: str,
        member: str,
        wanted: int,
        expires: str,
        compiled: CompiledFilter,
        first: tuple[int, int, list[Entry], LateSigns],
    ) -> list[StoredEvent]:
        """Lease up to `wanted` matching events after the position (compare-and-set)."""
        k = self._keys
        position, seq, entries, lates = first
        for attempt in range(_CAS_ATTEMPTS):
            matches: list[StoredEvent] = []
            while True:
                for cursor, fields in entries:
                    if compiled.matches(cursor, fields, lates):
                        sign = effective_sign(fields, cursor, lates)
                        matches.append(decode(stream, cursor, fields, sign))
                        if len(matches) == wanted:
                            break
                if len(matches) == wanted:
                    new_position = matches[-1].cursor
                    break
                if len(entries) < self._scan:
                    # Fewer matches than asked: every event up to the newest was
                    # seen, the non-matching ones are skipped for good.
                    new_position = max(position, seq)
                    break
                seq, entries, lates = await self._range(stream, entries[-1][0])
            if new_position == position and not matches:
                return []
            reply = await _COMMIT.run(
                self._client,
                [k.group_positions(stream), k.leases(stream, group), k.holders(stream, group)],
                [enc(group), position, new_position, expires, enc(member)]
                + [e.cursor for e in matches],
            )
            status = int(reply[0])
            if status == 1:
                return matches
            if status == 0:
                raise UnknownGroupError(f"no consumer group {group!r} on {stream}")
            # Another member claimed meanwhile: start again from where it left off.
            position = int(reply[1])
            if attempt >= 3:
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))
            seq, entries, lates = await self._range(stream, position)
        raise StoreUnavailableError(
            f"consumer group {group!r} of {stream}: claims kept conflicting; retry"
        )

    async def _range(self, stream: Stream, after: int) -> tuple[int, list[Entry], LateSigns]:
        return await read_range(self._client, self._keys, stream, after, self._scan)

    async def ack(self, stream: Stream, group: str, cursors: Sequence[int]) -> int:
        if not cursors:
            return 0
        k = self._keys
        return int(
            await _ACK.run(
                self._client,
                [k.leases(stream, group), k.holders(stream, group), k.group_activity()],
                [group_member(stream, group), num(self._clock())] + [int(c) for c in cursors],
            )
        )

    async def release(self, stream: Stream, group: str, member: str) -> int:
        k = self._keys
        return int(
            await _RELEASE.run(
                self._client, [k.leases(stream, group), k.holders(stream, group)], [enc(member)]
            )
        )

    async def groups(self, stream: Stream) -> list[GroupInfo]:
        k = self._keys
        with translate("consumer group list"):
            pipe = self._client.pipeline(transaction=True)
            pipe.hgetall(k.group_positions(stream))
            pipe.hgetall(k.group_filters(stream))
            positions, filters = await pipe.execute()
            names = sorted(dec(n) for n in positions)
            pipe = self._client.pipeline(transaction=False)
            for name in names:
                pipe.zcard(k.leases(stream, name))
            pending: list[Any] = await pipe.execute() if names else []
        return [
            GroupInfo(
                stream,
                name,
                int(positions[enc(name)]),
                dec(filters.get(enc(name), b"")),
                int(count),
            )
            for name, count in zip(names, pending, strict=True)
        ]

    async def delete_group(self, stream: Stream, name: str) -> bool:
        return await self._delete(stream, name, "")

    async def _delete(self, stream: Stream, name: str, idle_before: str) -> bool:
        k = self._keys
        deleted = await _DELETE.run(
            self._client,
            [
                k.group_positions(stream),
                k.group_filters(stream),
                k.group_activity(),
                k.leases(stream, name),
                k.holders(stream, name),
            ],
            [enc(name), group_member(stream, name), idle_before],
        )
        return int(deleted) > 0

    async def prune_groups(self, idle_seconds: float) -> list[tuple[Stream, str]]:
        idle_before = num(self._clock() - idle_seconds)
        with translate("consumer group prune"):
            members: list[bytes] = await self._client.zrangebyscore(
                self._keys.group_activity(), "-inf", f"({idle_before}"
            )
        pruned: list[tuple[Stream, str]] = []
        for member in members:
            stream_name, _, name = dec(member).partition(":")
            stream = Stream(stream_name)
            # Deleted only if still idle: a join or claim may have come meanwhile.
            if await self._delete(stream, name, idle_before):
                pruned.append((stream, name))
        return pruned
