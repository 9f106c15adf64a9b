"""Live subscriptions for the HA scenarios: a background reader that records what a
StreamDeliveryReports call delivers, when, and (in a consumer group) acknowledges it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import grpc
from google.protobuf import duration_pb2

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc


@dataclass
class Subscriber:
    """Reads one StreamDeliveryReports call in the background until `close`.

    `received` lists (monotonic arrival time, report) in order. In a consumer group,
    `ack` decides whether each report is acknowledged at once (else it is `held`).
    `error` is the status that ended the stream, if any.
    """

    stub: smsgateway_pb2_grpc.SmsGatewayStub
    request: pb.StreamDeliveryReportsRequest
    ack: bool = True
    received: list[tuple[float, pb.DeliveryReport]] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    error: grpc.aio.AioRpcError | None = None
    _call: object = None
    _task: asyncio.Task[None] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def of(
        cls,
        stub: smsgateway_pb2_grpc.SmsGatewayStub,
        *,
        group: str | None = None,
        ack_deadline_seconds: int = 30,
        max_outstanding: int = 0,
        ack: bool = True,
    ) -> Subscriber:
        """From the earliest report; `group`: join that consumer group."""
        request = pb.StreamDeliveryReportsRequest(
            start=pb.StreamStart(position=pb.START_POSITION_EARLIEST)
        )
        if group is not None:
            request.consumer_group.CopyFrom(
                pb.ConsumerGroupOptions(
                    name=group,
                    ack_deadline=duration_pb2.Duration(seconds=ack_deadline_seconds),
                    max_outstanding=max_outstanding,
                )
            )
        return cls(stub, request, ack=ack)

    def start(self) -> Subscriber:
        self._task = asyncio.create_task(self._read())
        return self

    @property
    def cursors(self) -> list[int]:
        return [report.cursor for _, report in self.received]

    @property
    def group(self) -> str:
        return self.request.consumer_group.name

    async def _read(self) -> None:
        call = self.stub.StreamDeliveryReports(self.request, wait_for_ready=True)
        self._call = call
        try:
            async for item in call:
                self.received.append((time.monotonic(), item.report))
                self._arrived.set()
                if not self.group:
                    continue
                if self.ack:
                    await self.stub.AcknowledgeEvents(
                        pb.AcknowledgeEventsRequest(
                            stream=pb.EVENT_STREAM_DELIVERY_REPORTS,
                            consumer_group=self.group,
                            cursors=[item.report.cursor],
                        ),
                        timeout=10,
                    )
                else:
                    self.held.append(item.report.cursor)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                self.error = exc

    async def wait_count(self, n: int, within: float) -> None:
        """Wait until at least `n` reports arrived (AssertionError after `within` s)."""
        deadline = time.monotonic() + within
        while len(self.received) < n:
            if self.error is not None:
                raise AssertionError(f"stream ended: {self.error.code()} {self.error.details()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{len(self.received)} of {n} reports within {within:g} s")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(left, 0.2))

    async def close(self) -> None:
        if self._call is not None:
            self._call.cancel()  # type: ignore[attr-defined]
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await self._task
