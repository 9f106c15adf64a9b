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

Costs: join/ack are O(1) per cursor; a claim sorts the group's expired leases
(O(e log e)) and reads O(limit) entries (a filtered one up to `max_scan`);
`release` and the lease clean-up after a prune walk the group's pending leases.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from smsgateway.backends.redis import group_scripts as scripts
from smsgateway.backends.redis.connection import Client, EncodedArg
from smsgateway.backends.redis.entries import (
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


async def drop_leases_through(client: Client, keys: EventKeys, stream: Stream, through: int) -> int:
    """Drop every group's leases of cursors at or below `through` (pruned events)."""
    with translate("lease prune"):
        names: list[Any] = await client.hkeys(keys.group_positions(stream))  # type: ignore[misc]
    dropped = 0
    for raw in names:
        name = dec(raw)
        leases = [keys.leases(stream, name), keys.holders(stream, name)]
        dropped += int(await scripts.DROP_LEASES.run(client, leases, [through]))
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
        max_scan: int = 20_000,
    ) -> None:
        """`max_groups` bounds the groups of both streams together; `clock` gives
        wall-clock seconds (lease expiry, idleness). A filtered claim examines
        `scan_chunk` entries per round trip and at most about `max_scan` per call:
        past that it advances the position over what it examined (those events
        did not match) and returns what it found; the next claim goes on."""
        self._client = client
        self._keys = EventKeys(keys)
        self._clock = clock
        self._max_groups = max_groups
        self._scan = max(1, scan_chunk)
        self._max_scan = max(self._scan, max_scan)

    async def join_group(
        self, stream: Stream, name: str, start_after: int, filter_key: str
    ) -> GroupInfo:
        k = self._keys
        start = max(int(start_after), 0)
        reply = await scripts.JOIN.run(
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
        reply = await scripts.CLAIM.run(
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
            scanned = 0
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
                scanned += len(entries)
                if scanned >= self._max_scan:  # enough for one call: skip what was seen
                    new_position = entries[-1][0]
                    break
                seq, entries, lates = await self._range(stream, entries[-1][0])
            if new_position == position and not matches:
                return []
            args: list[EncodedArg] = [enc(group), position, new_position, expires, enc(member)]
            args += [e.cursor for e in matches]
            reply = await scripts.COMMIT.run(
                self._client,
                [k.group_positions(stream), k.leases(stream, group), k.holders(stream, group)],
                args,
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
        args: list[EncodedArg] = [group_member(stream, group), num(self._clock())]
        args += [int(c) for c in cursors]
        return int(
            await scripts.ACK.run(
                self._client,
                [k.leases(stream, group), k.holders(stream, group), k.group_activity()],
                args,
            )
        )

    async def release(self, stream: Stream, group: str, member: str) -> int:
        k = self._keys
        return int(
            await scripts.RELEASE.run(
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
        deleted = await scripts.DELETE.run(
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
            members: list[Any] = await self._client.zrangebyscore(
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
