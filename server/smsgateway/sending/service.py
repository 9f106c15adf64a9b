"""Idempotent execution of a validated send: suppression, batching, provider calls.

One `SendService` per process. A send runs as a task of its own (shielded from
the caller's cancellation, bounded by the deadline it was given) so that its
record always ends consistent; a concurrent duplicate of a running request_id
waits for that task instead of executing again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf import duration_pb2

from smsgateway.events.model import SentBatch, StoredReport
from smsgateway.messaging import plan_batches
from smsgateway.observability import metrics
from smsgateway.security.ports import Admission, LimitExceededError, SendLimiter
from smsgateway.sending.calls import (
    CallTaker,
    count_recipients,
    finish,
    in_flight,
    mark_in_flight,
    replayed,
)
from smsgateway.sending.plan import RequestIdConflictError, SendFailedError, SendPlan
from smsgateway.sending.ports import IdempotencyStore, SendLog, Suppressions
from smsgateway.sending.sent_log import SentLogWriter
from smsgateway.upstream import errors as upstream
from smsgateway.upstream.client import ProviderClient
from smsgateway.v1 import smsgateway_pb2 as pb

__all__ = ["RequestIdConflictError", "SendFailedError", "SendPlan", "SendService"]

log = logging.getLogger(__name__)

_KIND_LABELS: dict[int, str] = {
    pb.SMS_KIND_UNSPECIFIED: "unspecified",
    pb.SMS_KIND_VERIFICATION_CODE: "verification_code",
    pb.SMS_KIND_NOTICE: "notice",
    pb.SMS_KIND_MARKETING: "marketing",
}
_OUTCOME_LABELS: dict[int, str] = {
    pb.CALL_OUTCOME_ACCEPTED: "accepted",
    pb.CALL_OUTCOME_REJECTED: "rejected",
    pb.CALL_OUTCOME_NOT_SENT: "not_sent",
    pb.CALL_OUTCOME_UNKNOWN: "unknown",
}
_Counters = tuple[Any, Any, Any, Any]
_COUNTERS: dict[tuple[str, str, str], _Counters] = {}
_MAX_COUNTERS = 4096
"""Cached metric children (kind x outcome x caller; callers are bounded by the callers
file, and the cache is emptied when a reloaded file brought too many)."""


def _counters(kind: str, outcome: str, caller: str) -> _Counters:
    """The send counters of one label combination (`labels()` costs a lock and a
    lookup per call; these are looked up once)."""
    key = (kind, outcome, caller)
    found = _COUNTERS.get(key)
    if found is None:
        if len(_COUNTERS) >= _MAX_COUNTERS:
            _COUNTERS.clear()
        found = _COUNTERS[key] = (
            metrics.BATCHES.labels(kind, outcome),
            metrics.RECIPIENTS.labels(kind, outcome),
            metrics.CALLER_RECIPIENTS.labels(caller, kind, outcome),
            metrics.SEGMENTS.labels(kind),
        )
    return found


# Calls a retry may make again: nothing of them reached a handset.
_RETRYABLE = (pb.CALL_OUTCOME_NOT_SENT, pb.CALL_OUTCOME_REJECTED)
_PAST_DEADLINE_SECONDS = 0.25
"""How long a provider call that left may outlive its caller's deadline. The caller's own
deadline comes first, so it always gets `DEADLINE_EXCEEDED` (never, by a race of a few
milliseconds, the gateway's "no answer" a moment before it), and an answer arriving just
after is still recorded for `GetSend` and retries instead of "unknown"."""
_IN_FLIGHT_WAIT_SECONDS = 15.0
"""How long a duplicate waits at most (within its deadline) for calls that another replica
has in flight: longer than a provider call may take (10 s by default)."""


@dataclass(slots=True)
class _Running:
    fingerprint: bytes
    task: asyncio.Future[pb.SendSmsResponse]


class SendService:
    """Runs sends exactly once per request_id."""

    def __init__(
        self,
        client: ProviderClient,
        idempotency: IdempotencyStore,
        send_log: SendLog,
        suppressions: Suppressions,
        *,
        max_concurrent_calls: int = 8,
        limiter: SendLimiter | None = None,
    ) -> None:
        """`limiter`: rate limits, quotas, the per-number guard and the provider ceiling
        (None: no limits)."""
        self._client = client
        self._limiter = limiter
        self._idempotency = idempotency
        self._suppressions = suppressions
        self._max_concurrent_calls = max_concurrent_calls
        self._running: dict[str, _Running] = {}
        self._send_log = send_log
        self._sent_log = SentLogWriter(send_log)

    async def close(self) -> None:
        """Finish background writes (call after the gRPC server stopped)."""
        await self._sent_log.close()

    async def send(self, plan: SendPlan, deadline: float | None) -> pb.SendSmsResponse:
        """Send, or replay the earlier answer; raise `SendFailedError` on partial failure."""
        running = self._running.get(plan.request_id)
        if running is not None:
            if running.fingerprint != plan.fingerprint:
                raise RequestIdConflictError(plan.request_id)
            metrics.IDEMPOTENT_REPLAYS.labels(plan.method).inc()
            try:
                response = await asyncio.shield(running.task)
            except SendFailedError as exc:
                raise SendFailedError(replayed(exc.response)) from None
            return replayed(response)
        task = asyncio.ensure_future(self._execute(plan, deadline))
        self._running[plan.request_id] = _Running(plan.fingerprint, task)
        task.add_done_callback(lambda done: self._finished(plan.request_id, done))
        return await asyncio.shield(task)

    def _finished(self, request_id: str, task: asyncio.Future[pb.SendSmsResponse]) -> None:
        self._running.pop(request_id, None)
        # A caller that gave up (deadline, cancel) no longer awaits the task: retrieve
        # its outcome here, so that asyncio never logs "Task exception was never
        # retrieved". The outcome is in the idempotency record either way (GetSend).
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, SendFailedError | RequestIdConflictError):
            log.warning("send %s ended with %s", request_id, type(exc).__name__)

    async def stored_send(self, request_id: str) -> pb.SendSmsResponse | None:
        """The stored result of a send, totals filled in; None when the request_id is
        unknown or expired. Calls still in flight read `CALL_OUTCOME_UNKNOWN`."""
        record = await self._idempotency.get(request_id)
        if record is None:
            return None
        response = pb.SendSmsResponse()
        response.CopyFrom(record.response)
        count_recipients(response)
        return response

    async def latest_reports(self, biz_id: str) -> dict[str, StoredReport]:
        """The newest delivery report per phone number of one accepted call."""
        return await self._send_log.latest_reports(biz_id)

    async def _execute(self, plan: SendPlan, deadline: float | None) -> pb.SendSmsResponse:
        admission: Admission | None = None
        try:
            response, admission = await self._plan(plan, limits=True)
        except LimitExceededError:
            # A retry of a send that already went out is answered from its record
            # (claim finds it below), whatever the limits say now.
            if await self._idempotency.get(plan.request_id) is None:
                raise
            response, _ = await self._plan(plan, limits=False)
        # The first calls start at once: record them "in flight" together with
        # the claim, which saves a durable write per call on the common path.
        premarked = response.calls[: self._max_concurrent_calls]
        for call in premarked:
            mark_in_flight(call)
        record = await self._idempotency.claim(plan.request_id, plan.fingerprint, response)
        if record is None:
            pending, marked = list(response.calls), {c.index for c in premarked}
            if response.suppressed_phone_numbers:
                metrics.SUPPRESSED.inc(len(response.suppressed_phone_numbers))
        else:
            if admission is not None and self._limiter is not None:
                # Not a new send after all: give back what its admission consumed.
                await self._limiter.release(admission)
            if record.fingerprint != plan.fingerprint:
                raise RequestIdConflictError(plan.request_id)
            response = record.response
            if in_flight(response):
                # Another replica runs this request_id now: wait until its calls landed.
                # A record with nothing in flight may still have calls that replica is
                # about to make (it sends them one by one): what is left goes through
                # `take_calls` below, so each is sent once, by whoever takes it first.
                response = await self._landed(plan.request_id, response, deadline)
            pending, marked = [c for c in response.calls if c.outcome in _RETRYABLE], set()
            if not pending:
                metrics.IDEMPOTENT_REPLAYS.labels(plan.method).inc()
                return finish(replayed(response))

        limit = asyncio.Semaphore(self._max_concurrent_calls)
        accepted: list[SentBatch] = []
        skipped: set[int] = set()

        taker = CallTaker(
            self._idempotency, plan.request_id, [c for c in pending if c.index not in marked]
        )

        async def run(call: pb.UpstreamCall) -> None:
            async with limit:
                if not await self._call(
                    plan, call, deadline, taker=None if call.index in marked else taker
                ):
                    skipped.add(call.index)
                    return
            if call.outcome == pb.CALL_OUTCOME_ACCEPTED:
                accepted.append(
                    SentBatch(
                        call.biz_id,
                        tuple(call.phone_numbers),
                        plan.sign,
                        plan.kind,
                        datetime.now(UTC),
                        plan.caller,
                    )
                )

        if len(pending) == 1:  # the common single-call send: no task of its own
            await run(pending[0])
        else:
            await asyncio.gather(*(run(call) for call in pending))
        self._sent_log.add(accepted)
        self._count(plan, [c for c in pending if c.index not in skipped])
        if skipped:
            # Another process sends some of these calls: answer from the record once they
            # landed, not from this process's partial view (where they read "in flight").
            response = await self._landed(plan.request_id, response, deadline)
            if len(skipped) == len(pending):  # this process sent nothing: a replay
                metrics.IDEMPOTENT_REPLAYS.labels(plan.method).inc()
                response = replayed(response)
        return finish(response)

    async def _landed(
        self, request_id: str, response: pb.SendSmsResponse, deadline: float | None
    ) -> pb.SendSmsResponse:
        """The record once none of its calls is in flight any more, or as it stands when the
        deadline (or `_IN_FLIGHT_WAIT_SECONDS`) comes first: a call whose sender died stays
        in flight, and is then answered as unknown, never sent again."""
        give_up = time.monotonic() + _IN_FLIGHT_WAIT_SECONDS
        if deadline is not None:
            give_up = min(give_up, deadline - 0.05)
        pause = 0.01
        while in_flight(response) and time.monotonic() + pause < give_up:
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.2)
            record = await self._idempotency.get(request_id)
            if record is None:
                break
            response = record.response
        return response

    async def _plan(
        self, plan: SendPlan, *, limits: bool
    ) -> tuple[pb.SendSmsResponse, Admission | None]:
        numbers: Sequence[str] = plan.phone_numbers
        suppressed: list[str] = []
        if plan.kind == pb.SMS_KIND_MARKETING:
            blocked = await self._suppressions.suppressed(plan.sign, numbers)
            if blocked:
                suppressed = [n for n in numbers if n in blocked]
                numbers = [n for n in numbers if n not in blocked]
        admission: Admission | None = None
        if limits and self._limiter is not None and numbers:
            # Raises LimitExceededError (nothing consumed) when the whole send is refused.
            admission = await self._limiter.admit(plan.caller, plan.request_id, plan.kind, numbers)
            if admission.limited:
                left_out = {r.phone_number for r in admission.limited}
                numbers = [n for n in numbers if n not in left_out]
        response = pb.SendSmsResponse(
            request_id=plan.request_id,
            recipient_count=len(plan.phone_numbers),
            suppressed_phone_numbers=suppressed,
            segments_per_message=plan.segments,
            content=plan.content,
        )
        for limited in admission.limited if admission is not None else ():
            wait = duration_pb2.Duration()
            wait.FromNanoseconds(int(limited.retry_after * 1e9))
            response.violations.add(
                phone_number=limited.phone_number,
                reason=limited.reason,
                description=limited.description,
                retry_delay=wait,
            )
        for index, batch in enumerate(plan_batches(numbers)):
            response.calls.add(index=index, phone_numbers=batch, outcome=pb.CALL_OUTCOME_NOT_SENT)
        return response, admission

    async def _call(
        self,
        plan: SendPlan,
        call: pb.UpstreamCall,
        deadline: float | None,
        *,
        taker: CallTaker | None,
    ) -> bool:
        """Make one provider call and record its outcome; True when this process ran it
        (`call` holds its outcome), False when another process had taken it (nothing
        sent; `call` stays "in flight" here, the store has the taker's outcome).
        `taker` None: the call was recorded in flight with the claim already."""
        # Durably "unknown" before the request leaves: a crash from here on
        # must never lead to sending this call again. Taken only while no other
        # process has taken it (a duplicate or retry on another replica).
        if taker is not None and not await taker.take(call):
            return False
        if self._limiter is not None and not await self._limiter.provider_slot(deadline):
            call.outcome = pb.CALL_OUTCOME_NOT_SENT
            call.message = "not sent: no slot under the provider ceiling before the deadline"
            # Recorded "in flight" (with the claim or taken): record that it never left.
            self._idempotency.record_outcome(plan.request_id, call)
            return True
        if deadline is not None and time.monotonic() < deadline:
            deadline += _PAST_DEADLINE_SECONDS  # (a call not started by then never starts)
        try:
            if plan.template_id is not None:
                receipt = await self._client.send_template(
                    phone_numbers=call.phone_numbers,
                    sign=plan.sign,
                    template_id=plan.template_id,
                    param_json=plan.params_json or "",
                    content=plan.content,
                    deadline=deadline,
                )
            else:
                receipt = await self._client.send(
                    phone_numbers=call.phone_numbers,
                    sign=plan.sign,
                    content=plan.content,
                    kind=plan.kind or None,
                    deadline=deadline,
                )
        except upstream.ProviderRejectedError as exc:
            call.outcome = pb.CALL_OUTCOME_REJECTED
            call.provider_code = exc.code
            call.message = exc.provider_message
        except (upstream.NotSentError, upstream.TokenRejectedError) as exc:
            call.outcome = pb.CALL_OUTCOME_NOT_SENT
            call.message = str(exc)
        except upstream.UpstreamError as exc:
            call.outcome = pb.CALL_OUTCOME_UNKNOWN
            call.message = str(exc)
        except asyncio.CancelledError:
            call.message = "cancelled while in flight; outcome unknown"
            self._idempotency.record_outcome(plan.request_id, call)
            raise
        else:
            call.outcome = pb.CALL_OUTCOME_ACCEPTED
            call.biz_id = receipt.biz_id
            call.provider_code = receipt.code
            call.message = receipt.message
        self._idempotency.record_outcome(plan.request_id, call)
        if call.outcome != pb.CALL_OUTCOME_ACCEPTED:
            log.warning(
                "provider call %d of request %s: %s (%s)",
                call.index,
                plan.request_id,
                _OUTCOME_LABELS[call.outcome],
                call.message,
            )
        return True

    @staticmethod
    def _count(plan: SendPlan, calls: Sequence[pb.UpstreamCall]) -> None:
        kind = _KIND_LABELS.get(plan.kind, "unspecified")
        for call in calls:
            batches, recipients, by_caller, segments = _counters(
                kind, _OUTCOME_LABELS.get(call.outcome, "unknown"), plan.caller or "anonymous"
            )
            n = len(call.phone_numbers)
            batches.inc()
            recipients.inc(n)
            by_caller.inc(n)
            if call.outcome == pb.CALL_OUTCOME_ACCEPTED:
                segments.inc(plan.segments * n)
