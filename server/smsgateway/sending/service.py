"""Idempotent execution of a validated send: suppression, batching, provider calls.

One `SendService` per process. A send runs as a task of its own (shielded from
the caller's cancellation, bounded by the deadline it was given) so that its
record always ends consistent; a concurrent duplicate of a running request_id
waits for that task instead of executing again.
"""

from __future__ import annotations

import asyncio
import hashlib
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
from smsgateway.sending.ports import IdempotencyStore, SendLog, Suppressions
from smsgateway.upstream import errors as upstream
from smsgateway.upstream.client import ProviderClient
from smsgateway.v1 import smsgateway_pb2 as pb

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
# Calls a retry may make again: nothing of them reached a handset.
_RETRYABLE = (pb.CALL_OUTCOME_NOT_SENT, pb.CALL_OUTCOME_REJECTED)
_IN_FLIGHT = "in flight"
_IN_FLIGHT_WAIT_SECONDS = 15.0
"""How long a duplicate waits at most (within its deadline) for calls that another replica
has in flight: longer than a provider call may take (10 s by default)."""


@dataclass(frozen=True, slots=True)
class SendPlan:
    """A validated, normalised send."""

    method: str
    """The RPC name, for metrics and the fingerprint."""
    request_id: str
    fingerprint: bytes
    """Identity of the request apart from its request_id."""
    phone_numbers: tuple[str, ...]
    """Distinct 11-digit numbers, in the caller's order."""
    sign: str
    content: str
    """The content as sent, 【sign】 included."""
    kind: int
    """A `pb.SmsKind` value."""
    segments: int
    template_id: str | None = None
    params_json: str | None = None
    caller: str = ""
    """Who sends (callers-file name; "" without callers): limits, send log, metrics."""

    @staticmethod
    def fingerprint_of(request: pb.SendSmsRequest | pb.SendTemplateSmsRequest) -> bytes:
        """Hash of the request's type and fields, request_id left out."""
        copy: Any = type(request)()
        copy.CopyFrom(request)
        copy.request_id = ""
        digest = hashlib.sha256(request.DESCRIPTOR.full_name.encode())
        digest.update(copy.SerializeToString(deterministic=True))
        return digest.digest()


class SendFailedError(Exception):
    """Not every provider call of a send was accepted; `response` says which were."""

    def __init__(self, response: pb.SendSmsResponse) -> None:
        failed = response.failed_count + response.unknown_count
        super().__init__(
            f"{failed} of {response.recipient_count} recipients were not accepted by the provider"
        )
        self.response = response


class RequestIdConflictError(Exception):
    """The same request_id was used for a different request."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"request_id {request_id!r} was already used for a different request")
        self.request_id = request_id


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
        self._sent_log = _SentLog(send_log)

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
                raise SendFailedError(_replayed(exc.response)) from None
            return _replayed(response)
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
        _count_recipients(response)
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
            _mark_in_flight(call)
        record = await self._idempotency.claim(plan.request_id, plan.fingerprint, response)
        if record is None:
            pending, marked = list(response.calls), {c.index for c in premarked}
            metrics.SUPPRESSED.inc(len(response.suppressed_phone_numbers))
        else:
            if admission is not None and self._limiter is not None:
                # Not a new send after all: give back what its admission consumed.
                await self._limiter.release(admission)
            if record.fingerprint != plan.fingerprint:
                raise RequestIdConflictError(plan.request_id)
            response = record.response
            if _in_flight(response):
                # Another replica runs this request_id now: wait until its calls landed.
                # A record with nothing in flight may still have calls that replica is
                # about to make (it sends them one by one): what is left goes through
                # `take_calls` below, so each is sent once, by whoever takes it first.
                response = await self._landed(plan.request_id, response, deadline)
            pending, marked = [c for c in response.calls if c.outcome in _RETRYABLE], set()
            if not pending:
                metrics.IDEMPOTENT_REPLAYS.labels(plan.method).inc()
                return _finish(_replayed(response))

        limit = asyncio.Semaphore(self._max_concurrent_calls)
        accepted: list[SentBatch] = []
        skipped: set[int] = set()

        taker = _CallTaker(
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
                response = _replayed(response)
        return _finish(response)

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
        while _in_flight(response) and time.monotonic() + pause < give_up:
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
        taker: _CallTaker | None,
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
            outcome = _OUTCOME_LABELS.get(call.outcome, "unknown")
            metrics.BATCHES.labels(kind, outcome).inc()
            metrics.RECIPIENTS.labels(kind, outcome).inc(len(call.phone_numbers))
            # `caller` is bounded by the callers file ("anonymous" without one).
            metrics.CALLER_RECIPIENTS.labels(plan.caller or "anonymous", kind, outcome).inc(
                len(call.phone_numbers)
            )
            if call.outcome == pb.CALL_OUTCOME_ACCEPTED:
                metrics.SEGMENTS.labels(kind).inc(plan.segments * len(call.phone_numbers))


_TAKE_GROUP = 32
"""Calls taken from the store in one operation. A crash marks at most this many calls
"in flight" that never left (a retry reports them unknown, never sends them), as the
calls recorded with the claim; 800 provider calls take 25 store operations, not 800."""


class _CallTaker:
    """Takes a send's remaining calls from the store ahead of sending them, in groups:
    each call durably "in flight" for this process before its request leaves, or
    skipped when another process took it first."""

    def __init__(
        self, store: IdempotencyStore, request_id: str, calls: Sequence[pb.UpstreamCall]
    ) -> None:
        self._store = store
        self._request_id = request_id
        self._calls = list(calls)
        self._position = {c.index: i for i, c in enumerate(self._calls)}
        self._groups: dict[int, asyncio.Future[set[int]]] = {}

    async def take(self, call: pb.UpstreamCall) -> bool:
        """True once `call` is this process's to send (durably in flight)."""
        group = self._groups.get(call.index)
        if group is None:
            start = self._position[call.index]
            chunk = [
                c for c in self._calls[start : start + _TAKE_GROUP] if c.index not in self._groups
            ]
            for c in chunk:
                _mark_in_flight(c)
            group = asyncio.ensure_future(self._store.take_calls(self._request_id, chunk))
            for c in chunk:
                self._groups[c.index] = group
        # shield: one call's cancellation must not fail the others of its group.
        return call.index in await asyncio.shield(group)


def _mark_in_flight(call: pb.UpstreamCall) -> None:
    call.outcome = pb.CALL_OUTCOME_UNKNOWN
    call.message = _IN_FLIGHT


def _in_flight(response: pb.SendSmsResponse) -> bool:
    """True while a call of the record is marked in flight (being sent, or its sender died)."""
    return any(
        c.outcome == pb.CALL_OUTCOME_UNKNOWN and c.message == _IN_FLIGHT for c in response.calls
    )


_SENT_LOG_LINGER_SECONDS = 0.02
"""How long accepted calls wait to be recorded together (a report that arrives first
gets its sign when the record lands)."""


class _SentLog:
    """Records accepted calls in the event store in the background; sends that finish
    while a write is under way share the next one.

    The record only serves GetSendStatus and the sign filter of reports, so it
    need not delay the caller's answer (it lands within milliseconds).
    """

    def __init__(self, store: SendLog) -> None:
        self._store = store
        self._pending: list[SentBatch] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, batches: Sequence[SentBatch]) -> None:
        if not batches:
            return
        self._pending.extend(batches)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        # Linger so that the sends finishing meanwhile share one write (one commit
        # and, on SQLite, one fsync for dozens of sends instead of one each).
        await asyncio.sleep(_SENT_LOG_LINGER_SECONDS)
        while self._pending:
            batches, self._pending = self._pending, []
            try:
                await self._store.record_sends(batches)
            except Exception:
                log.exception("recording %d accepted calls failed", len(batches))

    async def close(self) -> None:
        if self._task is not None:
            await self._task


def _replayed(response: pb.SendSmsResponse) -> pb.SendSmsResponse:
    copy = pb.SendSmsResponse()
    copy.CopyFrom(response)
    copy.replayed = True
    return copy


def _finish(response: pb.SendSmsResponse) -> pb.SendSmsResponse:
    """Fill in the totals; raise `SendFailedError` unless every call was accepted."""
    _count_recipients(response)
    if response.failed_count or response.unknown_count:
        raise SendFailedError(response)
    return response


def _count_recipients(response: pb.SendSmsResponse) -> None:
    accepted = failed = unknown = 0
    for call in response.calls:
        n = len(call.phone_numbers)
        if call.outcome == pb.CALL_OUTCOME_ACCEPTED:
            accepted += n
        elif call.outcome == pb.CALL_OUTCOME_UNKNOWN:
            unknown += n
        else:
            failed += n
    response.accepted_count = accepted
    response.failed_count = failed
    response.unknown_count = unknown
