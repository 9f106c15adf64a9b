"""Conversions between the events domain (`events.model`) and the proto messages.

Shared by the streams, the list RPCs and `GetSendStatus`, so that one report
looks the same wherever it is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from smsgateway.events.model import (
    Source,
    StoredReport,
    StoredUplink,
    Stream,
    Suppression,
)
from smsgateway.v1 import smsgateway_pb2 as pb

# The provider's report codes (upstream NOTES: 10000 received; 1 submit failed,
# 4 failed, 5 blocked word, 6 review rejected, 7 black/white list, 8 over
# frequency, 9 unknown). Any other code is UNKNOWN.
STATUS_BY_CODE: dict[str, pb.DeliveryStatus] = {
    "10000": pb.DELIVERY_STATUS_DELIVERED,
    "1": pb.DELIVERY_STATUS_SUBMIT_FAILED,
    "4": pb.DELIVERY_STATUS_FAILED,
    "5": pb.DELIVERY_STATUS_BLOCKED_WORD,
    "6": pb.DELIVERY_STATUS_REVIEW_REJECTED,
    "7": pb.DELIVERY_STATUS_BLOCKLISTED,
    "8": pb.DELIVERY_STATUS_RATE_LIMITED,
    "9": pb.DELIVERY_STATUS_UNKNOWN,
}

# Statuses a stored report can have (PENDING means "no report").
REPORT_STATUSES: frozenset[pb.DeliveryStatus] = frozenset(STATUS_BY_CODE.values())

_SOURCE: dict[Source, pb.IngestSource] = {
    Source.PUSH: pb.INGEST_SOURCE_PUSH,
    Source.PULL: pb.INGEST_SOURCE_PULL,
}

_STREAM: dict[int, Stream] = {
    pb.EVENT_STREAM_DELIVERY_REPORTS: Stream.REPORTS,
    pb.EVENT_STREAM_UPLINKS: Stream.UPLINKS,
}


def delivery_status(provider_code: str) -> pb.DeliveryStatus:
    """The `DeliveryStatus` of a provider report code; UNKNOWN for codes not listed."""
    return STATUS_BY_CODE.get(provider_code, pb.DELIVERY_STATUS_UNKNOWN)


def codes_for_statuses(statuses: Iterable[int]) -> tuple[frozenset[str], bool]:
    """The provider codes that match these report statuses, and whether codes
    outside the known set match too (they do for UNKNOWN)."""
    wanted = set(statuses)
    codes = frozenset(code for code, status in STATUS_BY_CODE.items() if status in wanted)
    return codes, pb.DELIVERY_STATUS_UNKNOWN in wanted


def stream_from_proto(value: int) -> Stream | None:
    """The domain stream of an `EventStream` value; None for unspecified or unknown."""
    return _STREAM.get(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    """A Timestamp from an aware datetime (naive ones are taken as UTC)."""
    # Exact integer arithmetic, and several times cheaper than
    # Timestamp.FromDatetime (this runs for every event a stream sends).
    delta = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)) - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1_000
    )


def report_to_proto(stored: StoredReport) -> pb.DeliveryReport:
    """A stored report as the API shows it."""
    report = stored.report
    message = pb.DeliveryReport(
        cursor=stored.cursor,
        biz_id=report.biz_id,
        phone_number=report.phone_number,
        status=delivery_status(report.provider_code),
        provider_code=report.provider_code,
        success=report.success,
        message=report.message,
        sms_size=report.sms_size,
        receive_time=timestamp(stored.receive_time),
        source=_SOURCE.get(stored.source, pb.INGEST_SOURCE_UNSPECIFIED),
    )
    if report.send_time is not None:
        message.send_time.CopyFrom(timestamp(report.send_time))
    if report.report_time is not None:
        message.report_time.CopyFrom(timestamp(report.report_time))
    return message


def uplink_to_proto(stored: StoredUplink) -> pb.Uplink:
    """A stored uplink as the API shows it."""
    uplink = stored.uplink
    message = pb.Uplink(
        cursor=stored.cursor,
        phone_number=uplink.phone_number,
        content=uplink.content,
        sign=uplink.sign,
        sequence_id=uplink.sequence_id,
        receive_time=timestamp(stored.receive_time),
        source=_SOURCE.get(stored.source, pb.INGEST_SOURCE_UNSPECIFIED),
        opt_out=stored.opt_out,
    )
    if uplink.send_time is not None:
        message.send_time.CopyFrom(timestamp(uplink.send_time))
    return message


def suppression_to_proto(suppression: Suppression) -> pb.Suppression:
    """A stored suppression as the API shows it."""
    return pb.Suppression(
        sign=suppression.sign,
        phone_number=suppression.phone_number,
        reason=suppression.reason,
        create_time=timestamp(suppression.created_at),
    )
