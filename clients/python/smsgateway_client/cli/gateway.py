"""The gateway's send and status commands: `send`, `send-template`, `balance`, `status`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Awaitable
from typing import Any

from smsgateway.v1 import smsgateway_pb2 as pb

from ..client import SmsGatewayClient
from ..errors import GatewayError
from .argtypes import split_numbers
from .common import EXIT_OK, UsageError
from .connect import connect
from .output import Output, enum_name, print_send, print_stored_send, table, time_text

log = logging.getLogger("smsctl")


def _recipients(args: argparse.Namespace) -> list[str]:
    numbers = [n for group in args.to or [] for n in group]
    for path in args.to_file or []:
        try:
            if path == "-":
                text = sys.stdin.read()
            else:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
        except OSError as exc:
            raise UsageError(f"--to-file: {exc}") from None
        numbers.extend(split_numbers(text))
    if not numbers:
        raise UsageError("give the recipients with --to and/or --to-file")
    return numbers


async def _send_and_print(out: Output, client: SmsGatewayClient, send: Awaitable[Any]) -> int:
    try:
        response = await send
    except GatewayError as error:
        # Which calls went out (their bizIds) matters more than the error: print them
        # first. The error holds only counts; the gateway has the whole result.
        if error.send_failure is not None and error.request_id:
            try:
                stored = await client.get_send(error.request_id)
            except GatewayError as lookup:
                log.warning("cannot read the result of the send: %s", lookup)
            else:
                print_stored_send(out, stored)
        raise
    print_send(out, response)
    return EXIT_OK


async def cmd_send(args: argparse.Namespace, out: Output) -> int:
    numbers = _recipients(args)
    async with connect(args) as client:
        send = client.send_sms(
            numbers, args.sign, args.content, args.kind or "unspecified", args.request_id
        )
        return await _send_and_print(out, client, send)


async def cmd_send_template(args: argparse.Namespace, out: Output) -> int:
    numbers = _recipients(args)
    async with connect(args) as client:
        send = client.send_template_sms(
            numbers,
            args.sign,
            args.template_id,
            args.params,
            args.content,
            args.kind or "unspecified",
            args.request_id,
        )
        return await _send_and_print(out, client, send)


async def cmd_balance(args: argparse.Namespace, out: Output) -> int:
    async with connect(args) as client:
        response = await client.get_balance_response()
    if out.as_json:
        out.message(response)
    else:
        out.line(f"balance {response.balance}  (read {time_text(response.fetch_time)})")
    return EXIT_OK


async def cmd_status(args: argparse.Namespace, out: Output) -> int:
    if (args.biz_id is None) == (args.request_id is None):
        raise UsageError("give a BIZID or --request-id (one of them)")
    if args.request_id is not None:
        async with connect(args) as client:
            print_stored_send(out, await client.get_send(args.request_id))
        return EXIT_OK
    async with connect(args) as client:
        r = await client.get_send_status(args.biz_id)
    if out.as_json:
        out.message(r)
        return EXIT_OK
    out.line(f"bizId {r.biz_id}")
    table(
        out,
        ("NUMBER", "STATUS", "CODE", "REPORT TIME"),
        (
            (
                s.phone_number,
                enum_name(pb.DeliveryStatus, s.status, "DELIVERY_STATUS_"),
                (s.report.provider_code if s.HasField("report") else "") or "-",
                time_text(s.report.report_time) if s.HasField("report") else "-",
            )
            for s in r.recipients
        ),
    )
    out.line(
        f"total {r.total_count}: {r.delivered_count} delivered, {r.pending_count} pending, "
        f"{r.failed_count} failed"
    )
    return EXIT_OK
