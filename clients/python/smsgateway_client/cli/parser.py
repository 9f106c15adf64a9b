"""The argument parser of `smsctl`: global options, every subcommand and its options."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from typing import Any

from smsgateway.v1 import smsgateway_pb2 as pb

from ..client import DEFAULT_TARGET
from .argtypes import cursor, json_text, non_negative, phone_list, positive, rate, setting, since
from .common import DEFAULT_SANDBOX_URL, ENV_API_KEY, ENV_CA_FILE, ENV_SANDBOX_URL, ENV_TARGET
from .gateway import cmd_balance, cmd_send, cmd_send_template, cmd_status
from .output import Output
from .sandbox import (
    cmd_sandbox_config,
    cmd_sandbox_faults,
    cmd_sandbox_inject_uplink,
    cmd_sandbox_reset_secret,
    cmd_sandbox_state,
)
from .stored import (
    cmd_reports_list,
    cmd_suppressions_add,
    cmd_suppressions_list,
    cmd_suppressions_remove,
    cmd_uplinks_list,
)
from .watch import cmd_watch

Handler = Callable[[argparse.Namespace, Output], Awaitable[int]]

_KIND_CHOICES = ("verification-code", "notice", "marketing")
_STATUS_CHOICES = tuple(
    name.removeprefix("DELIVERY_STATUS_").lower().replace("_", "-")
    for name, value in pb.DeliveryStatus.items()
    if value
)


def _add_recipients(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--to",
        action="append",
        type=phone_list,
        metavar="N[,N...]",
        help="recipients, comma-separated; repeatable",
    )
    p.add_argument(
        "--to-file",
        action="append",
        metavar="PATH",
        help="a file of recipients (one per line or comma-separated; - for stdin); repeatable",
    )
    p.add_argument("--sign", required=True, help="the sign, without 【】")
    p.add_argument("--content", required=True, help="the message text")
    p.add_argument("--kind", choices=_KIND_CHOICES, help="default: left to the account")
    p.add_argument("--request-id", help="idempotency key (default: a new UUID4 per command)")


def _add_report_filters(p: argparse.ArgumentParser, reports: bool) -> None:
    p.add_argument("--phone", action="append", help="only this number; repeatable")
    p.add_argument("--sign", help="only this sign")
    if reports:
        p.add_argument("--biz-id", action="append", help="only this bizId; repeatable")
        p.add_argument(
            "--status", action="append", choices=_STATUS_CHOICES, help="only this status"
        )


def _add_paging(p: argparse.ArgumentParser) -> None:
    p.add_argument("--page-size", type=int, help="items per request (1..1000)")
    p.add_argument("--limit", type=positive(int), help="stop after this many items")


def _add_global_options(p: argparse.ArgumentParser, *, defaults: bool) -> None:
    """Global options, accepted before and after the subcommand. The subcommands' copies
    have no defaults, so they do not overwrite a value given before the subcommand."""

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    p.add_argument(
        "--target",
        default=default(os.environ.get(ENV_TARGET) or DEFAULT_TARGET),
        help=f"gateway host:port (env {ENV_TARGET}, default {DEFAULT_TARGET})",
    )
    p.add_argument(
        "--timeout",
        type=positive(float),
        default=default(30.0),
        help="deadline of each call in seconds, retries included (default 30)",
    )
    p.add_argument("--json", action="store_true", default=default(False), help="print JSON")
    p.add_argument(
        "--api-key",
        default=default(os.environ.get(ENV_API_KEY) or None),
        help=f"the caller's key, sent as `authorization: Bearer` (env {ENV_API_KEY}; prefer "
        "the variable: arguments show in process lists)",
    )
    p.add_argument(
        "--ca-file",
        default=default(os.environ.get(ENV_CA_FILE) or None),
        help=f"PEM CA that signs the gateway's TLS certificate: use TLS (env {ENV_CA_FILE})",
    )
    p.add_argument("--client-cert", default=default(None), help="PEM client certificate (mTLS)")
    p.add_argument("--client-key", default=default(None), help="PEM client key (mTLS)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `smsctl`."""
    parser = argparse.ArgumentParser(
        prog="smsctl",
        description="Operate the SMS gateway: send, check status, watch reports and uplinks.",
    )
    _add_global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def leaf(group: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
        _add_global_options(p, defaults=False)
        p.set_defaults(handler=handler, parser=p)
        return p

    p = leaf(commands, "send", cmd_send, "send a plain SMS")
    _add_recipients(p)

    p = leaf(commands, "send-template", cmd_send_template, "send an SMS from a template")
    _add_recipients(p)
    p.add_argument("--template-id", required=True, help="an approved template id")
    p.add_argument(
        "--params", required=True, type=json_text, help='template parameters, JSON: {"code":"1"}'
    )

    leaf(commands, "balance", cmd_balance, "show the account balance")

    p = leaf(
        commands,
        "status",
        cmd_status,
        "show the delivery status of one bizId, or of a whole send by its request_id",
    )
    p.add_argument("biz_id", metavar="BIZID", nargs="?")
    p.add_argument("--request-id", help="every call and recipient of this send (GetSend)")

    watch = commands.add_parser("watch", help="stream delivery reports or uplinks as they come")
    watch_streams = watch.add_subparsers(dest="stream", metavar="STREAM", required=True)
    for stream, help_text in (("reports", "delivery reports"), ("uplinks", "uplinks")):
        p = leaf(watch_streams, stream, cmd_watch, f"stream {help_text}")
        start = p.add_mutually_exclusive_group()
        start.add_argument("--from-start", action="store_true", help="from the oldest retained")
        start.add_argument(
            "--from-cursor", type=cursor, metavar="N", help="from cursor N (inclusive)"
        )
        start.add_argument(
            "--after-cursor", type=cursor, metavar="N", help="after cursor N (to resume)"
        )
        start.add_argument(
            "--since", type=since, metavar="TIME", help="ISO time (naive: UTC) or age: 15m, 2h"
        )
        _add_report_filters(p, stream == "reports")
        p.add_argument("--group", metavar="NAME", help="join a consumer group; acks what it prints")
        p.add_argument(
            "--ack-deadline", type=positive(float), metavar="S", help="group ack deadline, s"
        )
        p.add_argument(
            "--max-outstanding", type=positive(int), metavar="N", help="group unacked limit"
        )
        p.add_argument("--max-events", type=positive(int), metavar="N", help="stop after N events")

    for noun, handler, reports in (
        ("reports", cmd_reports_list, True),
        ("uplinks", cmd_uplinks_list, False),
    ):
        group = commands.add_parser(noun, help=f"stored {noun}")
        verbs = group.add_subparsers(dest="verb", metavar="VERB", required=True)
        p = leaf(verbs, "list", handler, f"list stored {noun}, oldest first")
        _add_report_filters(p, reports)
        _add_paging(p)

    group = commands.add_parser("suppressions", help="marketing opt-outs")
    verbs = group.add_subparsers(dest="verb", metavar="VERB", required=True)
    p = leaf(verbs, "list", cmd_suppressions_list, "list suppressed numbers")
    p.add_argument("--sign", help="only this sign")
    _add_paging(p)
    p = leaf(verbs, "add", cmd_suppressions_add, "suppress marketing to a number")
    p.add_argument("--sign", required=True)
    p.add_argument("--phone", required=True)
    p.add_argument("--reason", help="default: manual")
    p = leaf(verbs, "remove", cmd_suppressions_remove, "lift a suppression")
    p.add_argument("--sign", required=True)
    p.add_argument("--phone", required=True)

    group = commands.add_parser("sandbox", help="control the sandbox provider (admin API)")
    verbs = group.add_subparsers(dest="verb", metavar="VERB", required=True)

    def sandbox_leaf(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = leaf(verbs, name, handler, help_text)
        p.add_argument(
            "--sandbox-url",
            default=os.environ.get(ENV_SANDBOX_URL) or DEFAULT_SANDBOX_URL,
            help=f"sandbox base URL (env {ENV_SANDBOX_URL}, default {DEFAULT_SANDBOX_URL})",
        )
        return p

    p = sandbox_leaf("inject-uplink", cmd_sandbox_inject_uplink, "simulate a handset's reply")
    p.add_argument("--phone", required=True)
    p.add_argument("--content", required=True)
    p.add_argument("--sign", required=True)
    p.add_argument("--send-time", help="yyyy-MM-dd HH:mm:ss, UTC+8 (default: now)")
    p = sandbox_leaf("reset-secret", cmd_sandbox_reset_secret, "replace the secret, revoke token")
    p.add_argument("--secret", help="the new secret (default: a random one)")
    p.add_argument("--show-secret", action="store_true", help="print the new secret")
    p = sandbox_leaf("faults", cmd_sandbox_faults, "replace the injected faults")
    p.add_argument("--latency", type=non_negative, metavar="S", help="added delay, seconds")
    p.add_argument("--error-rate", type=rate, help="share answered with an error code")
    p.add_argument("--error-code", help="the injected error code (default 10500)")
    p.add_argument("--http-5xx-rate", type=rate, help="share answered with HTTP 5xx")
    p.add_argument("--http-5xx-status", type=int, help="the injected status (default 503)")
    p.add_argument("--malformed-rate", type=rate, help="share answered with a broken body")
    p.add_argument("--drop-rate", type=rate, help="share of connections closed unanswered")
    p.add_argument("--drop-after-processing", action="store_true", help="drop after doing the work")
    p.add_argument("--path", action="append", help="only this provider path; repeatable")
    p.add_argument("--clear", action="store_true", help="remove every fault")
    sandbox_leaf("state", cmd_sandbox_state, "show the sandbox's counters and settings")
    p = sandbox_leaf("config", cmd_sandbox_config, "change sandbox settings")
    p.add_argument(
        "settings", nargs="+", type=setting, metavar="KEY=VALUE", help="VALUE is JSON or a word"
    )
    return parser
