"""How `smsctl` prints: the `Output` sink (text or proto3 JSON) and the text renderings
of the gateway's messages (one line per event, tables, send summaries)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any, TextIO

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message

from smsgateway.v1 import smsgateway_pb2 as pb

from ..errors import GatewayError

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


def enum_name(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix)
    except ValueError:
        return str(value)


def time_text(ts: timestamp_pb2.Timestamp) -> str:
    if not ts.seconds and not ts.nanos:
        return "-"
    when = ts.ToDatetime(tzinfo=UTC)
    text = when.isoformat(timespec="milliseconds" if ts.nanos else "seconds")
    return text.replace("+00:00", "Z")


def quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def report_line(r: pb.DeliveryReport) -> str:
    return (
        f"cursor={r.cursor} bizId={r.biz_id or '-'} phone={r.phone_number} "
        f"status={enum_name(pb.DeliveryStatus, r.status, 'DELIVERY_STATUS_')} "
        f"code={r.provider_code or '-'} segments={r.sms_size} "
        f"reportTime={time_text(r.report_time)} "
        f"source={enum_name(pb.IngestSource, r.source, 'INGEST_SOURCE_')} "
        f"message={quote(r.message)}"
    )


def uplink_line(u: pb.Uplink) -> str:
    line = (
        f"cursor={u.cursor} phone={u.phone_number} sign={quote(u.sign)} "
        f"sendTime={time_text(u.send_time)} "
        f"source={enum_name(pb.IngestSource, u.source, 'INGEST_SOURCE_')} "
        f"content={quote(u.content)}"
    )
    return line + (" opt-out" if u.opt_out else "")


def suppression_line(s: pb.Suppression) -> str:
    return (
        f"sign={quote(s.sign)} phone={s.phone_number} reason={quote(s.reason)} "
        f"created={time_text(s.create_time)}"
    )


def print_send(out: Output, r: pb.SendSmsResponse | pb.SendTemplateSmsResponse) -> None:
    if out.as_json:
        out.message(r)
        return
    note = "  (replayed: answered from an earlier send, nothing sent again)" if r.replayed else ""
    out.line(f"request {r.request_id}{note}")
    out.line(f"content {quote(r.content)}")
    for call in r.calls:
        outcome = enum_name(pb.CallOutcome, call.outcome, "CALL_OUTCOME_")
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


def print_stored_send(out: Output, r: pb.GetSendResponse) -> None:
    """A send as stored (GetSend): one line per call, then one per recipient."""
    if out.as_json:
        out.message(r)
        return
    out.line(f"request {r.request_id}")
    out.line(f"content {quote(r.content)}")
    rows: list[tuple[str, ...]] = []
    for entry in r.calls:
        call = entry.call
        outcome = enum_name(pb.CallOutcome, call.outcome, "CALL_OUTCOME_")
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
                enum_name(pb.DeliveryStatus, s.status, "DELIVERY_STATUS_"),
                (s.report.provider_code if s.HasField("report") else "") or "-",
            )
            for s in entry.recipients
        )
    if rows:
        table(out, ("NUMBER", "BIZID", "STATUS", "CODE"), rows)
    out.line(
        f"total {r.recipient_count} recipients in {r.call_count} call(s): "
        f"{r.accepted_count} accepted, {r.failed_count} failed, {r.unknown_count} unknown"
    )


def table(out: Output, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    rows = [list(header), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        out.line("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def print_json(out: Output, value: Any) -> None:
    out.line(json.dumps(value, ensure_ascii=False, indent=None if out.as_json else 2))
