"""Building requests: names of enum values, stream starts, group options, filters, TLS."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal, cast

import grpc
from google.protobuf import duration_pb2, timestamp_pb2

from smsgateway.v1 import smsgateway_pb2 as pb

#: A kind of message: an `SmsKind` value or a name such as `"notice"`, `"verification-code"`.
KindLike = int | str
#: The event streams by short name, or an `EventStream` value.
StreamName = Literal["reports", "uplinks"] | int


_KINDS: Final[Mapping[str, pb.SmsKind]] = {
    "unspecified": pb.SMS_KIND_UNSPECIFIED,
    "verification-code": pb.SMS_KIND_VERIFICATION_CODE,
    "notice": pb.SMS_KIND_NOTICE,
    "marketing": pb.SMS_KIND_MARKETING,
}


def _enum_key(name: str, prefix: str) -> str:
    key = name.strip().lower().replace("_", "-")
    return key.removeprefix(prefix)


def parse_kind(kind: KindLike) -> pb.SmsKind:
    """An `SmsKind` value from a value or a name (`notice`, `SMS_KIND_NOTICE`, ...)."""
    if isinstance(kind, int):
        if kind not in pb.SmsKind.values():
            raise ValueError(f"unknown SmsKind value {kind}")
        return cast(pb.SmsKind, kind)
    key = _enum_key(kind, "sms-kind-")
    if key not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(_KINDS)}")
    return _KINDS[key]


def parse_status(status: int | str) -> pb.DeliveryStatus:
    """A `DeliveryStatus` value from a value or a name (`delivered`, `RATE_LIMITED`, ...)."""
    if isinstance(status, int):
        if status not in pb.DeliveryStatus.values():
            raise ValueError(f"unknown DeliveryStatus value {status}")
        return cast(pb.DeliveryStatus, status)
    key = _enum_key(status, "delivery-status-")
    for name, value in pb.DeliveryStatus.items():
        if value and _enum_key(name, "delivery-status-") == key:
            return cast(pb.DeliveryStatus, value)
    raise ValueError(f"unknown delivery status {status!r}")


def _parse_stream(stream: StreamName) -> pb.EventStream:
    if stream == "reports":
        return pb.EVENT_STREAM_DELIVERY_REPORTS
    if stream == "uplinks":
        return pb.EVENT_STREAM_UPLINKS
    if isinstance(stream, int) and stream in pb.EventStream.values() and stream:
        return cast(pb.EventStream, stream)
    raise ValueError(f"unknown stream {stream!r}; expected 'reports' or 'uplinks'")


def tls_credentials(
    ca_file: str | os.PathLike[str] | None = None,
    client_cert_file: str | os.PathLike[str] | None = None,
    client_key_file: str | os.PathLike[str] | None = None,
) -> grpc.ChannelCredentials:
    """TLS credentials from PEM files: the CA that signs the gateway's certificate (None:
    the system's roots) and, for mTLS, a client certificate with its key."""
    if (client_cert_file is None) != (client_key_file is None):
        raise ValueError("client_cert_file and client_key_file go together")

    def read(path: str | os.PathLike[str] | None) -> bytes | None:
        return None if path is None else Path(path).read_bytes()

    return grpc.ssl_channel_credentials(
        root_certificates=read(ca_file),
        private_key=read(client_key_file),
        certificate_chain=read(client_cert_file),
    )


def _numbers(phone_numbers: str | Iterable[str]) -> list[str]:
    # A bare string is one entry (the gateway splits it on `,`), never its characters.
    return [phone_numbers] if isinstance(phone_numbers, str) else list(phone_numbers)


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    if value.tzinfo is None:
        raise ValueError("start_time must be timezone-aware")
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def _duration(value: float | timedelta) -> duration_pb2.Duration:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    d = duration_pb2.Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def _stream_start(
    start: int | str | None, after_cursor: int | None, start_time: datetime | None
) -> pb.StreamStart | None:
    given = [x for x in (start, after_cursor, start_time) if x is not None]
    if len(given) > 1:
        raise ValueError("give at most one of start, after_cursor, start_time")
    if after_cursor is not None:
        return pb.StreamStart(after_cursor=after_cursor)
    if start_time is not None:
        return pb.StreamStart(start_time=_timestamp(start_time))
    if start is None:
        return None
    if isinstance(start, str):
        key = _enum_key(start, "start-position-")
        positions = {"latest": pb.START_POSITION_LATEST, "earliest": pb.START_POSITION_EARLIEST}
        if key not in positions:
            raise ValueError(f"unknown start {start!r}; expected 'latest' or 'earliest'")
        return pb.StreamStart(position=positions[key])
    if start not in pb.StartPosition.values():
        raise ValueError(f"unknown StartPosition value {start}")
    return pb.StreamStart(position=cast(pb.StartPosition, start))


def _group(
    group: str | None, ack_deadline: float | timedelta | None, max_outstanding: int | None
) -> pb.ConsumerGroupOptions | None:
    if group is None:
        if ack_deadline is not None or max_outstanding is not None:
            raise ValueError("ack_deadline and max_outstanding need a consumer group")
        return None
    options = pb.ConsumerGroupOptions(name=group, max_outstanding=max_outstanding or 0)
    if ack_deadline is not None:
        options.ack_deadline.CopyFrom(_duration(ack_deadline))
    return options


def _report_filter(
    biz_ids: Iterable[str],
    phone_numbers: Iterable[str],
    sign: str,
    statuses: Iterable[int | str],
) -> pb.DeliveryReportFilter:
    return pb.DeliveryReportFilter(
        biz_ids=list(biz_ids),
        phone_numbers=list(phone_numbers),
        sign=sign,
        statuses=[parse_status(s) for s in statuses],
    )
