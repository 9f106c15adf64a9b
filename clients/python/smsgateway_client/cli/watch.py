"""`smsctl watch reports|uplinks`: stream events as they come, acknowledging each one
once printed when the watch joins a consumer group."""

from __future__ import annotations

import argparse
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

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
        seen = 0
        async with aclosing(events):
            async for event in events:
                if out.as_json:
                    out.message(event, compact=True)
                else:
                    out.line(render(event))
                out.flush()
                if args.group is not None:
                    # Acknowledge only what is printed: a crash before this line gets the
                    # event delivered again (at-least-once), never lost.
                    await client.acknowledge(args.stream, args.group, [event.cursor])
                seen += 1
                if args.max_events is not None and seen >= args.max_events:
                    break
    return EXIT_OK
