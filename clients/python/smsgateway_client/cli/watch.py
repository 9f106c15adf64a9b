"""`smsctl watch reports|uplinks`: stream events as they come; in a consumer group, each
event is acknowledged once printed, up to 100 per AcknowledgeEvents."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

from ..client import SmsGatewayClient
from ..requests import StreamName
from .common import EXIT_OK, UsageError
from .connect import connect
from .output import Output, report_line, uplink_line


def _stream_start(args: argparse.Namespace) -> dict[str, Any]:
    if args.from_start:
        return {"start": "earliest"}
    if args.from_cursor is not None:
        # Inclusive: the first event shown is the one with this cursor.
        return {"after_cursor": max(args.from_cursor - 1, 0)}
    if args.after_cursor is not None:
        return {"after_cursor": args.after_cursor}
    if args.since is not None:
        return {"start_time": args.since}
    return {}


_ACK_BATCH = 100
"""Cursors per AcknowledgeEvents at most."""
_ACK_LINGER_SECONDS = 0.1
"""How long a printed event waits for others to be acknowledged with (far below any ack
deadline: the gateway accepts 1 s at the least)."""


class _Acker:
    """Acknowledges printed events in batches: once 100 wait, or 0.1 s after the first of
    them was printed, and whatever waits when the watch ends. Only printed events are ever
    acknowledged: a crash before that gets them delivered again (at-least-once)."""

    def __init__(self, client: SmsGatewayClient, stream: StreamName, group: str) -> None:
        self._client, self._stream, self._group = client, stream, group
        self._pending: list[int] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    async def add(self, cursor: int) -> None:
        timer = self._timer
        if timer is not None and timer.done():
            self._timer = None
            timer.result()  # a failed acknowledgment stops the watch here
        self._pending.append(cursor)
        if len(self._pending) >= _ACK_BATCH:
            await self._flush()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._flush_later())

    async def close(self) -> None:
        """Acknowledge what is still waiting."""
        if self._timer is not None:
            with contextlib.suppress(Exception):  # its cursors are flushed again below
                await self._timer
        await self._flush()

    async def _flush_later(self) -> None:
        await asyncio.sleep(_ACK_LINGER_SECONDS)
        await self._flush()

    async def _flush(self) -> None:
        async with self._lock:
            while self._pending:
                cursors = self._pending[:_ACK_BATCH]
                await self._client.acknowledge(self._stream, self._group, cursors)
                del self._pending[: len(cursors)]


async def cmd_watch(args: argparse.Namespace, out: Output) -> int:
    reports = args.stream == "reports"
    options: dict[str, Any] = dict(
        _stream_start(args),
        phone_numbers=args.phone or [],
        sign=args.sign or "",
        group=args.group,
        ack_deadline=args.ack_deadline,
        max_outstanding=args.max_outstanding,
    )
    if args.group is None and (args.ack_deadline or args.max_outstanding):
        raise UsageError("--ack-deadline and --max-outstanding need --group")
    async with connect(args) as client:
        events: AsyncGenerator[Any, None]
        if reports:
            events = client.stream_delivery_reports(
                biz_ids=args.biz_id or [], statuses=args.status or [], **options
            )
        else:
            events = client.stream_uplinks(**options)
        render: Callable[[Any], str] = report_line if reports else uplink_line
        acker = None if args.group is None else _Acker(client, args.stream, args.group)
        seen = 0
        try:
            async with aclosing(events):
                async for event in events:
                    if out.as_json:
                        out.message(event, compact=True)
                    else:
                        out.line(render(event))
                    out.flush()
                    if acker is not None:
                        await acker.add(event.cursor)  # printed: it may be acknowledged
                    seen += 1
                    if args.max_events is not None and seen >= args.max_events:
                        break
        finally:
            if acker is not None:
                await acker.close()
    return EXIT_OK
