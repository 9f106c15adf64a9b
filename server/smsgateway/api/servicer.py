"""The gRPC servicer: thin — validate, delegate, convert."""

from __future__ import annotations

import time
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from smsgateway.api.errors import handle_errors, send_failed
from smsgateway.api.events_api import EventsApi
from smsgateway.api.validation import plan_send, plan_template_send
from smsgateway.sending.service import SendFailedError, SendService
from smsgateway.upstream.client import ProviderClient
from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


def deadline_of(context: Context) -> float | None:
    """The caller's deadline on the monotonic clock, or None when it set none."""
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


class SmsGatewayServicer(smsgateway_pb2_grpc.SmsGatewayServicer):
    """Implements `smsgateway.v1.SmsGateway`."""

    def __init__(self, sends: SendService, client: ProviderClient, events: EventsApi) -> None:
        self._sends = sends
        self._client = client
        self.StreamDeliveryReports = events.stream_delivery_reports
        self.StreamUplinks = events.stream_uplinks
        self.AcknowledgeEvents = events.acknowledge_events
        self.GetSendStatus = events.get_send_status
        self.ListDeliveryReports = events.list_delivery_reports
        self.ListUplinks = events.list_uplinks
        self.ListSuppressions = events.list_suppressions
        self.AddSuppression = events.add_suppression
        self.RemoveSuppression = events.remove_suppression

    @handle_errors
    async def SendSms(self, request: pb.SendSmsRequest, context: Context) -> pb.SendSmsResponse:
        plan = plan_send(request)
        try:
            return await self._sends.send(plan, deadline_of(context))
        except SendFailedError as exc:
            raise send_failed(exc, pb.SendSmsResponse) from None

    @handle_errors
    async def SendTemplateSms(
        self, request: pb.SendTemplateSmsRequest, context: Context
    ) -> pb.SendTemplateSmsResponse:
        plan = plan_template_send(request)
        try:
            response = await self._sends.send(plan, deadline_of(context))
        except SendFailedError as exc:
            raise send_failed(exc, pb.SendTemplateSmsResponse) from None
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
