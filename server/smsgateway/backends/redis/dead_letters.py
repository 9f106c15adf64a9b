"""`DeadLetters` on Redis: a bounded stream of rejected push bodies.

Each dead letter is an entry of `dead` (ID `<seq>-0`) with its stream, time,
error (first 1000 characters), the first `max_body_bytes` of the body and the
body's full length. `dead:meta` counts the kept body bytes and the dead letters
dropped to stay within `max_count` / `max_bytes` (`dropped_total`, shared by
every replica). Adding and dropping are one script, oldest first; the newest
one is always kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from smsgateway.backends.redis.connection import Client, LuaScript
from smsgateway.backends.redis.entries import LUA_HELPERS
from smsgateway.backends.redis.errors import translate
from smsgateway.backends.redis.event_layout import EventKeys, dec, enc, num, utc
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.events.model import DeadLetter, Stream

__all__ = ["RedisDeadLetters", "prune_dead_letters"]

_MAX_ERROR_CHARS: Final = 1000
_READ_CHUNK: Final = 200

# KEYS: dead, meta. ARGV: now, stream, error, body, length, max count, max bytes.
# Returns how many of the oldest were dropped.
_ADD = LuaScript(
    LUA_HELPERS
    + """
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('XADD', KEYS[1], string.format('%d', seq) .. '-0', 's', ARGV[2], 't', ARGV[1],
  'e', ARGV[3], 'b', ARGV[4], 'n', ARGV[5])
local bytes = redis.call('HINCRBY', KEYS[2], 'bytes', string.len(ARGV[4]))
local count = redis.call('XLEN', KEYS[1])
local max_count, max_bytes = tonumber(ARGV[6]), tonumber(ARGV[7])
local function over() return count > max_count or (bytes > max_bytes and count > 1) end
local dropped, start, last = 0, '-', nil
while over() do
  local batch = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 100)
  if #batch == 0 then break end
  for _, e in ipairs(batch) do
    if not over() then break end
    count = count - 1
    bytes = bytes - string.len(field(e[2], 'b'))
    dropped = dropped + 1
    last = e[1]
  end
  start = '(' .. last
end
if dropped > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d', tonumber(cursor_of(last)) + 1) .. '-0')
  redis.call('HSET', KEYS[2], 'bytes', bytes)
  redis.call('HINCRBY', KEYS[2], 'dropped', dropped)
end
return dropped
""",
    "dead letter write",
)

# KEYS: dead, meta. ARGV: cutoff. Drops the dead letters older than the cutoff, oldest
# first, stopping at the first newer one (they are in arrival order). Returns how many.
_PRUNE = LuaScript(
    LUA_HELPERS
    + """
local cutoff = tonumber(ARGV[1])
local start, last, freed, n = '-', nil, 0, 0
while true do
  local batch = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 100)
  if #batch == 0 then break end
  local stop = false
  for _, e in ipairs(batch) do
    if tonumber(field(e[2], 't')) >= cutoff then stop = true; break end
    freed = freed + string.len(field(e[2], 'b'))
    n = n + 1
    last = e[1]
  end
  if stop then break end
  start = '(' .. last
end
if n > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d', tonumber(cursor_of(last)) + 1) .. '-0')
  redis.call('HINCRBY', KEYS[2], 'bytes', -freed)
end
return n
""",
    "dead letter prune",
)


async def prune_dead_letters(client: Client, keys: EventKeys, cutoff: float) -> int:
    """Drop dead letters received before `cutoff` (epoch seconds); how many."""
    return int(await _PRUNE.run(client, [keys.dead(), keys.dead_meta()], [num(cutoff)]))


class RedisDeadLetters:
    """`DeadLetters` on Redis, bounded in count and bytes across every replica."""

    def __init__(
        self,
        client: Client,
        keys: RedisKeys,
        clock: Callable[[], float] = time.time,
        *,
        max_count: int = 10_000,
        max_bytes: int = 64 * 1024 * 1024,
        max_body_bytes: int = 64 * 1024,
    ) -> None:
        """`max_count` and `max_bytes` bound what is kept (bodies as truncated);
        `max_body_bytes` is how much of one body is kept."""
        self._client = client
        self._keys = EventKeys(keys)
        self._clock = clock
        self._max_count = max(1, max_count)
        self._max_bytes = max(1, max_bytes)
        self._max_body = max(0, max_body_bytes)

    async def add_dead_letter(self, stream: Stream, body: bytes, error: str) -> None:
        k = self._keys
        await _ADD.run(
            self._client,
            [k.dead(), k.dead_meta()],
            [
                num(self._clock()),
                stream.value,
                enc(error[:_MAX_ERROR_CHARS]),
                bytes(body[: self._max_body]),
                len(body),
                self._max_count,
                self._max_bytes,
            ],
        )

    async def dead_letters(
        self, stream: Stream | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        out: list[DeadLetter] = []
        if limit <= 0:
            return out
        high = b"+"
        with translate("dead letter read"):
            while len(out) < limit:
                count = limit - len(out) if stream is None else _READ_CHUNK
                batch: Any = await self._client.xrevrange(
                    self._keys.dead(), high, b"-", count=count
                )
                for _, fields in batch:
                    if stream is not None and fields[b"s"] != stream.value.encode():
                        continue
                    body = bytes(fields[b"b"])
                    out.append(
                        DeadLetter(
                            Stream(fields[b"s"].decode()),
                            utc(float(fields[b"t"])),
                            dec(fields[b"e"]),
                            body,
                            int(fields[b"n"]) or len(body),
                        )
                    )
                    if len(out) == limit:
                        break
                if len(batch) < count:
                    break
                high = b"(" + bytes(batch[-1][0])
        return out

    async def dead_letter_count(self) -> int:
        with translate("dead letter count"):
            return int(await self._client.xlen(self._keys.dead()))

    async def dropped_total(self) -> int:
        """Dead letters dropped to stay within the bounds, by every replica, ever."""
        with translate("dead letter count"):
            value = await self._client.hget(self._keys.dead_meta(), "dropped")  # type: ignore[misc]
        return int(value or 0)
