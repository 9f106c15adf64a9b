"""`SendLog` on Redis: accepted provider calls by bizId, and the latest report per number.

`sends` maps bizId → "<len(sign)>:<sign>[kind, sent_at, numbers]" (the append
script cuts the sign out to stamp reports); `sends:at` orders them by `sent_at`
for retention. `record_sends` also gives reports that arrived before their send
was recorded their sign, in the same script (see `event_layout.LateSigns`).
`latest_reports` reads the bizId's reports through its cursor index
(`reports:biz:<bizId>`, maintained by the append and prune scripts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from smsgateway.backends.redis.connection import Client, LuaScript
from smsgateway.backends.redis.entries import LUA_HELPERS, decode_all, parse_entries, parse_lates
from smsgateway.backends.redis.errors import translate
from smsgateway.backends.redis.event_layout import (
    EventKeys,
    enc,
    num,
    parse_send_record,
    send_record,
)
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.events.model import SentBatch, StoredReport, Stream

__all__ = ["RedisSendLog", "prune_sends"]

_PRUNE_BATCH: Final = 1_000

# KEYS: sends, sends:at, unsigned, late. ARGV per batch: bizId, record, sent_at, sign.
_RECORD = LuaScript(
    """
for i = 1, #ARGV, 4 do
  local biz, sign = ARGV[i], ARGV[i + 3]
  redis.call('HSET', KEYS[1], biz, ARGV[i + 1])
  redis.call('ZADD', KEYS[2], ARGV[i + 2], biz)
  if sign ~= '' then
    -- Reports of this bizId stored without a sign (up to cursor u) get this one.
    local u = redis.call('HGET', KEYS[3], biz)
    if u then
      local v = redis.call('HGET', KEYS[4], biz)
      local rounds = ''
      if v then rounds = string.sub(v, string.find(v, '|', 1, true) + 1) end
      rounds = rounds .. u .. ':' .. string.format('%d', string.len(sign)) .. ':' .. sign
      redis.call('HSET', KEYS[4], biz, u .. '|' .. rounds)
      redis.call('HDEL', KEYS[3], biz)
    end
  end
end
return 0
""",
    "send log write",
)

# KEYS: biz index, log, late. Returns {entries, late signs}.
_LATEST = LuaScript(
    LUA_HELPERS
    + """
local out = {}
for _, c in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local e = redis.call('XRANGE', KEYS[2], c .. '-0', c .. '-0')[1]
  if e then out[#out + 1] = e end
end
return {out, lates(out, KEYS[3])}
""",
    "report status read",
)

# KEYS: sends, sends:at. ARGV: cutoff, batch. Forgets sends older than the cutoff.
_PRUNE = LuaScript(
    """
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[2])
for _, biz in ipairs(old) do
  redis.call('HDEL', KEYS[1], biz)
  redis.call('ZREM', KEYS[2], biz)
end
return #old
""",
    "send log prune",
)


async def prune_sends(client: Client, keys: EventKeys, cutoff: float) -> int:
    """Forget the sends recorded before `cutoff` (epoch seconds); how many."""
    total = 0
    while True:
        n = int(
            await _PRUNE.run(client, [keys.sends(), keys.sends_at()], [num(cutoff), _PRUNE_BATCH])
        )
        total += n
        if n < _PRUNE_BATCH:
            return total


class RedisSendLog:
    """`SendLog` on Redis, in the event aggregate (reports are matched against it)."""

    def __init__(self, client: Client, keys: RedisKeys) -> None:
        self._client = client
        self._keys = EventKeys(keys)

    async def record_sends(self, batches: Sequence[SentBatch]) -> None:
        if not batches:
            return
        args: list[Any] = []
        for b in batches:
            args += [enc(b.biz_id), send_record(b), num(b.sent_at.timestamp()), enc(b.sign)]
        k = self._keys
        await _RECORD.run(self._client, [k.sends(), k.sends_at(), k.unsigned(), k.late()], args)

    async def sent_batch(self, biz_id: str) -> SentBatch | None:
        with translate("send log read"):
            record: Any = await self._client.hget(  # type: ignore[misc]
                self._keys.sends(), enc(biz_id)
            )
        return parse_send_record(biz_id, record) if record is not None else None

    async def latest_reports(self, biz_id: str) -> dict[str, StoredReport]:
        k = self._keys
        reply = await _LATEST.run(
            self._client, [k.biz(biz_id), k.log(Stream.REPORTS), k.late()], []
        )
        latest: dict[str, StoredReport] = {}
        for report in decode_all(Stream.REPORTS, parse_entries(reply[0]), parse_lates(reply[1])):
            assert isinstance(report, StoredReport)
            phone = report.report.phone_number
            current = latest.get(phone)
            # The newest by the provider's report time (none counts as oldest);
            # on a tie the later arrival wins.
            if current is None or _report_order(report) >= _report_order(current):
                latest[phone] = report
        return latest


def _report_order(stored: StoredReport) -> tuple[float, int]:
    report_time = stored.report.report_time
    return (report_time.timestamp() if report_time is not None else float("-inf"), stored.cursor)
