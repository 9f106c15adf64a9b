"""A send's provider calls as the store records them: "in flight" marks, taking calls
in groups, and the totals of a response."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from smsgateway.sending.plan import SendFailedError
from smsgateway.sending.ports import IdempotencyStore
from smsgateway.v1 import smsgateway_pb2 as pb

__all__ = [
    "IN_FLIGHT",
    "CallTaker",
    "count_recipients",
    "finish",
    "in_flight",
    "mark_in_flight",
    "replayed",
]

IN_FLIGHT = "in flight"
"""The message of a call recorded before its request left (its outcome reads unknown)."""


_TAKE_GROUP = 32
"""Calls taken from the store in one operation. A crash marks at most this many calls
"in flight" that never left (a retry reports them unknown, never sends them), as the
calls recorded with the claim; 800 provider calls take 25 store operations, not 800."""


class CallTaker:
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
                mark_in_flight(c)
            group = asyncio.ensure_future(self._store.take_calls(self._request_id, chunk))
            for c in chunk:
                self._groups[c.index] = group
        # shield: one call's cancellation must not fail the others of its group.
        return call.index in await asyncio.shield(group)


def mark_in_flight(call: pb.UpstreamCall) -> None:
    call.outcome = pb.CALL_OUTCOME_UNKNOWN
    call.message = IN_FLIGHT


def in_flight(response: pb.SendSmsResponse) -> bool:
    """True while a call of the record is marked in flight (being sent, or its sender died)."""
    return any(
        c.outcome == pb.CALL_OUTCOME_UNKNOWN and c.message == IN_FLIGHT for c in response.calls
    )


def replayed(response: pb.SendSmsResponse) -> pb.SendSmsResponse:
    copy = pb.SendSmsResponse()
    copy.CopyFrom(response)
    copy.replayed = True
    return copy


def finish(response: pb.SendSmsResponse) -> pb.SendSmsResponse:
    """Fill in the totals; raise `SendFailedError` unless every call was accepted."""
    count_recipients(response)
    if response.failed_count or response.unknown_count:
        raise SendFailedError(response)
    return response


def count_recipients(response: pb.SendSmsResponse) -> None:
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
