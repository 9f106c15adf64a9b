"""Decode the google.rpc details of a failed call, for assertions."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from smsgateway.v1 import smsgateway_pb2 as pb


@dataclass
class Details:
    code: grpc.StatusCode
    message: str
    violations: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    retry_delay: float | None = None
    partial: Message | None = None


def details_of(err: grpc.aio.AioRpcError) -> Details:
    status = rpc_status.from_call(err)
    out = Details(err.code(), err.details() or "")
    if status is None:
        return out
    for any_ in status.details:
        if any_.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            any_.Unpack(bad)
            out.violations = {v.field: v.description for v in bad.field_violations}
        elif any_.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            any_.Unpack(info)
            out.reason, out.domain, out.metadata = info.reason, info.domain, dict(info.metadata)
        elif any_.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            any_.Unpack(retry)
            out.retry_delay = retry.retry_delay.ToTimedelta().total_seconds()
        elif any_.Is(pb.SendFailure.DESCRIPTOR):
            failure = pb.SendFailure()
            any_.Unpack(failure)
            out.partial = failure
        elif any_.Is(pb.SendSmsResponse.DESCRIPTOR):
            partial = pb.SendSmsResponse()
            any_.Unpack(partial)
            out.partial = partial
        elif any_.Is(pb.SendTemplateSmsResponse.DESCRIPTOR):
            partial_t = pb.SendTemplateSmsResponse()
            any_.Unpack(partial_t)
            out.partial = partial_t
    return out
