"""Helpers for the event-stream tests (imported by name; conftest puts this directory on
sys.path). The server: a real grpc.aio server on 127.0.0.1:0 serving the
event RPCs through `EventsApi`, a real SQLite store in tmp_path, and a real
Ingestor that wakes the hub after each commit (as app.py wires them)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc

from smsgateway.api.events_api import EventsApi, EventsApiConfig, EventStores
from smsgateway.backends import Backend
from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.events.hub import EventHub
from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import (
    DeliveryReportIn,
    Source,
    StoredEvent,
    Stream,
    UplinkIn,
)
from smsgateway.events.optout import OptOutRules
from smsgateway.events.subscriptions import SubscriptionConfig
from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


class ShiftableClock:
    """Wall-clock seconds with a settable offset (to place receive times)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class EventsOnlyServicer(smsgateway_pb2_grpc.SmsGatewayServicer):
    """Delegates the event RPCs to EventsApi, as the real servicer does."""

    def __init__(self, api: EventsApi) -> None:
        self.StreamDeliveryReports = api.stream_delivery_reports
        self.StreamUplinks = api.stream_uplinks
        self.AcknowledgeEvents = api.acknowledge_events
        self.DeleteConsumerGroup = api.delete_consumer_group
        self.GetSendStatus = api.get_send_status
        self.ListDeliveryReports = api.list_delivery_reports
        self.ListUplinks = api.list_uplinks
        self.ListSuppressions = api.list_suppressions
        self.AddSuppression = api.add_suppression
        self.RemoveSuppression = api.remove_suppression


@dataclass
class EventsServer:
    """One running server over a store file; `restart()` reopens the same file."""

    path: Path
    config: EventsApiConfig
    clock: ShiftableClock
    store: Backend = None  # type: ignore[assignment]
    max_groups: int = 1000
    hub: EventHub = None  # type: ignore[assignment]
    ingestor: Ingestor = None  # type: ignore[assignment]
    server: grpc.aio.Server = None
    channel: grpc.aio.Channel = None
    stub: smsgateway_pb2_grpc.SmsGatewayStub = None
    port: int = 0

    async def start(self) -> None:
        self.store = await sqlite_backend.open_backend(
            sqlite_backend.SqliteOptions(
                data_dir=self.path.parent, synchronous="NORMAL", max_groups=self.max_groups
            ),
            clock=self.clock,
        )
        self.hub = EventHub()
        b = self.store
        self.ingestor = Ingestor(
            b.events, b.dead_letters, on_stored=self.hub.notify, opt_out=OptOutRules()
        )
        api = EventsApi(
            EventStores(b.events, b.groups, b.send_log, b.suppressions),
            self.hub,
            config=self.config,
        )
        self.server = grpc.aio.server()
        smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(EventsOnlyServicer(api), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        self.channel = self.new_channel()
        self.stub = smsgateway_pb2_grpc.SmsGatewayStub(self.channel)

    def new_channel(self) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")

    async def stop(self) -> None:
        # The app's order: streams end (members release their leases), the
        # server drains, then the store closes.
        self.hub.close()
        await self.server.stop(grace=1.0)
        await self.store.close()
        await self.channel.close()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    # -- feeding events ------------------------------------------------------
    async def reports(self, items: Sequence[DeliveryReportIn]) -> list[StoredEvent]:
        return list((await self.ingestor.ingest_reports(items, Source.PUSH)).stored)

    async def uplinks(self, items: Sequence[UplinkIn]) -> list[StoredEvent]:
        return list((await self.ingestor.ingest_uplinks(items, Source.PULL)).stored)

    async def all_cursors(self, stream: Stream = Stream.REPORTS) -> list[int]:
        events = await self.store.events.read(stream, 0, 1_000_000)
        return [e.cursor for e in events]


_serial = 0


def report(
    biz_id: str = "39036632588910887018",
    phone: str = "13651688564",
    code: str = "10000",
    message: str = "DELIVRD",
) -> DeliveryReportIn:
    """A report that is new each call (distinct report time)."""
    global _serial
    _serial += 1
    return DeliveryReportIn(
        biz_id=biz_id,
        phone_number=phone,
        provider_code=code,
        success=code == "10000",
        message=message,
        sms_size=1,
        send_time=T0,
        report_time=T0 + timedelta(milliseconds=_serial),
    )


def uplink(phone: str = "13651688564", sign: str = "圆通快递", content: str = "好的") -> UplinkIn:
    global _serial
    _serial += 1
    return UplinkIn(
        phone_number=phone, content=content, sign=sign, sequence_id=_serial, send_time=T0
    )


class Follow:
    """Reads a streaming call in the background, so that waiting for "nothing more"
    never cancels the call (cancelling a pending read cancels a grpc.aio call)."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for message in self.call:
                self.queue.put_nowait(message)
            self.queue.put_nowait(grpc.aio.EOF)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.queue.put_nowait(exc)

    async def take(self, n: int, within: float = 15.0) -> list[Any]:
        """The next `n` messages; raises the call's error if it fails first."""
        out: list[Any] = []

        async def go() -> None:
            while len(out) < n:
                item = await self.queue.get()
                if isinstance(item, BaseException):
                    raise item
                assert item is not grpc.aio.EOF, f"stream ended after {len(out)} of {n}"
                out.append(item)

        await asyncio.wait_for(go(), within)
        return out

    async def error(self, within: float = 15.0) -> grpc.aio.AioRpcError:
        """The error the call ends with (no message must come first)."""
        item = await asyncio.wait_for(self.queue.get(), within)
        assert isinstance(item, grpc.aio.AioRpcError), f"expected an error, got {item!r}"
        return item

    async def quiet(self, seconds: float = 0.3) -> None:
        """Nothing more arrives for a moment (a missing-event check, never a speed check)."""
        await asyncio.sleep(seconds)
        assert self.queue.empty(), f"unexpected: {self.queue.get_nowait()!r}"

    def cancel(self) -> None:
        self.call.cancel()
        self.task.cancel()


def follow(call: Any) -> Follow:
    return Follow(call)


def cursors_of(messages: Sequence[Any]) -> list[int]:
    out = []
    for m in messages:
        if isinstance(m, pb.StreamDeliveryReportsResponse):
            out.append(m.report.cursor)
        elif isinstance(m, pb.StreamUplinksResponse):
            out.append(m.uplink.cursor)
        else:
            out.append(m.cursor)
    return out


def config(page_size: int = 64, poll_interval: float = 30.0, **kwargs: Any) -> EventsApiConfig:
    # A long safety-net poll: the tests prove the wake-ups, not the poll.
    return EventsApiConfig(
        subscription=SubscriptionConfig(page_size=page_size, poll_interval=poll_interval),
        **kwargs,
    )
