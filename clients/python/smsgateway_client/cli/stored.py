"""The commands on what the gateway stores: `reports list`, `uplinks list` and
`suppressions list|add|remove`."""

from __future__ import annotations

import argparse
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from typing import Any

from smsgateway.v1 import smsgateway_pb2 as pb

from .common import EXIT_OK
from .connect import connect
from .output import Output, quote, report_line, suppression_line, uplink_line


async def _print_pages(
    out: Output,
    pages: AsyncGenerator[Any, None],
    items: Callable[[Any], Iterable[Any]],
    render: Callable[[Any], str],
    limit: int | None,
) -> int:
    shown = 0
    async with aclosing(pages):
        async for page in pages:
            for item in items(page):
                if limit is not None and shown >= limit:
                    return EXIT_OK
                if out.as_json:
                    out.message(item, compact=True)
                else:
                    out.line(render(item))
                shown += 1
    return EXIT_OK


async def cmd_reports_list(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        pages = client.list_delivery_reports(
            biz_ids=args.biz_id or [],
            phone_numbers=args.phone or [],
            sign=args.sign or "",
            statuses=args.status or [],
            page_size=_page_size(args),
        )
        return await _print_pages(out, pages, lambda p: p.reports, report_line, args.limit)


async def cmd_uplinks_list(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        pages = client.list_uplinks(
            phone_numbers=args.phone or [], sign=args.sign or "", page_size=_page_size(args)
        )
        return await _print_pages(out, pages, lambda p: p.uplinks, uplink_line, args.limit)


async def cmd_suppressions_list(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        pages = client.list_suppressions(sign=args.sign or "", page_size=_page_size(args))
        return await _print_pages(
            out, pages, lambda p: p.suppressions, suppression_line, args.limit
        )


async def cmd_suppressions_add(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        suppression = await client.add_suppression(args.sign, args.phone, args.reason or "")
    if out.as_json:
        out.message(suppression)
    else:
        out.line("suppressed " + suppression_line(suppression))
    return EXIT_OK


async def cmd_suppressions_remove(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        removed = await client.remove_suppression(args.sign, args.phone)
    if out.as_json:
        out.message(pb.RemoveSuppressionResponse(removed=removed))
    elif removed:
        out.line(f"removed {args.phone} from the suppression list of {quote(args.sign)}")
    else:
        out.line(f"{args.phone} was not suppressed for {quote(args.sign)}")
    return EXIT_OK


def _page_size(args: argparse.Namespace) -> int:
    size: int = args.page_size or 0
    if args.limit is not None and not size:
        size = min(args.limit, 1000)  # do not fetch a default page of 100 to show 3
    return size
