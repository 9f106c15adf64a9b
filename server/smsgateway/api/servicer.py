"""The gRPC servicer: thin — validate, delegate, convert."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

import grpc
from google.protobuf import timestamp_pb2

from smsgateway.api.errors import ApiError, handle_errors, not_found, send_failed
from smsgateway.api.events_api import EventsApi
from smsgateway.api.sends_api import SendsApi
from smsgateway.api.validation import plan_send, plan_template_send
from smsgateway.security import audit
from smsgateway.security.callers import ANONYMOUS, Caller
from smsgateway.security.permissions import SignNotAllowedError, current_caller, require_sign
from smsgateway.security.ports import LimitExceededError
from smsgateway.sending.service import (
    RequestIdConflictError,
    SendFailedError,
    SendPlan,
    SendService,
)
from smsgateway.upstream.client import ProviderClient
from smsgateway.v1 import error_reason_pb2, smsgateway_pb2_grpc
from smsgateway.v1 import smsgateway_pb2 as pb

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
Reason = error_reason_pb2.ErrorReason


def deadline_of(context: Context) -> float | None:
    """The caller's deadline on the monotonic clock, or None when it set none."""
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


# Validating a large list (up to 100,000 numbers in unusual formats) takes long
# enough to stall other calls; small lists are cheaper to check in place.
_LARGE_REQUEST = 2000
R = TypeVar("R", pb.SendSmsRequest, pb.SendTemplateSmsRequest)


async def _off_loop_if_large(plan: Callable[[R], SendPlan], request: R) -> SendPlan:
    if len(request.phone_numbers) > _LARGE_REQUEST:
        return await asyncio.to_thread(plan, request)
    return plan(request)


def _as_caller(plan: SendPlan, caller: Caller) -> SendPlan:
    """The plan as sent by `caller`: its name travels with the send, and its request_ids
    are its own (another caller reusing one gets ALREADY_EXISTS, never this answer)."""
    if caller is ANONYMOUS:
        return dataclasses.replace(plan, caller=caller.name)
    fingerprint = hashlib.sha256(plan.fingerprint + b"\0caller:" + caller.name.encode()).digest()
    return dataclasses.replace(plan, caller=caller.name, fingerprint=fingerprint)


def _sign_of(content: str) -> str:
    """The sign of a send from its content as sent (`【sign】...`)."""
    if content.startswith("【"):
        end = content.find("】")
        if end > 0:
            return content[1:end]
    return ""


def _outcome(exc: BaseException) -> tuple[str, str]:
    """The audit outcome and reason of a send that raised."""
    if isinstance(exc, LimitExceededError):
        return "refused", exc.limit
    if isinstance(exc, SignNotAllowedError):
        return "denied", "sign"
    if isinstance(exc, SendFailedError):
        return ("partial" if exc.response.accepted_count else "failed"), "provider"
    if isinstance(exc, RequestIdConflictError):
        return "invalid", "request_id_reused"
    if isinstance(exc, ApiError) and exc.code == grpc.StatusCode.INVALID_ARGUMENT:
        return "invalid", "invalid_argument"
    return "failed", type(exc).__name__


class SmsGatewayServicer(smsgateway_pb2_grpc.SmsGatewayServicer):  # type: ignore[misc]
    """Implements `smsgateway.v1.SmsGateway`."""

    def __init__(self, sends: SendService, client: ProviderClient, events: EventsApi) -> None:
        self._sends = sends
        self._client = client
        self.StreamDeliveryReports = events.stream_delivery_reports
        self.StreamUplinks = events.stream_uplinks
        self.AcknowledgeEvents = events.acknowledge_events
        self.DeleteConsumerGroup = events.delete_consumer_group
        self.GetSendStatus = events.get_send_status
        self.ListDeliveryReports = events.list_delivery_reports
        self.ListUplinks = events.list_uplinks
        self.ListSuppressions = events.list_suppressions
        self.AddSuppression = events.add_suppression
        self.RemoveSuppression = events.remove_suppression
        self._get_send = SendsApi(sends).get_send

    @handle_errors
    async def GetSend(self, request: pb.GetSendRequest, context: Context) -> pb.GetSendResponse:
        """GetSend, for callers of the send's sign only (others: the unknown id's NOT_FOUND)."""
        response = await self._get_send(request, context)
        caller = current_caller()
        if not caller.may_use_sign(_sign_of(response.content)):
            raise not_found(
                f"no send with request_id {request.request_id!r} (unknown, or older than the "
                "idempotency TTL)",
                Reason.SEND_NOT_FOUND,
                {"request_id": request.request_id},
            )
        return response

    @handle_errors
    async def SendSms(self, request: pb.SendSmsRequest, context: Context) -> pb.SendSmsResponse:
        return await self._send("SendSms", plan_send, request, context)

    @handle_errors
    async def SendTemplateSms(
        self, request: pb.SendTemplateSmsRequest, context: Context
    ) -> pb.SendTemplateSmsResponse:
        response = await self._send("SendTemplateSms", plan_template_send, request, context)
        # The two responses share their field numbers: one is the other's bytes.
        return pb.SendTemplateSmsResponse.FromString(response.SerializeToString())

    async def _send(
        self, method: str, planner: Callable[[R], SendPlan], request: R, context: Context
    ) -> pb.SendSmsResponse:
        """Validate, check the caller's sign, send; one audit line whatever happens."""
        caller = current_caller()
        recipients = len(request.phone_numbers)
        request_id = request.request_id
        try:
            plan = await _off_loop_if_large(planner, request)
            recipients, request_id = len(plan.phone_numbers), plan.request_id
            require_sign(caller, plan.sign)
            response = await self._sends.send(_as_caller(plan, caller), deadline_of(context))
        except Exception as exc:
            outcome, reason = _outcome(exc)
            audit.record_send(
                caller=caller.name,
                method=method,
                request_id=request_id,
                sign=request.sign,
                kind=request.kind,
                recipient_count=recipients,
                outcome=outcome,
                accepted_count=exc.response.accepted_count
                if isinstance(exc, SendFailedError)
                else 0,
                reason=reason,
            )
            if isinstance(exc, SendFailedError):
                raise send_failed(exc) from None
            raise
        audit.record_send(
            caller=caller.name,
            method=method,
            request_id=request_id,
            sign=request.sign,
            kind=request.kind,
            recipient_count=recipients,
            outcome="replayed" if response.replayed else "sent",
            accepted_count=response.accepted_count,
            limited_count=len(response.violations),
        )
        return response

    @handle_errors
    async def GetBalance(
        self, request: pb.GetBalanceRequest, context: Context
    ) -> pb.GetBalanceResponse:
        balance = await self._client.balance(deadline=deadline_of(context))
        fetched = timestamp_pb2.Timestamp()
        fetched.GetCurrentTime()
        return pb.GetBalanceResponse(balance=balance.text, fetch_time=fetched)
