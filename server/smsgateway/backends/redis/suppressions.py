"""`Suppressions` on Redis: opt-outs per sign, listed in (sign, phone) order.

`supp` is a sorted set with score 0 whose members (`event_layout.supp_member`)
sort bytewise exactly as (sign, phone) tuples do, so `ZRANGEBYLEX` pages them
in SQLite's order; `supp:rec` holds each one's created_at and reason. The
first record is kept (`HSETNX`); opt-out uplinks write theirs in the append
script. A suppression under the empty sign applies to every sign.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from smsgateway.backends.redis.connection import Client, LuaScript
from smsgateway.backends.redis.errors import translate
from smsgateway.backends.redis.event_layout import (
    EventKeys,
    parse_supp_record,
    sign_prefix,
    supp_key,
    supp_member,
    supp_record,
)
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.events.model import Suppression

__all__ = ["RedisSuppressions"]

# KEYS: supp, supp records. ARGV: member, record. Returns the kept record.
_ADD = LuaScript(
    """
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[1], 0, ARGV[1])
end
return redis.call('HGET', KEYS[2], ARGV[1])
""",
    "suppression write",
)

# KEYS: supp, supp records. ARGV: member. Returns 1 when there was one.
_REMOVE = LuaScript(
    """
local n = redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return n
""",
    "suppression delete",
)


class RedisSuppressions:
    """`Suppressions` on Redis, in the event aggregate (opt-out appends write here too)."""

    def __init__(
        self, client: Client, keys: RedisKeys, clock: Callable[[], float] = time.time
    ) -> None:
        """`clock` gives the created_at of new suppressions (wall-clock seconds)."""
        self._client = client
        self._keys = EventKeys(keys)
        self._clock = clock

    def _redis_keys(self) -> list[Any]:
        return [self._keys.suppressions(), self._keys.suppression_records()]

    async def add_suppression(self, sign: str, phone_number: str, reason: str) -> Suppression:
        member = supp_member(sign, phone_number)
        record = await _ADD.run(
            self._client, self._redis_keys(), [member, supp_record(reason, self._clock())]
        )
        kept_reason, created = parse_supp_record(record)
        return Suppression(sign, phone_number, kept_reason, created)

    async def remove_suppression(self, sign: str, phone_number: str) -> bool:
        removed = await _REMOVE.run(
            self._client, self._redis_keys(), [supp_member(sign, phone_number)]
        )
        return int(removed) > 0

    async def list_suppressions(
        self, sign: str, after: tuple[str, str] | None, limit: int
    ) -> list[Suppression]:
        if limit <= 0:
            return []
        low, high = b"-", b"+"
        if sign:
            low = b"[" + sign_prefix(sign)
            # Members of this sign start with its prefix, which ends in 0x00;
            # nothing else sorts between the prefix and prefix-with-0x01.
            high = b"(" + sign_prefix(sign)[:-1] + b"\x01"
        if after is not None:
            past = supp_member(*after)
            if not sign or past >= sign_prefix(sign):
                low = b"(" + past
        with translate("suppression list"):
            members: list[Any] = await self._client.zrangebylex(
                self._keys.suppressions(), low, high, start=0, num=limit
            )
            records: list[Any] = []
            if members:
                records = await self._client.hmget(  # type: ignore[misc]
                    self._keys.suppression_records(), members
                )
        out: list[Suppression] = []
        for member, record in zip(members, records, strict=True):
            if record is None:  # removed between the two reads
                continue
            s, phone = supp_key(member)
            reason, created = parse_supp_record(record)
            out.append(Suppression(s, phone, reason, created))
        return out

    async def suppressed(self, sign: str, phone_numbers: Sequence[str]) -> set[str]:
        phones = list(dict.fromkeys(phone_numbers))
        if not phones:
            return set()
        members = [supp_member(sign, p) for p in phones]
        if sign:
            members += [supp_member("", p) for p in phones]
        with translate("suppression lookup"):
            found: list[Any] = await self._client.hmget(  # type: ignore[misc]
                self._keys.suppression_records(), members
            )
        n = len(phones)
        return {phones[i % n] for i, record in enumerate(found) if record is not None}
