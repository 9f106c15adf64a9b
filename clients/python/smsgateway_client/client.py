"""`SmsGatewayClient`: a typed asyncio (grpc.aio) client of the SmsGateway API.

Every method raises `GatewayError` (never a raw `AioRpcError`). Unary calls that fail
with `UNAVAILABLE` are retried with jittered exponential backoff inside one overall
deadline (the policy of clients/service_config.json); sends get their `request_id`
before the first attempt and reuse it on every one, so the gateway runs a retried send
at most once (it sends only the provider calls that did not go out), and every error of
a send carries it (`GatewayError.request_id`).
Streams reconnect after `UNAVAILABLE` and resume right after the last event they
yielded (or, in a consumer group, from the group's position). They ask the gateway for
several events per response (`events_per_response`, default 100) and yield them one by
one; a gateway that predates batching sends one per response, which they read as well.
The retry policy at work is in retry.py, the resuming streams in streams.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, Final, TypeVar

import grpc

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

from .config import RetryPolicy, channel_options
from .requests import (
    KindLike,
    StreamName,
    _group,
    _numbers,
    _parse_stream,
    _report_filter,
    _stream_start,
    parse_kind,
    parse_status,
    tls_credentials,
)
from .retry import Retrier, Sleep
from .streams import checked_events_per_response, reports_of, resuming_stream, uplinks_of

try:  # optional: the `tracing` extra
    from opentelemetry import propagate
except ImportError:  # pragma: no cover - exercised by the client-only install test
    propagate = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_EVENTS_PER_RESPONSE",
    "DEFAULT_TARGET",
    "KindLike",
    "RetryPolicy",
    "SmsGatewayClient",
    "StreamName",
    "parse_kind",
    "parse_status",
    "tls_credentials",
]

#: Where the gateway listens by default (`make run`).
DEFAULT_TARGET: Final = "localhost:50051"

T = TypeVar("T")
E = TypeVar("E")

# Responses to sends echo every recipient; 100,000 recipients exceed gRPC's 4 MiB default.
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_MAX_ACK_CURSORS = 10_000
#: Events per stream response the streams ask for unless told otherwise.
DEFAULT_EVENTS_PER_RESPONSE: Final = 100


class SmsGatewayClient:
    """A client of one gateway. Use it as an async context manager (or call `close`).

    Create it inside a running event loop; one client (one channel) serves any number
    of concurrent calls, so share it rather than making one per call.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float | None = 30.0,
        channel: grpc.aio.Channel | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        metadata: Sequence[tuple[str, str]] = (),
        propagate_trace: bool = True,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        api_key: str | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        client_cert_file: str | os.PathLike[str] | None = None,
        client_key_file: str | os.PathLike[str] | None = None,
    ) -> None:
        """
        Args:
            target: `host:port` of the gateway (ignored when `channel` is given).
            timeout: The overall deadline of each unary call in seconds, retries included;
                None waits forever. Streams have no deadline.
            channel: A channel to use instead of making one; the caller keeps owning it.
            credentials: TLS credentials; None uses plaintext (in-cluster traffic).
            metadata: Sent with every call (for example an authorization header).
            propagate_trace: Send the current OpenTelemetry context (W3C `traceparent`)
                with every call, so the gateway's spans join the caller's trace.
            retry: Retries of `UNAVAILABLE` and stream reconnects (default: the policy
                of service_config.json).
            sleep: Waits between attempts (tests inject a recorder).
            rng: Draws the jitter (tests inject a seeded one).
            api_key: The caller's key, sent as `authorization: Bearer <key>` with every call.
            ca_file: PEM CA bundle that verifies the gateway's TLS certificate (turns TLS
                on when `credentials` is not given).
            client_cert_file, client_key_file: PEM client certificate and key (mTLS).
        """
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be > 0 or None")
        self._timeout = timeout
        self._metadata = tuple(metadata)
        if api_key is not None:
            self._metadata += (("authorization", f"Bearer {api_key}"),)
        if credentials is None and (ca_file is not None or client_cert_file is not None):
            credentials = tls_credentials(ca_file, client_cert_file, client_key_file)
        self._propagate_trace = propagate_trace
        self._retrier = Retrier(
            retry or RetryPolicy.from_service_config(), sleep, rng or random.Random()
        )
        self._owns_channel = channel is None
        if channel is None:
            options = channel_options(_MAX_MESSAGE_BYTES)
            if credentials is None:
                channel = grpc.aio.insecure_channel(target, options=options)
            else:
                channel = grpc.aio.secure_channel(target, credentials, options=options)
        self._channel = channel
        self._stub: Any = smsgateway_pb2_grpc.SmsGatewayStub(channel)

    async def __aenter__(self) -> SmsGatewayClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel (when this client made it); open streams end."""
        if self._owns_channel:
            await self._channel.close()

    # -- sends -----------------------------------------------------------------------

    async def send_sms(
        self,
        phone_numbers: str | Iterable[str],
        sign: str,
        content: str,
        kind: KindLike = pb.SMS_KIND_UNSPECIFIED,
        request_id: str | None = None,
    ) -> pb.SendSmsResponse:
        """Send one plain SMS to one or many numbers.

        Without `request_id` a UUID4 is generated, so that this client's own retries are
        safe; pass your own to make retries across processes safe too. A send where some
        provider calls failed raises `GatewayError` with `.send_failure` set (counts and
        the first failures; `get_send(error.request_id)` has every call). Every error
        carries the request_id, `DEADLINE_EXCEEDED` included.
        """
        request = pb.SendSmsRequest(
            phone_numbers=_numbers(phone_numbers),
            sign=sign,
            content=content,
            kind=parse_kind(kind),
            request_id=request_id or str(uuid.uuid4()),
        )
        return await self._unary(self._stub.SendSms, request)

    async def send_template_sms(
        self,
        phone_numbers: str | Iterable[str],
        sign: str,
        template_id: str,
        params: str | Mapping[str, Any] | Sequence[Any],
        content: str,
        kind: KindLike = pb.SMS_KIND_UNSPECIFIED,
        request_id: str | None = None,
    ) -> pb.SendTemplateSmsResponse:
        """Send an SMS from an approved template; as `send_sms`.

        `params` is JSON text, or an object/array that is encoded compactly (the provider
        allows 100 characters).
        """
        params_json = (
            params
            if isinstance(params, str)
            else json.dumps(params, ensure_ascii=False, separators=(",", ":"))
        )
        request = pb.SendTemplateSmsRequest(
            phone_numbers=_numbers(phone_numbers),
            sign=sign,
            template_id=template_id,
            template_params_json=params_json,
            content=content,
            kind=parse_kind(kind),
            request_id=request_id or str(uuid.uuid4()),
        )
        return await self._unary(self._stub.SendTemplateSms, request)

    # -- account and status ------------------------------------------------------------

    async def get_balance(self) -> Decimal:
        """The account balance, exact."""
        response = await self.get_balance_response()
        try:
            return Decimal(response.balance)
        except InvalidOperation:
            raise ValueError(f"balance is not a decimal: {response.balance!r}") from None

    async def get_balance_response(self) -> pb.GetBalanceResponse:
        """The balance as the gateway answers it (with the time it was read)."""
        return await self._unary(self._stub.GetBalance, pb.GetBalanceRequest())

    async def get_send_status(self, biz_id: str) -> pb.GetSendStatusResponse:
        """The status of every recipient of one provider call."""
        return await self._unary(self._stub.GetSendStatus, pb.GetSendStatusRequest(biz_id=biz_id))

    async def get_send(self, request_id: str, *, page_size: int = 0) -> pb.GetSendResponse:
        """The whole stored result of one send: every page read into one response (every
        call, its bizId and outcome, and the delivery status of every recipient)."""
        request = pb.GetSendRequest(request_id=request_id, page_size=page_size)
        whole: pb.GetSendResponse | None = None
        async for page in self._pages(self._stub.GetSend, request):
            if whole is None:
                whole = page
            else:
                whole.calls.extend(page.calls)
        assert whole is not None
        whole.next_page_token = ""
        return whole

    async def delete_consumer_group(self, stream: StreamName, group: str) -> bool:
        """Delete a consumer group (its position and unacknowledged events); False when
        there was none."""
        request = pb.DeleteConsumerGroupRequest(stream=_parse_stream(stream), consumer_group=group)
        response = await self._unary(self._stub.DeleteConsumerGroup, request)
        return bool(response.deleted)

    # -- stored events -----------------------------------------------------------------

    async def list_delivery_reports(
        self,
        *,
        biz_ids: Iterable[str] = (),
        phone_numbers: Iterable[str] = (),
        sign: str = "",
        statuses: Iterable[int | str] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> AsyncGenerator[pb.ListDeliveryReportsResponse, None]:
        """Stored delivery reports, oldest first, one page per item until the last page."""
        request = pb.ListDeliveryReportsRequest(
            filter=_report_filter(biz_ids, phone_numbers, sign, statuses),
            page_size=page_size,
            page_token=page_token,
        )
        async for page in self._pages(self._stub.ListDeliveryReports, request):
            yield page

    async def list_uplinks(
        self,
        *,
        phone_numbers: Iterable[str] = (),
        sign: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> AsyncGenerator[pb.ListUplinksResponse, None]:
        """Stored uplinks, oldest first, one page per item until the last page."""
        request = pb.ListUplinksRequest(
            filter=pb.UplinkFilter(phone_numbers=list(phone_numbers), sign=sign),
            page_size=page_size,
            page_token=page_token,
        )
        async for page in self._pages(self._stub.ListUplinks, request):
            yield page

    # -- event streams -----------------------------------------------------------------

    def stream_delivery_reports(
        self,
        *,
        start: int | str | None = None,
        after_cursor: int | None = None,
        start_time: datetime | None = None,
        biz_ids: Iterable[str] = (),
        phone_numbers: Iterable[str] = (),
        sign: str = "",
        statuses: Iterable[int | str] = (),
        group: str | None = None,
        ack_deadline: float | timedelta | None = None,
        max_outstanding: int | None = None,
        reconnect: bool = True,
        events_per_response: int = DEFAULT_EVENTS_PER_RESPONSE,
    ) -> AsyncGenerator[pb.DeliveryReport, None]:
        """Delivery reports, one at a time: stored ones from the start position, then
        live ones.

        Give at most one of `start` (`"latest"`, the default, or `"earliest"`),
        `after_cursor`, `start_time` (timezone-aware). With `group`, acknowledge each
        report with `acknowledge("reports", group, [cursor])`. Close the iterator
        (`contextlib.aclosing`) to end the call promptly when you stop early.
        `events_per_response` (1 to 1,000) is how many reports the gateway may pack
        into one response (1: one each, as before batching); it changes no event.
        """
        request = pb.StreamDeliveryReportsRequest(
            start=_stream_start(start, after_cursor, start_time),
            filter=_report_filter(biz_ids, phone_numbers, sign, statuses),
            consumer_group=_group(group, ack_deadline, max_outstanding),
            max_events_per_response=checked_events_per_response(events_per_response),
        )
        return self._stream(self._stub.StreamDeliveryReports, request, reports_of, reconnect)

    def stream_uplinks(
        self,
        *,
        start: int | str | None = None,
        after_cursor: int | None = None,
        start_time: datetime | None = None,
        phone_numbers: Iterable[str] = (),
        sign: str = "",
        group: str | None = None,
        ack_deadline: float | timedelta | None = None,
        max_outstanding: int | None = None,
        reconnect: bool = True,
        events_per_response: int = DEFAULT_EVENTS_PER_RESPONSE,
    ) -> AsyncGenerator[pb.Uplink, None]:
        """Uplinks, one at a time: stored ones from the start position, then live ones;
        as `stream_delivery_reports`."""
        request = pb.StreamUplinksRequest(
            start=_stream_start(start, after_cursor, start_time),
            filter=pb.UplinkFilter(phone_numbers=list(phone_numbers), sign=sign),
            consumer_group=_group(group, ack_deadline, max_outstanding),
            max_events_per_response=checked_events_per_response(events_per_response),
        )
        return self._stream(self._stub.StreamUplinks, request, uplinks_of, reconnect)

    async def acknowledge(self, stream: StreamName, group: str, cursors: Iterable[int]) -> int:
        """Acknowledge events of a consumer group; returns how many were pending.

        More than 10,000 cursors go in several calls.
        """
        stream_value = _parse_stream(stream)
        pending = list(cursors)
        acknowledged = 0
        for i in range(0, len(pending), _MAX_ACK_CURSORS):
            request = pb.AcknowledgeEventsRequest(
                stream=stream_value,
                consumer_group=group,
                cursors=pending[i : i + _MAX_ACK_CURSORS],
            )
            response = await self._unary(self._stub.AcknowledgeEvents, request)
            acknowledged += response.acknowledged_count
        return acknowledged

    # -- suppressions ------------------------------------------------------------------

    async def list_suppressions(
        self, *, sign: str = "", page_size: int = 0, page_token: str = ""
    ) -> AsyncGenerator[pb.ListSuppressionsResponse, None]:
        """Suppressed numbers (of one sign, or of all), one page per item."""
        request = pb.ListSuppressionsRequest(sign=sign, page_size=page_size, page_token=page_token)
        async for page in self._pages(self._stub.ListSuppressions, request):
            yield page

    async def add_suppression(
        self, sign: str, phone_number: str, reason: str = ""
    ) -> pb.Suppression:
        """Suppress marketing messages of `sign` to `phone_number` (idempotent)."""
        request = pb.AddSuppressionRequest(sign=sign, phone_number=phone_number, reason=reason)
        response: pb.AddSuppressionResponse = await self._unary(self._stub.AddSuppression, request)
        return response.suppression

    async def remove_suppression(self, sign: str, phone_number: str) -> bool:
        """Lift a suppression; True when the number was suppressed."""
        request = pb.RemoveSuppressionRequest(sign=sign, phone_number=phone_number)
        response = await self._unary(self._stub.RemoveSuppression, request)
        return bool(response.removed)

    # -- machinery ---------------------------------------------------------------------

    def _call_metadata(self) -> tuple[tuple[str, str], ...]:
        if not self._propagate_trace:
            return self._metadata
        carrier: dict[str, str] = {}
        if propagate is not None:
            propagate.inject(carrier)  # nothing without an active span
        return self._metadata + tuple(carrier.items()) if carrier else self._metadata

    async def _unary(self, method: Callable[..., Awaitable[T]], request: Any) -> T:
        return await self._retrier.call(
            method, request, overall_timeout=self._timeout, metadata=self._call_metadata
        )

    async def _pages(
        self, method: Callable[..., Awaitable[T]], request: Any
    ) -> AsyncGenerator[T, None]:
        while True:
            page: Any = await self._unary(method, request)
            yield page
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def _stream(
        self,
        method: Callable[..., Any],
        request: Any,
        unwrap: Callable[[Any], Sequence[E]],
        reconnect: bool,
    ) -> AsyncGenerator[E, None]:
        return resuming_stream(
            method,
            request,
            unwrap,
            retrier=self._retrier,
            metadata=self._call_metadata,
            reconnect=reconnect,
        )
