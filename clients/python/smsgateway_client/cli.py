"""`smsctl`: the operator's command line for the gateway (and the sandbox provider).

    smsctl send --to 13800000000,13800000001 --sign Acme --content "Hello" --kind notice
    smsctl status 12345678901234567890
    smsctl watch reports --from-start --group ops --max-events 10
    smsctl sandbox inject-uplink --phone 13800000000 --content TD --sign Acme

Exit codes: 0 success, 1 the gateway (or the sandbox) refused or failed, 2 bad usage,
130 interrupted. Errors go to stderr, one line per violation; `--json` prints responses
as proto3 JSON (one object per line for lists and streams) and errors as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message

from smsgateway.v1 import smsgateway_pb2 as pb

from .client import DEFAULT_TARGET, SmsGatewayClient
from .errors import GatewayError

#: Environment variable with the gateway address (`--target`).
ENV_TARGET = "SMSCTL_TARGET"
#: Environment variable with the caller's key (`--api-key`).
ENV_API_KEY = "SMSCTL_API_KEY"
#: Environment variable with the CA file that verifies the gateway (`--ca-file`).
ENV_CA_FILE = "SMSCTL_CA_FILE"
#: Environment variable with the sandbox base URL (`sandbox --sandbox-url`).
ENV_SANDBOX_URL = "SMSCTL_SANDBOX_URL"
DEFAULT_SANDBOX_URL = "http://127.0.0.1:8090"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_KIND_CHOICES = ("verification-code", "notice", "marketing")
_STATUS_CHOICES = tuple(
    name.removeprefix("DELIVERY_STATUS_").lower().replace("_", "-")
    for name, value in pb.DeliveryStatus.items()
    if value
)
# Spaces stay inside a number: `+86 136-5168-8564` is one recipient.
_NUMBER_SEPARATORS = re.compile(r"[,，\r\n]+")
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

log = logging.getLogger("smsctl")

# Codes after which some or all of a send may have gone out.
_OUTCOME_IN_DOUBT = frozenset(
    {
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.INTERNAL,
    }
)

Handler = Callable[[argparse.Namespace, "Output"], Awaitable[int]]


class UsageError(Exception):
    """Bad command-line input found after parsing (exit code 2)."""


class SandboxError(Exception):
    """The sandbox admin API refused a request or could not be reached (exit code 1)."""


# -- output ------------------------------------------------------------------------------


class Output:
    """Where and how results are printed (text for people, or proto3 JSON)."""

    def __init__(self, as_json: bool, out: TextIO, err: TextIO) -> None:
        self.as_json = as_json
        self.out = out
        self.err = err

    def line(self, text: str = "") -> None:
        print(text, file=self.out)

    def message(self, message: Message, *, compact: bool = False) -> None:
        """Print one response as JSON: indented, or on one line (lists and streams)."""
        text = MessageToJson(
            message,
            indent=None if compact else 2,
            always_print_fields_with_no_presence=True,
            ensure_ascii=False,
        )
        print(text, file=self.out)

    def flush(self) -> None:
        self.out.flush()

    def error(self, error: GatewayError) -> None:
        if self.as_json:
            print(json.dumps({"error": error.to_json()}, ensure_ascii=False), file=self.err)
        else:
            print(error.render(), file=self.err)
            if error.request_id and (
                error.send_failure is not None or error.code in _OUTCOME_IN_DOUBT
            ):
                # The outcome of a send that failed or timed out is not lost: say how to
                # learn it, and how to finish it without sending anything twice.
                print(
                    f"  smsctl status --request-id {error.request_id} shows every call; "
                    f"the same command with --request-id {error.request_id} resumes the "
                    "send (only what did not go out is sent)",
                    file=self.err,
                )


def _enum(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix)
    except ValueError:
        return str(value)


def _time(ts: timestamp_pb2.Timestamp) -> str:
    if not ts.seconds and not ts.nanos:
        return "-"
    when = ts.ToDatetime(tzinfo=UTC)
    text = when.isoformat(timespec="milliseconds" if ts.nanos else "seconds")
    return text.replace("+00:00", "Z")


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _report_line(r: pb.DeliveryReport) -> str:
    return (
        f"cursor={r.cursor} bizId={r.biz_id or '-'} phone={r.phone_number} "
        f"status={_enum(pb.DeliveryStatus, r.status, 'DELIVERY_STATUS_')} "
        f"code={r.provider_code or '-'} segments={r.sms_size} "
        f"reportTime={_time(r.report_time)} "
        f"source={_enum(pb.IngestSource, r.source, 'INGEST_SOURCE_')} "
        f"message={_quote(r.message)}"
    )


def _uplink_line(u: pb.Uplink) -> str:
    line = (
        f"cursor={u.cursor} phone={u.phone_number} sign={_quote(u.sign)} "
        f"sendTime={_time(u.send_time)} "
        f"source={_enum(pb.IngestSource, u.source, 'INGEST_SOURCE_')} "
        f"content={_quote(u.content)}"
    )
    return line + (" opt-out" if u.opt_out else "")


def _suppression_line(s: pb.Suppression) -> str:
    return (
        f"sign={_quote(s.sign)} phone={s.phone_number} reason={_quote(s.reason)} "
        f"created={_time(s.create_time)}"
    )


def _print_send(out: Output, r: pb.SendSmsResponse | pb.SendTemplateSmsResponse) -> None:
    if out.as_json:
        out.message(r)
        return
    note = "  (replayed: answered from an earlier send, nothing sent again)" if r.replayed else ""
    out.line(f"request {r.request_id}{note}")
    out.line(f"content {_quote(r.content)}")
    for call in r.calls:
        outcome = _enum(pb.CallOutcome, call.outcome, "CALL_OUTCOME_")
        line = (
            f"#{call.index}  bizId {call.biz_id or '-'}  {outcome}  "
            f"{len(call.phone_numbers)} numbers"
        )
        if call.outcome != pb.CALL_OUTCOME_ACCEPTED and (call.provider_code or call.message):
            line += f"  ({call.provider_code or '-'}: {call.message})"
        out.line(line)
    out.line(
        f"total {r.recipient_count} recipients: {r.accepted_count} accepted, "
        f"{r.failed_count} failed, {r.unknown_count} unknown, "
        f"{len(r.suppressed_phone_numbers)} suppressed; "
        f"{r.segments_per_message} segment(s) per message"
    )
    if r.suppressed_phone_numbers:
        out.line("suppressed " + ",".join(r.suppressed_phone_numbers))


def _table(out: Output, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    rows = [list(header), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        out.line("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


# -- argument types ----------------------------------------------------------------------


def _split_numbers(text: str) -> list[str]:
    return [n for n in (part.strip() for part in _NUMBER_SEPARATORS.split(text)) if n]


def _phone_list(text: str) -> list[str]:
    numbers = _split_numbers(text)
    if not numbers:
        raise argparse.ArgumentTypeError("no phone number given")
    return numbers


def _json_text(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict | list):
        raise argparse.ArgumentTypeError("must be a JSON object or array")
    return text


def _since(text: str) -> datetime:
    """An ISO 8601 time (naive means UTC) or an age such as 30s, 15m, 2h, 1d."""
    match = _RELATIVE.match(text.strip())
    if match:
        amount, unit = match.groups()
        return datetime.now(UTC) - timedelta(seconds=float(amount) * _UNITS[unit])
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected an ISO 8601 time (2026-01-31T08:00:00Z) or an age (30s, 15m, 2h, 1d)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _cursor(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _positive(kind: Callable[[str], float]) -> Callable[[str], Any]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError("must be > 0")
        return value

    return parse


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be within 0..1")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _setting(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw  # a bare word is a string
    return key, value


# -- gateway commands --------------------------------------------------------------------


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
        numbers.extend(_split_numbers(text))
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
                _print_stored_send(out, stored)
        raise
    _print_send(out, response)
    return EXIT_OK


def _print_stored_send(out: Output, r: pb.GetSendResponse) -> None:
    """A send as stored (GetSend): one line per call, then one per recipient."""
    if out.as_json:
        out.message(r)
        return
    out.line(f"request {r.request_id}")
    out.line(f"content {_quote(r.content)}")
    rows: list[tuple[str, ...]] = []
    for entry in r.calls:
        call = entry.call
        outcome = _enum(pb.CallOutcome, call.outcome, "CALL_OUTCOME_")
        line = (
            f"#{call.index}  bizId {call.biz_id or '-'}  {outcome}  "
            f"{len(call.phone_numbers)} numbers"
        )
        if call.outcome == pb.CALL_OUTCOME_ACCEPTED:
            line += (
                f"  ({entry.delivered_count} delivered, {entry.pending_count} pending, "
                f"{entry.undelivered_count} not delivered)"
            )
        elif call.provider_code or call.message:
            line += f"  ({call.provider_code or '-'}: {call.message})"
        out.line(line)
        rows.extend(
            (
                s.phone_number,
                call.biz_id,
                _enum(pb.DeliveryStatus, s.status, "DELIVERY_STATUS_"),
                (s.report.provider_code if s.HasField("report") else "") or "-",
            )
            for s in entry.recipients
        )
    if rows:
        _table(out, ("NUMBER", "BIZID", "STATUS", "CODE"), rows)
    out.line(
        f"total {r.recipient_count} recipients in {r.call_count} call(s): "
        f"{r.accepted_count} accepted, {r.failed_count} failed, {r.unknown_count} unknown"
    )


async def cmd_send(args: argparse.Namespace, out: Output) -> int:
    numbers = _recipients(args)
    async with _client(args) as client:
        send = client.send_sms(
            numbers, args.sign, args.content, args.kind or "unspecified", args.request_id
        )
        return await _send_and_print(out, client, send)


async def cmd_send_template(args: argparse.Namespace, out: Output) -> int:
    numbers = _recipients(args)
    async with _client(args) as client:
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
    async with _client(args) as client:
        response = await client.get_balance_response()
    if out.as_json:
        out.message(response)
    else:
        out.line(f"balance {response.balance}  (read {_time(response.fetch_time)})")
    return EXIT_OK


async def cmd_status(args: argparse.Namespace, out: Output) -> int:
    if (args.biz_id is None) == (args.request_id is None):
        raise UsageError("give a BIZID or --request-id (one of them)")
    if args.request_id is not None:
        async with _client(args) as client:
            _print_stored_send(out, await client.get_send(args.request_id))
        return EXIT_OK
    async with _client(args) as client:
        r = await client.get_send_status(args.biz_id)
    if out.as_json:
        out.message(r)
        return EXIT_OK
    out.line(f"bizId {r.biz_id}")
    _table(
        out,
        ("NUMBER", "STATUS", "CODE", "REPORT TIME"),
        (
            (
                s.phone_number,
                _enum(pb.DeliveryStatus, s.status, "DELIVERY_STATUS_"),
                (s.report.provider_code if s.HasField("report") else "") or "-",
                _time(s.report.report_time) if s.HasField("report") else "-",
            )
            for s in r.recipients
        ),
    )
    out.line(
        f"total {r.total_count}: {r.delivered_count} delivered, {r.pending_count} pending, "
        f"{r.failed_count} failed"
    )
    return EXIT_OK


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
    async with _client(args) as client:
        events: AsyncGenerator[Any, None]
        if reports:
            events = client.stream_delivery_reports(
                biz_ids=args.biz_id or [], statuses=args.status or [], **options
            )
        else:
            events = client.stream_uplinks(**options)
        render: Callable[[Any], str] = _report_line if reports else _uplink_line
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
    async with _client(args) as client:
        pages = client.list_delivery_reports(
            biz_ids=args.biz_id or [],
            phone_numbers=args.phone or [],
            sign=args.sign or "",
            statuses=args.status or [],
            page_size=_page_size(args),
        )
        return await _print_pages(out, pages, lambda p: p.reports, _report_line, args.limit)


async def cmd_uplinks_list(args: argparse.Namespace, out: Output) -> int:
    async with _client(args) as client:
        pages = client.list_uplinks(
            phone_numbers=args.phone or [], sign=args.sign or "", page_size=_page_size(args)
        )
        return await _print_pages(out, pages, lambda p: p.uplinks, _uplink_line, args.limit)


async def cmd_suppressions_list(args: argparse.Namespace, out: Output) -> int:
    async with _client(args) as client:
        pages = client.list_suppressions(sign=args.sign or "", page_size=_page_size(args))
        return await _print_pages(
            out, pages, lambda p: p.suppressions, _suppression_line, args.limit
        )


async def cmd_suppressions_add(args: argparse.Namespace, out: Output) -> int:
    async with _client(args) as client:
        suppression = await client.add_suppression(args.sign, args.phone, args.reason or "")
    if out.as_json:
        out.message(suppression)
    else:
        out.line("suppressed " + _suppression_line(suppression))
    return EXIT_OK


async def cmd_suppressions_remove(args: argparse.Namespace, out: Output) -> int:
    async with _client(args) as client:
        removed = await client.remove_suppression(args.sign, args.phone)
    if out.as_json:
        out.message(pb.RemoveSuppressionResponse(removed=removed))
    elif removed:
        out.line(f"removed {args.phone} from the suppression list of {_quote(args.sign)}")
    else:
        out.line(f"{args.phone} was not suppressed for {_quote(args.sign)}")
    return EXIT_OK


def _page_size(args: argparse.Namespace) -> int:
    size: int = args.page_size or 0
    if args.limit is not None and not size:
        size = min(args.limit, 1000)  # do not fetch a default page of 100 to show 3
    return size


def _client(args: argparse.Namespace) -> SmsGatewayClient:
    try:
        return SmsGatewayClient(
            args.target,
            timeout=args.timeout,
            api_key=args.api_key or None,
            ca_file=args.ca_file,
            client_cert_file=args.client_cert,
            client_key_file=args.client_key,
        )
    except (OSError, ValueError) as exc:  # an unreadable CA file, a cert without its key
        raise UsageError(f"TLS options: {exc}") from None


# -- sandbox commands --------------------------------------------------------------------


async def _sandbox(
    args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None
) -> Any:
    try:
        import aiohttp
    except ImportError:
        raise SandboxError(
            "the sandbox commands need aiohttp: pip install 'smsgateway-client[sandbox]'"
        ) from None
    url = args.sandbox_url.rstrip("/") + path
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, url, json=body) as response,
        ):
            text = await response.text()
            if response.status >= 400:
                raise SandboxError(f"{method} {url}: HTTP {response.status}: {text[:500]}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SandboxError(f"{method} {url}: {exc or type(exc).__name__}") from None
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        raise SandboxError(f"{method} {url}: answer is not JSON: {text[:200]}") from None


def _print_json(out: Output, value: Any) -> None:
    out.line(json.dumps(value, ensure_ascii=False, indent=None if out.as_json else 2))


async def cmd_sandbox_inject_uplink(args: argparse.Namespace, out: Output) -> int:
    body = {"phoneNumber": args.phone, "content": args.content, "sign": args.sign}
    if args.send_time:
        body["sendTime"] = args.send_time
    stored = await _sandbox(args, "POST", "/admin/uplinks", body)
    _print_json(out, stored)
    return EXIT_OK


async def cmd_sandbox_reset_secret(args: argparse.Namespace, out: Output) -> int:
    body = {"secret": args.secret} if args.secret else {}
    answer = await _sandbox(args, "POST", "/admin/reset-secret", body)
    # The new secret is printed only on request: terminals get recorded and shared.
    if args.show_secret:
        _print_json(out, answer)
    elif out.as_json:
        _print_json(out, {"reset": True})
    else:
        out.line("secret reset; the current token is revoked (--show-secret prints the secret)")
    return EXIT_OK


_FAULT_OPTIONS = (
    ("latency", "latency_seconds"),
    ("error_rate", "error_rate"),
    ("error_code", "error_code"),
    ("http_5xx_rate", "http_5xx_rate"),
    ("http_5xx_status", "http_5xx_status"),
    ("malformed_rate", "malformed_rate"),
    ("drop_rate", "drop_rate"),
)


async def cmd_sandbox_faults(args: argparse.Namespace, out: Output) -> int:
    body: dict[str, Any] = {
        key: getattr(args, option)
        for option, key in _FAULT_OPTIONS
        if getattr(args, option) is not None
    }
    if args.drop_after_processing:
        body["drop_after_processing"] = True
    if args.path:
        body["paths"] = args.path
    if args.clear and body:
        raise UsageError("--clear takes no other fault option")
    if not args.clear and not body:
        raise UsageError("give fault options (they replace the current faults) or --clear")
    _print_json(out, await _sandbox(args, "POST", "/admin/faults", body))
    return EXIT_OK


async def cmd_sandbox_state(args: argparse.Namespace, out: Output) -> int:
    _print_json(out, await _sandbox(args, "GET", "/admin/state"))
    return EXIT_OK


async def cmd_sandbox_config(args: argparse.Namespace, out: Output) -> int:
    _print_json(out, await _sandbox(args, "POST", "/admin/config", dict(args.settings)))
    return EXIT_OK


# -- parser ------------------------------------------------------------------------------


def _add_recipients(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--to",
        action="append",
        type=_phone_list,
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
    p.add_argument("--limit", type=_positive(int), help="stop after this many items")


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
        type=_positive(float),
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
        "--params", required=True, type=_json_text, help='template parameters, JSON: {"code":"1"}'
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
            "--from-cursor", type=_cursor, metavar="N", help="from cursor N (inclusive)"
        )
        start.add_argument(
            "--after-cursor", type=_cursor, metavar="N", help="after cursor N (to resume)"
        )
        start.add_argument(
            "--since", type=_since, metavar="TIME", help="ISO time (naive: UTC) or age: 15m, 2h"
        )
        _add_report_filters(p, stream == "reports")
        p.add_argument("--group", metavar="NAME", help="join a consumer group; acks what it prints")
        p.add_argument(
            "--ack-deadline", type=_positive(float), metavar="S", help="group ack deadline, s"
        )
        p.add_argument(
            "--max-outstanding", type=_positive(int), metavar="N", help="group unacked limit"
        )
        p.add_argument("--max-events", type=_positive(int), metavar="N", help="stop after N events")

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
    p.add_argument("--latency", type=_non_negative, metavar="S", help="added delay, seconds")
    p.add_argument("--error-rate", type=_rate, help="share answered with an error code")
    p.add_argument("--error-code", help="the injected error code (default 10500)")
    p.add_argument("--http-5xx-rate", type=_rate, help="share answered with HTTP 5xx")
    p.add_argument("--http-5xx-status", type=int, help="the injected status (default 503)")
    p.add_argument("--malformed-rate", type=_rate, help="share answered with a broken body")
    p.add_argument("--drop-rate", type=_rate, help="share of connections closed unanswered")
    p.add_argument("--drop-after-processing", action="store_true", help="drop after doing the work")
    p.add_argument("--path", action="append", help="only this provider path; repeatable")
    p.add_argument("--clear", action="store_true", help="remove every fault")
    sandbox_leaf("state", cmd_sandbox_state, "show the sandbox's counters and settings")
    p = sandbox_leaf("config", cmd_sandbox_config, "change sandbox settings")
    p.add_argument(
        "settings", nargs="+", type=_setting, metavar="KEY=VALUE", help="VALUE is JSON or a word"
    )
    return parser


# -- entry point -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run `smsctl` with `argv` (default: the process arguments); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, format="smsctl: %(message)s", stream=sys.stderr)
    out = Output(args.json, sys.stdout, sys.stderr)
    try:
        code: int = asyncio.run(args.handler(args, out))
        return code
    except UsageError as exc:
        args.parser.print_usage(sys.stderr)
        print(f"{args.parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GatewayError as error:
        out.error(error)
        return EXIT_FAILED
    except SandboxError as exc:
        print(f"smsctl: sandbox: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `smsctl watch reports | head`: the reader left. What was not printed was not
        # acknowledged either; stop quietly, as other command-line tools do.
        _silence_stdout()
        return EXIT_OK


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (tests, embedding)
        pass


if __name__ == "__main__":
    sys.exit(main())
