"""A scriptable fake of the gateway, served by a real grpc.aio server on 127.0.0.1:0.

The fake records every request (and its metadata) and answers with canned responses,
or with what a test scripted for the next calls of a method: a response, a rich error
status (`google.rpc` details packed as the real server packs them), or a delay (a float,
in seconds).
`run_cli` runs `smsctl` in-process in a worker thread (its own event loop, as a real
process would have) while the server keeps serving on the test's loop.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc
from smsgateway_client import cli
from smsgateway_client.cli.common import ENV_SANDBOX_URL, ENV_TARGET


def rich_status(
    code: grpc.StatusCode,
    message: str,
    *,
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
    violations: Sequence[tuple[str, str]] = (),
    retry_delay: float | None = None,
    extra: Sequence[Message] = (),
) -> grpc.Status:
    """A status with `google.rpc` details, as the gateway sends them."""
    details: list[Message] = []
    if violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                    for f, d in violations
                ]
            )
        )
    if reason is not None:
        details.append(
            error_details_pb2.ErrorInfo(reason=reason, domain="smsgateway", metadata=metadata)
        )
    if retry_delay is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(retry_delay * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    details.extend(extra)
    packed = []
    for d in details:
        a = any_pb2.Any()
        a.Pack(d)
        packed.append(a)
    return rpc_status.to_status(
        status_pb2.Status(code=code.value[0], message=message, details=packed)
    )


def ts(seconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds)


def report(cursor: int, biz_id: str = "20260101000000000001", phone: str = "13800000000"):
    return pb.DeliveryReport(
        cursor=cursor,
        biz_id=biz_id,
        phone_number=phone,
        status=pb.DELIVERY_STATUS_DELIVERED,
        provider_code="10000",
        success=True,
        message="请求成功",
        sms_size=1,
        report_time=ts(1_767_225_600 + cursor),
        source=pb.INGEST_SOURCE_PUSH,
    )


def uplink(cursor: int, phone: str = "13900000000", content: str = "hello"):
    return pb.Uplink(
        cursor=cursor,
        phone_number=phone,
        content=content,
        sign="Acme",
        sequence_id=1000 + cursor,
        send_time=ts(1_767_225_600 + cursor),
        source=pb.INGEST_SOURCE_PULL,
    )


class FakeGateway(smsgateway_pb2_grpc.SmsGatewayServicer):
    """Records requests; answers from `script[method]` first, then with defaults."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Message]] = []
        self.metadata: list[dict[str, str]] = []
        self.script: dict[str, list[Any]] = collections.defaultdict(list)
        self.reports: list[pb.DeliveryReport] = []
        self.uplinks: list[pb.Uplink] = []
        #: Per stream connection, in order: after yielding this many events, fail with
        #: UNAVAILABLE. Connections beyond the list yield everything.
        self.break_after: list[int] = []
        #: After the stored events: keep the stream open (True) or end it (False).
        self.hold_streams = False
        #: Seconds between two events of a stream (0: as fast as possible).
        self.stream_interval = 0.0
        self.unacked: set[int] = set()

    def of(self, method: str) -> list[Any]:
        """The requests received by one method, in order."""
        return [r for m, r in self.requests if m == method]

    async def _answer(self, method: str, request: Message, context: Any, default: Any) -> Any:
        self.requests.append((method, request))
        self.metadata.append({k: v for k, v in context.invocation_metadata()})
        script = self.script[method]
        while script:
            entry = script.pop(0)
            if isinstance(entry, float):  # a delay in seconds, then the next entry
                await asyncio.sleep(entry)
                continue
            if isinstance(entry, grpc.Status):
                await context.abort_with_status(entry)
            return entry
        return default() if callable(default) else default

    # -- unary ---------------------------------------------------------------------

    async def SendSms(self, request, context):
        return await self._answer(
            "SendSms", request, context, lambda: _sent(pb.SendSmsResponse, request)
        )

    async def SendTemplateSms(self, request, context):
        return await self._answer(
            "SendTemplateSms",
            request,
            context,
            lambda: _sent(pb.SendTemplateSmsResponse, request),
        )

    async def GetBalance(self, request, context):
        return await self._answer(
            "GetBalance",
            request,
            context,
            pb.GetBalanceResponse(balance="1234.50", fetch_time=ts(1_767_225_600)),
        )

    async def GetSend(self, request, context):
        default = pb.GetSendResponse(request_id=request.request_id)
        return await self._answer("GetSend", request, context, default)

    async def DeleteConsumerGroup(self, request, context):
        default = pb.DeleteConsumerGroupResponse(deleted=request.consumer_group == "old")
        return await self._answer("DeleteConsumerGroup", request, context, default)

    async def GetSendStatus(self, request, context):
        r = report(7, biz_id=request.biz_id, phone="13800000000")
        default = pb.GetSendStatusResponse(
            biz_id=request.biz_id,
            recipients=[
                pb.RecipientStatus(
                    phone_number="13800000000", status=pb.DELIVERY_STATUS_DELIVERED, report=r
                ),
                pb.RecipientStatus(phone_number="13800000001", status=pb.DELIVERY_STATUS_PENDING),
            ],
            total_count=2,
            delivered_count=1,
            pending_count=1,
        )
        return await self._answer("GetSendStatus", request, context, default)

    async def ListDeliveryReports(self, request, context):
        return await self._answer(
            "ListDeliveryReports",
            request,
            context,
            lambda: _page(pb.ListDeliveryReportsResponse, "reports", self.reports, request),
        )

    async def ListUplinks(self, request, context):
        return await self._answer(
            "ListUplinks",
            request,
            context,
            lambda: _page(pb.ListUplinksResponse, "uplinks", self.uplinks, request),
        )

    async def ListSuppressions(self, request, context):
        default = pb.ListSuppressionsResponse(
            suppressions=[
                pb.Suppression(
                    sign="Acme",
                    phone_number="13800000009",
                    reason="uplink",
                    create_time=ts(1_767_225_600),
                )
            ]
        )
        return await self._answer("ListSuppressions", request, context, default)

    async def AddSuppression(self, request, context):
        default = pb.AddSuppressionResponse(
            suppression=pb.Suppression(
                sign=request.sign,
                phone_number=request.phone_number,
                reason=request.reason or "manual",
                create_time=ts(1_767_225_600),
            )
        )
        return await self._answer("AddSuppression", request, context, default)

    async def RemoveSuppression(self, request, context):
        default = pb.RemoveSuppressionResponse(removed=request.phone_number == "13800000009")
        return await self._answer("RemoveSuppression", request, context, default)

    async def AcknowledgeEvents(self, request, context):
        pending = self.unacked & set(request.cursors)
        self.unacked -= pending
        default = pb.AcknowledgeEventsResponse(acknowledged_count=len(pending))
        return await self._answer("AcknowledgeEvents", request, context, default)

    # -- streams -------------------------------------------------------------------

    async def StreamDeliveryReports(self, request, context):
        async for event in self._stream("StreamDeliveryReports", request, context, self.reports):
            yield pb.StreamDeliveryReportsResponse(report=event)

    async def StreamUplinks(self, request, context):
        async for event in self._stream("StreamUplinks", request, context, self.uplinks):
            yield pb.StreamUplinksResponse(uplink=event)

    async def _stream(
        self, method: str, request: Any, context: Any, events: list[Any]
    ) -> AsyncIterator[Any]:
        connection = len(self.of(method))
        scripted = await self._answer(method, request, context, None)
        assert scripted is None, "streams take only errors and delays from the script"
        after = request.start.after_cursor if request.start.HasField("after_cursor") else 0
        limit = self.break_after[connection] if connection < len(self.break_after) else None
        sent = 0
        for event in events:
            if event.cursor <= after:
                continue
            if limit is not None and sent >= limit:
                await context.abort_with_status(
                    rich_status(grpc.StatusCode.UNAVAILABLE, "server shutting down")
                )
            if request.HasField("consumer_group"):
                self.unacked.add(event.cursor)
            yield event
            sent += 1
            if self.stream_interval:
                await asyncio.sleep(self.stream_interval)
        if limit is not None and sent >= limit:
            await context.abort_with_status(
                rich_status(grpc.StatusCode.UNAVAILABLE, "server shutting down")
            )
        if self.hold_streams:
            await asyncio.Event().wait()


def _sent(kind: Any, request: Any) -> Any:
    numbers = [n for entry in request.phone_numbers for n in entry.split(",")]
    calls = [
        pb.UpstreamCall(
            index=i,
            phone_numbers=numbers[i * 2 : i * 2 + 2],
            biz_id=f"2026010100000000000{i}",
            outcome=pb.CALL_OUTCOME_ACCEPTED,
            provider_code="10000",
            message="操作成功",
        )
        for i in range((len(numbers) + 1) // 2)
    ]
    content = getattr(request, "content", "")
    return kind(
        request_id=request.request_id,
        calls=calls,
        recipient_count=len(numbers),
        accepted_count=len(numbers),
        segments_per_message=1,
        content=f"【{request.sign}】{content}",
    )


def _page(kind: Any, field: str, items: list[Any], request: Any) -> Any:
    size = request.page_size or 100
    start = int(request.page_token or 0)
    chunk = items[start : start + size]
    token = str(start + size) if start + size < len(items) else ""
    return kind(**{field: chunk}, next_page_token=token)


@dataclass
class Gateway:
    target: str
    fake: FakeGateway


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    server = grpc.aio.server()
    fake = FakeGateway()
    smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield Gateway(f"127.0.0.1:{port}", fake)
    finally:
        await server.stop(None)


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Awaitable[CliResult]]:
    """`await run_cli("send", ...)`: smsctl in-process, in a thread with its own loop."""
    monkeypatch.delenv(ENV_TARGET, raising=False)
    monkeypatch.delenv(ENV_SANDBOX_URL, raising=False)

    async def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = await asyncio.to_thread(cli.main, list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def status_factory() -> Callable[..., grpc.Status]:
    return rich_status


@pytest.fixture
def events() -> SimpleNamespace:
    """Builders of stored events: `events.report(cursor)`, `events.uplink(cursor)`."""
    return SimpleNamespace(report=report, uplink=uplink)
