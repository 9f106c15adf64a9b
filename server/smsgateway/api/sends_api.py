"""GetSend: the whole stored result of one send, by request_id, one page of calls at a time.

The result comes from the idempotency record (every call, its bizId and outcome) and,
for accepted calls, the send log's newest report per recipient. A page holds at most
`PAGE_SIZE_MAX` calls, each of at most a few hundred recipients, so an answer stays far
below gRPC's default 4 MiB message limit whatever the size of the send.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, TypeAlias

import grpc

from smsgateway.api.convert import delivery_status, report_to_proto
from smsgateway.api.errors import FieldViolation, R, handle_errors, invalid_argument, not_found
from smsgateway.messaging import normalize_phone_number
from smsgateway.sending.service import SendService
from smsgateway.v1 import smsgateway_pb2 as pb

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]

REQUEST_ID_MAX = 128
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
_TOKEN_MAX = 256


class SendsApi:
    """Implements `GetSend` on a `SendService`."""

    def __init__(self, sends: SendService) -> None:
        self._sends = sends

    @handle_errors
    async def get_send(self, request: pb.GetSendRequest, context: Context) -> pb.GetSendResponse:
        """GetSend: header and totals of the whole send, then one page of its calls."""
        violations: list[FieldViolation] = []
        request_id = request.request_id
        if not request_id or len(request_id) > REQUEST_ID_MAX:
            violations.append(
                FieldViolation("request_id", f"is required: 1 to {REQUEST_ID_MAX} characters")
            )
        elif not (request_id.isascii() and request_id.isprintable()):
            violations.append(FieldViolation("request_id", "must be printable ASCII"))
        page_size = request.page_size or PAGE_SIZE_DEFAULT
        if not 1 <= page_size <= PAGE_SIZE_MAX:
            violations.append(
                FieldViolation("page_size", f"must be within 1..{PAGE_SIZE_MAX} (0: default)")
            )
        start = 0
        if request.page_token and not violations:
            start = _decode_token(request.page_token, request_id, violations)
        if violations:
            raise invalid_argument(violations)

        stored = await self._sends.stored_send(request_id)
        if stored is None:
            raise not_found(
                f"no send with request_id {request_id!r} (unknown, or older than the "
                "idempotency TTL)",
                R.SEND_NOT_FOUND,
                {"request_id": request_id},
            )
        response = pb.GetSendResponse(
            request_id=stored.request_id,
            call_count=len(stored.calls),
            recipient_count=stored.recipient_count,
            accepted_count=stored.accepted_count,
            failed_count=stored.failed_count,
            unknown_count=stored.unknown_count,
            segments_per_message=stored.segments_per_message,
            content=stored.content,
        )
        if start == 0:
            response.suppressed_phone_numbers.extend(stored.suppressed_phone_numbers)
        end = start + page_size
        for call in stored.calls[start:end]:
            await self._add_call(response.calls.add(), call)
        if end < len(stored.calls):
            response.next_page_token = _encode_token(request_id, end)
        return response

    async def _add_call(self, entry: pb.SendCallStatus, call: pb.UpstreamCall) -> None:
        entry.call.CopyFrom(call)
        if call.outcome != pb.CALL_OUTCOME_ACCEPTED or not call.biz_id:
            return
        latest = await self._sends.latest_reports(call.biz_id)
        # Reports name the number as the provider wrote it; the call has it normalised.
        by_number = {
            (normalize_phone_number(phone) or phone): stored
            for phone, stored in sorted(latest.items(), key=lambda item: item[1].cursor)
        }
        for number in call.phone_numbers:
            recipient = entry.recipients.add(phone_number=number)
            report = by_number.get(number)
            if report is None:
                recipient.status = pb.DELIVERY_STATUS_PENDING
                entry.pending_count += 1
                continue
            recipient.status = delivery_status(report.report.provider_code)
            recipient.report.CopyFrom(report_to_proto(report))
            if recipient.status == pb.DELIVERY_STATUS_DELIVERED:
                entry.delivered_count += 1
            else:
                entry.undelivered_count += 1


def _key(request_id: str) -> str:
    return hashlib.sha256(request_id.encode()).hexdigest()[:16]


def _encode_token(request_id: str, start: int) -> str:
    raw = json.dumps({"r": _key(request_id), "i": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: str, request_id: str, violations: list[FieldViolation]) -> int:
    """The first call index of the page a token names; a violation when it is not one
    this RPC returned for this request_id."""
    try:
        if len(token) > _TOKEN_MAX:
            raise ValueError("too long")
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        start = value["i"]
        if value["r"] != _key(request_id) or not isinstance(start, int) or start < 1:
            raise ValueError("not for this request_id")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        violations.append(
            FieldViolation("page_token", "is not a next_page_token of GetSend for this request_id")
        )
        return 0
    return int(start)
