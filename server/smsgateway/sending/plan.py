"""A validated send, and the errors a send ends with (shared by the API and the service)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from smsgateway.v1 import smsgateway_pb2 as pb

__all__ = ["RequestIdConflictError", "SendFailedError", "SendPlan"]


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
        """Hash of the request's type and fields, request_id left out.

        The request's own bytes with its request_id cleared for the moment (no copy of a
        request of up to 100,000 numbers); the same bytes a copy without it would give.
        """
        request_id = request.request_id
        request.request_id = ""
        try:
            body = request.SerializeToString(deterministic=True)
        finally:
            request.request_id = request_id
        digest = hashlib.sha256(request.DESCRIPTOR.full_name.encode())
        digest.update(body)
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
