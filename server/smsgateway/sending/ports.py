"""The storage ports of `sending/`: idempotency records, the send log, suppressions.

Backends implement them (`smsgateway.backends.*`); only `app.py` picks one.
Every method raises `smsgateway.store_errors.StoreUnavailableError` when the
store cannot serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from smsgateway.events.model import SentBatch, StoredReport, Suppression
from smsgateway.v1 import smsgateway_pb2 as pb


@dataclass(frozen=True, slots=True)
class SendRecord:
    """What is remembered of one request_id."""

    request_id: str
    fingerprint: bytes
    response: pb.SendSmsResponse
    """The response as last recorded: header fields and every call (totals not filled in)."""


class IdempotencyStore(Protocol):
    """Records of sends by request_id (AIP-155), kept for a TTL.

    A provider call is recorded as `CALL_OUTCOME_UNKNOWN` (in flight) *before* it is
    made (by `claim`, or by `take_calls`) and rewritten with its real outcome after; a
    record whose writer died therefore says "unknown" and a retry never repeats that
    call. `claim` and `take_calls` are atomic across every process sharing the store,
    so no two processes ever send the same call.
    """

    async def open(self) -> None:
        """Connect and create what the store needs; idempotent."""
        ...

    async def close(self) -> None:
        """Finish pending writes and release resources."""
        ...

    async def get(self, request_id: str) -> SendRecord | None:
        """The live record of a request_id, or None (expired records do not count)."""
        ...

    async def claim(
        self, request_id: str, fingerprint: bytes, response: pb.SendSmsResponse
    ) -> SendRecord | None:
        """Record a new send with its planned calls, atomically with the lookup.

        Returns None when the send is new (now recorded), or the live record that
        already holds this request_id (nothing written).
        """
        ...

    async def update_call(self, request_id: str, call: pb.UpstreamCall) -> None:
        """Record one call's state; durable when this returns."""
        ...

    async def take_calls(self, request_id: str, calls: Sequence[pb.UpstreamCall]) -> set[int]:
        """Mark calls in flight for this caller, each atomically with the check that it is free.

        Writes each call as given (the caller set it to `CALL_OUTCOME_UNKNOWN`, "in flight")
        only if its stored outcome is `CALL_OUTCOME_NOT_SENT` or `CALL_OUTCOME_REJECTED`.
        Returns the indexes of the calls this caller took (it is now the only one that may
        send them); a call is not taken when another process took it first, when it is
        accepted or unknown already, or when the record or call does not exist (nothing
        written for it). One store operation for all of `calls`; atomic per call across
        every process sharing the store; durable when it returns.
        """
        ...

    def record_outcome(self, request_id: str, call: pb.UpstreamCall) -> None:
        """Record a finished call's outcome soon, batched with others; not awaited.

        Until it is written the call stays "in flight" (unknown) in the store.
        """
        ...

    async def prune(self) -> int:
        """Forget records older than the TTL; return how many (0 where the store expires them)."""
        ...


class SendLog(Protocol):
    """Accepted provider calls by bizId, and the per-number status they reached."""

    async def record_sends(self, batches: Sequence[SentBatch]) -> None:
        """Remember accepted provider calls (bizId → numbers, sign, kind)."""
        ...

    async def sent_batch(self, biz_id: str) -> SentBatch | None:
        """The recorded provider call, if any."""
        ...

    async def latest_reports(self, biz_id: str) -> dict[str, StoredReport]:
        """The newest report per phone number of a bizId (by report time, then arrival)."""
        ...


class Suppressions(Protocol):
    """Numbers that opted out of a sign's marketing messages."""

    async def add_suppression(self, sign: str, phone_number: str, reason: str) -> Suppression:
        """Suppress a number for a sign (idempotent; keeps the first record)."""
        ...

    async def remove_suppression(self, sign: str, phone_number: str) -> bool:
        """Lift a suppression; True when there was one."""
        ...

    async def list_suppressions(
        self, sign: str, after: tuple[str, str] | None, limit: int
    ) -> list[Suppression]:
        """Suppressions ordered by (sign, phone), after the given key ("" sign = every sign)."""
        ...

    async def suppressed(self, sign: str, phone_numbers: Sequence[str]) -> set[str]:
        """Which of these numbers are suppressed for the sign (or for every sign, sign "")."""
        ...
