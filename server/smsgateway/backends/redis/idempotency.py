"""`IdempotencyStore` on Redis: the records of sends by `request_id`, shared by every replica.

One hash per request_id (`{<prefix>:idem}:req:<request_id>`) holds the fingerprint,
the response header, the creation time, the claim's nonce, and two fields per
provider call: `p:<index>` (its numbers, written once) and `o:<index>` (its
outcome, rewritten as it progresses). Recording a call's progress therefore
rewrites one small field even for a send of 100,000 recipients.

* `claim` is one Lua script (lookup of the live record, else the header and every
  call): concurrent duplicates on any number of replicas execute once. A claim
  retried by the client after a lost reply recognises its own nonce.
* A record is live while `created_at >= clock() - ttl` (the injected clock decides);
  the key also expires in Redis `ttl + expiry margin` after the claim, which does
  the cleanup, so `prune` has nothing to do and returns 0.
* `record_outcome` queues; queued outcomes travel in the next script this process
  runs (a background flush, or any other operation, which applies them first), so
  nothing this process reads is older than what it already knows. Outcomes whose
  script failed go back to the queue (bounded) and the flush retries them with
  backoff, so a Redis restart does not lose the outcome of a send already answered.
* `take_calls` is one Lua script too: it writes each call "in flight" only while its
  stored outcome (field `outcome` of the `o:<index>` blob) is not sent or rejected,
  so that of concurrent takers on any number of replicas exactly one sends the call.
  The taker's nonce (`k:<index>`) lets a take retried after a lost reply recognise
  itself.
* With a `ReplicaWait`, `claim`, `update_call` and `take_calls` return only once enough
  replicas have the write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from smsgateway.backends.redis.connection import (
    Client,
    EncodedArg,
    LuaScript,
    ReplicaWait,
)
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.sending.ports import SendRecord
from smsgateway.store_errors import StoreUnavailableError
from smsgateway.v1 import smsgateway_pb2 as pb

__all__ = ["RedisIdempotencyStore"]

log = logging.getLogger(__name__)

# Every script starts by applying queued outcomes: KEYS[1..m] are their records,
# ARGV[1] = m, ARGV[2i], ARGV[2i+1] = call index and outcome blob of the i-th.
# A call that its record does not have (expired, never claimed) is left alone.
# `a` is the first ARGV of the operation, KEYS[m+1] its record.
_APPLY_OUTCOMES = """
local m = tonumber(ARGV[1])
for i = 1, m do
  local idx = ARGV[2 * i]
  if redis.call('HEXISTS', KEYS[i], 'p:' .. idx) == 1 then
    redis.call('HSET', KEYS[i], 'o:' .. idx, ARGV[2 * i + 1])
  end
end
local a = 2 * m + 2
local key = KEYS[m + 1]
"""

_APPLY = LuaScript(_APPLY_OUTCOMES + "return 1\n", "idempotency outcome write")

# ARGV[a] = oldest live created_at.
_GET = LuaScript(
    _APPLY_OUTCOMES
    + """
local t = redis.call('HGET', key, 't')
if t and tonumber(t) >= tonumber(ARGV[a]) then
  return redis.call('HGETALL', key)
end
return false
""",
    "idempotency read",
)

# ARGV[a..a+5] = oldest, now, expiry ms, nonce, fingerprint, header;
# then triples (index, numbers, outcome blob) per call.
# Returns 1 when claimed (or already claimed by this very claim), else the live record.
_CLAIM = LuaScript(
    _APPLY_OUTCOMES
    + """
local t = redis.call('HGET', key, 't')
if t and tonumber(t) >= tonumber(ARGV[a]) then
  if redis.call('HGET', key, 'id') == ARGV[a + 3] then
    return 1
  end
  return redis.call('HGETALL', key)
end
redis.call('DEL', key)
redis.call('HSET', key, 'fp', ARGV[a + 4], 'h', ARGV[a + 5], 't', ARGV[a + 1], 'id', ARGV[a + 3])
for j = a + 6, #ARGV, 3 do
  redis.call('HSET', key, 'p:' .. ARGV[j], ARGV[j + 1], 'o:' .. ARGV[j], ARGV[j + 2])
end
redis.call('PEXPIRE', key, ARGV[a + 2])
return 1
""",
    "idempotency claim",
)

# The stored outcome of a call: field 4 (`outcome`, a varint) of its serialized
# `UpstreamCall` blob; 0 when absent, -1 when the blob cannot be read.
_OUTCOME_OF = """
local function varint(s, i)
  local value, scale = 0, 1
  while true do
    local b = string.byte(s, i)
    if b == nil then return nil, i end
    i = i + 1
    value = value + (b % 128) * scale
    if b < 128 then return value, i end
    scale = scale * 128
  end
end
local function outcome_of(blob)
  if not blob then return 0 end
  local i, n = 1, #blob
  while i <= n do
    local tag, value
    tag, i = varint(blob, i)
    if tag == nil then return -1 end
    local wire = tag % 8
    value, i = varint(blob, i)
    if value == nil then return -1 end
    if wire == 0 then
      if math.floor(tag / 8) == 4 then return value end
    elseif wire == 2 then
      i = i + value
    else
      return -1
    end
  end
  return 0
end
"""

# ARGV[a] = the nonce of this take, then pairs (call index, in-flight outcome blob).
# Writes a call's blob (and the nonce, in `k:<index>`) only if its stored outcome is
# retryable. Returns the indexes taken (or already taken by this very take, retried
# after a lost reply).
_TAKE = LuaScript(
    _APPLY_OUTCOMES
    + _OUTCOME_OF
    + f"""
local nonce = ARGV[a]
local taken = {{}}
for j = a + 1, #ARGV, 2 do
  local idx = ARGV[j]
  if redis.call('HEXISTS', key, 'p:' .. idx) == 1 then
    local current = outcome_of(redis.call('HGET', key, 'o:' .. idx))
    if current == {int(pb.CALL_OUTCOME_NOT_SENT)} or current == {int(pb.CALL_OUTCOME_REJECTED)} then
      redis.call('HSET', key, 'o:' .. idx, ARGV[j + 1], 'k:' .. idx, nonce)
      taken[#taken + 1] = idx
    elseif redis.call('HGET', key, 'k:' .. idx) == nonce then
      taken[#taken + 1] = idx
    end
  end
end
return taken
""",
    "idempotency take calls",
)

_Outcome = tuple[str, int, bytes]
"""(request_id, call index, outcome blob)"""

_MAX_QUEUED_OUTCOMES = 100_000
"""Outcomes kept for a retry while Redis is down; beyond that the oldest are dropped (their
calls stay "in flight": reported unknown, never sent again)."""
_RETRY_FIRST_SECONDS = 0.1
_RETRY_MAX_SECONDS = 5.0
_CLOSE_SECONDS = 5.0
"""How long `close` keeps trying to write the queued outcomes."""
_OUTCOME_LINGER_SECONDS = 0.02
"""How long a recorded outcome waits for a script to travel with. This process reads it
at once (its scripts carry what is queued); other replicas read "in flight" meanwhile
(a duplicate there waits for it), and a crash turns it into "unknown", never a resend."""


class RedisIdempotencyStore:
    """`IdempotencyStore` on Redis: records keyed by request_id, live for `ttl_seconds`.

    `clock` (seconds, wall clock) makes every liveness decision; Redis expires a
    record's key `ttl_seconds + expiry_margin_seconds` after its claim. The client
    belongs to the caller (`close` does not close it).
    """

    def __init__(
        self,
        client: Client,
        keys: RedisKeys,
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.time,
        wait: ReplicaWait | None = None,
        expiry_margin_seconds: float = 60.0,
    ) -> None:
        self._client = client
        self._keys = keys
        self._ttl = ttl_seconds
        self._clock = clock
        self._wait = wait
        self._expiry_ms = max(1, int((ttl_seconds + expiry_margin_seconds) * 1000))
        self._outcomes: list[_Outcome] = []
        self._flusher: asyncio.Task[None] | None = None
        # request_id -> completion of the script carrying its latest queued outcomes.
        self._inflight: dict[str, asyncio.Future[None]] = {}

    def __repr__(self) -> str:
        return f"RedisIdempotencyStore(prefix={self._keys.prefix!r}, ttl={self._ttl})"

    def _key(self, request_id: str) -> str:
        return self._keys.idempotency("req", request_id)

    async def open(self) -> None:
        """Nothing to create (scripts load on first use); idempotent."""

    async def close(self) -> None:
        """Write the queued outcomes, trying for at most `_CLOSE_SECONDS` (what is still not
        written then stays "in flight"); the client stays open."""
        if self._outcomes and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush())
        flusher = self._flusher
        if flusher is None:
            return
        done, _ = await asyncio.wait([flusher], timeout=_CLOSE_SECONDS)
        if not done:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            log.error(
                "%d send outcomes not recorded at shutdown (Redis unavailable); "
                "those calls stay 'in flight'",
                len(self._outcomes),
            )

    async def _run(
        self,
        script: LuaScript,
        request_id: str | None,
        args: list[EncodedArg],
        *,
        wait: ReplicaWait | None = None,
        own: _Outcome | None = None,
    ) -> Any:
        # Outcomes already on their way for this record land first: reading or
        # rewriting it must not overtake what this process already knows. `own`
        # travels in this very script, never in a concurrent one that could
        # finish after this call returns.
        while request_id is not None and (prior := self._inflight.get(request_id)) is not None:
            await asyncio.wait([prior])
        outcomes, self._outcomes = self._outcomes, []
        if own is not None:
            outcomes.append(own)
        keys: list[EncodedArg] = [self._key(rid) for rid, _, _ in outcomes]
        argv: list[EncodedArg] = [len(outcomes)]
        for _, index, blob in outcomes:
            argv += [index, blob]
        keys.append(self._key(request_id) if request_id is not None else self._keys.idempotency())
        if not outcomes:
            return await script.run(self._client, keys, argv + args, wait=wait)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        carried = {rid for rid, _, _ in outcomes}
        for rid in carried:
            self._inflight[rid] = done
        try:
            return await script.run(self._client, keys, argv + args, wait=wait)
        except StoreUnavailableError:
            # The queued outcomes travel again (the flusher retries them until Redis
            # answers); `own` is the caller's to retry or not.
            self._requeue([o for o in outcomes if o is not own])
            raise
        finally:
            done.set_result(None)
            for rid in carried:
                if self._inflight.get(rid) is done:
                    del self._inflight[rid]

    async def get(self, request_id: str) -> SendRecord | None:
        """The live record of a request_id, or None (expired records do not count)."""
        oldest = self._clock() - self._ttl
        reply = await self._run(_GET, request_id, [repr(oldest)])
        return None if reply is None else _record(request_id, reply)

    async def claim(
        self, request_id: str, fingerprint: bytes, response: pb.SendSmsResponse
    ) -> SendRecord | None:
        """Record a new send with its planned calls, atomically with the lookup (one script).

        Returns None when the send is new (now recorded), or the live record that
        already holds this request_id (nothing written).
        """
        now = self._clock()
        header = pb.SendSmsResponse()
        header.CopyFrom(response)
        del header.calls[:]
        args: list[EncodedArg] = [
            repr(now - self._ttl),
            repr(now),
            self._expiry_ms,
            secrets.token_hex(8),
            fingerprint,
            header.SerializeToString(),
        ]
        for call in response.calls:
            args += [call.index, ",".join(call.phone_numbers), _outcome_blob(call)]
        reply = await self._run(_CLAIM, request_id, args, wait=self._wait)
        return _record(request_id, reply) if isinstance(reply, list) else None

    async def update_call(self, request_id: str, call: pb.UpstreamCall) -> None:
        """Record one call's state (outcome, bizId, code, message); durable when this returns."""
        own = (request_id, call.index, _outcome_blob(call))
        await self._run(_APPLY, request_id, [], wait=self._wait, own=own)

    async def take_calls(self, request_id: str, calls: Sequence[pb.UpstreamCall]) -> set[int]:
        """Write each call (in flight) only if its stored outcome is retryable (not sent,
        rejected), all in one script; the indexes this caller took, and then only once
        enough replicas have the write (with a `ReplicaWait`)."""
        args: list[EncodedArg] = [secrets.token_hex(8)]
        for call in calls:
            args += (call.index, _outcome_blob(call))
        reply = await self._run(_TAKE, request_id, args, wait=self._wait)
        return {int(idx) for idx in reply or ()}

    def record_outcome(self, request_id: str, call: pb.UpstreamCall) -> None:
        """Record a finished call's outcome soon, batched with others; not awaited.

        Until it is written the call stays "in flight" (unknown) in Redis, so a
        crash in between makes a retry report it as unknown: never sent twice.
        """
        self._outcomes.append((request_id, call.index, _outcome_blob(call)))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(linger=_OUTCOME_LINGER_SECONDS))

    def _requeue(self, outcomes: list[_Outcome]) -> None:
        """Put outcomes that were not written back in front of the queue (bounded), and
        make sure the flusher retries them."""
        if not outcomes:
            return
        self._outcomes[:0] = outcomes
        excess = len(self._outcomes) - _MAX_QUEUED_OUTCOMES
        if excess > 0:
            del self._outcomes[:excess]
            log.error("dropped %d unrecorded send outcomes; those calls stay 'in flight'", excess)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self, linger: float = 0.0) -> None:
        """Write the queued outcomes; while Redis is unavailable, retry with backoff.

        `linger`: wait that long first, so that the outcomes of the sends finishing
        meanwhile share one script, and most travel with the next claim anyway (every
        script of this store carries what is queued)."""
        if linger:
            await asyncio.sleep(linger)
        pause = _RETRY_FIRST_SECONDS
        while self._outcomes:
            try:
                await self._run(_APPLY, None, [])
            except StoreUnavailableError as exc:
                log.warning(
                    "recording %d send outcomes failed; retrying in %.1f s: %s",
                    len(self._outcomes),
                    pause,
                    exc,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RETRY_MAX_SECONDS)
            except Exception:
                log.exception("recording send outcomes failed; they stay 'in flight'")
            else:
                pause = _RETRY_FIRST_SECONDS
                if linger and self._outcomes:
                    # What finished during that write waits for company too (and most
                    # of it travels with the next claims meanwhile).
                    await asyncio.sleep(linger)

    async def prune(self) -> int:
        """Nothing to do: Redis expires the records itself; always 0."""
        return 0


def _outcome_blob(call: pb.UpstreamCall) -> bytes:
    return pb.UpstreamCall(
        outcome=call.outcome,
        biz_id=call.biz_id,
        provider_code=call.provider_code,
        message=call.message,
    ).SerializeToString()


def _record(request_id: str, reply: list[bytes]) -> SendRecord:
    fields = dict(zip(reply[::2], reply[1::2], strict=True))
    response = pb.SendSmsResponse.FromString(fields[b"h"])
    indexes = sorted(int(name[2:]) for name in fields if name.startswith(b"p:"))
    for index in indexes:
        call = response.calls.add()
        call.MergeFromString(fields.get(b"o:%d" % index, b""))
        call.index = index
        numbers = fields[b"p:%d" % index].decode()
        if numbers:
            call.phone_numbers.extend(numbers.split(","))
    return SendRecord(request_id, fields[b"fp"], response)
