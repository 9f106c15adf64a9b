"""The gRPC servicer: thin — validate, delegate, convert."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

import grpc
from google.protobuf import timestamp_pb2

from smsgateway.api.errors import handle_errors, send_failed
from smsgateway.api.events_api import EventsApi
from smsgateway.api.sends_api import SendsApi
from smsgateway.api.validation import plan_send, plan_template_send
from smsgateway.sending.service import SendFailedError, SendPlan, SendService
from smsgateway.upstream.client import ProviderClient
from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


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
        self.GetSend = SendsApi(sends).get_send

    @handle_errors
    async def SendSms(self, request: pb.SendSmsRequest, context: Context) -> pb.SendSmsResponse:
        plan = await _off_loop_if_large(plan_send, request)
        try:
            return await self._sends.send(plan, deadline_of(context))
        except SendFailedError as exc:
            raise send_failed(exc) from None

    @handle_errors
    async def SendTemplateSms(
        self, request: pb.SendTemplateSmsRequest, context: Context
    ) -> pb.SendTemplateSmsResponse:
        plan = await _off_loop_if_large(plan_template_send, request)
        try:
            response = await self._sends.send(plan, deadline_of(context))
        except SendFailedError as exc:
            raise send_failed(exc) from None
        # The two responses share their field numbers: one is the other's bytes.
        return pb.SendTemplateSmsResponse.FromString(response.SerializeToString())

    @handle_errors
    async def GetBalance(
        self, request: pb.GetBalanceRequest, context: Context
    ) -> pb.GetBalanceResponse:
        balance = await self._client.balance(deadline=deadline_of(context))
        fetched = timestamp_pb2.Timestamp()
        fetched.GetCurrentTime()
        return pb.GetBalanceResponse(balance=balance.text, fetch_time=fetched)
