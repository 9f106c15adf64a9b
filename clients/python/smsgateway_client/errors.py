"""`GatewayError`: a failed gateway call with its `google.rpc` details decoded.

The gateway answers every failure with a rich status (see the proto's error table):
`BadRequest` violations for bad input, `ErrorInfo` (domain `smsgateway`, an
UPPER_SNAKE reason, metadata such as `provider_code` or `oldest_cursor`),
`RetryInfo` when waiting helps, `QuotaFailure` when a quota is spent, and, for a send
where some provider calls failed, a `SendFailure` (counts and the first failed calls;
`SmsGatewayClient.get_send(request_id)` has every call).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.json_format import MessageToDict
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from smsgateway.v1 import smsgateway_pb2 as pb

log = logging.getLogger(__name__)

#: The `ErrorInfo.domain` of errors raised by the gateway itself.
DOMAIN = "smsgateway"


@dataclass(frozen=True, slots=True)
class QuotaViolation:
    """One exhausted quota (a `google.rpc.QuotaFailure` entry)."""

    subject: str
    """What the quota is of, e.g. `caller:billing`."""
    description: str
    """Which quota, and how it was exceeded."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One problem with one field of a request (a `google.rpc.BadRequest` entry)."""

    field: str
    """The field path, e.g. `phone_numbers[3]` or `sign`."""
    description: str
    """Why the value was refused."""


class GatewayError(Exception):
    """A gateway call that failed, with everything the caller can act on.

    Build it with `GatewayError.from_rpc_error`; the client raises it instead of
    `grpc.aio.AioRpcError` from every method.
    """

    code: grpc.StatusCode
    message: str
    reason: str
    domain: str
    metadata: Mapping[str, str]
    violations: tuple[Violation, ...]
    retry_delay: float | None
    quota_violations: tuple[QuotaViolation, ...]
    send_failure: pb.SendFailure | None
    request_id: str
    other_details: tuple[any_pb2.Any, ...]

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str = "",
        domain: str = "",
        metadata: Mapping[str, str] | None = None,
        violations: Sequence[Violation] = (),
        retry_delay: float | None = None,
        quota_violations: Sequence[QuotaViolation] = (),
        send_failure: pb.SendFailure | None = None,
        request_id: str = "",
        other_details: Sequence[any_pb2.Any] = (),
    ) -> None:
        super().__init__(code, message)
        self.code = code
        """The gRPC status code."""
        self.message = message
        """The status message."""
        self.reason = reason
        """`ErrorInfo.reason` (UPPER_SNAKE, e.g. `UPSTREAM_REJECTED`); empty without one."""
        self.domain = domain
        """`ErrorInfo.domain`; `smsgateway` for errors of the gateway itself."""
        self.metadata = MappingProxyType(dict(metadata or {}))
        """`ErrorInfo.metadata`, e.g. `provider_code`, `oldest_cursor`."""
        self.violations = tuple(violations)
        """`BadRequest` field violations, one per problem."""
        self.retry_delay = retry_delay
        """`RetryInfo.retry_delay` in seconds when the server says waiting helps."""
        self.quota_violations = tuple(quota_violations)
        """`QuotaFailure` violations (`RESOURCE_EXHAUSTED`)."""
        self.send_failure = send_failure
        """For a send with failed provider calls: the counts and the first failed calls
        (`get_send(request_id)` has every call, with its bizId)."""
        self.request_id = request_id or self.metadata.get("request_id", "")
        """The request_id of the send this error belongs to ("" for other calls), whatever
        the code, `DEADLINE_EXCEEDED` included: retry with it, or ask `get_send`."""
        self.other_details = tuple(other_details)
        """Status details this client does not decode, still packed."""

    @property
    def code_name(self) -> str:
        """The status code's name, e.g. `INVALID_ARGUMENT`."""
        return str(self.code.name)

    @property
    def retryable(self) -> bool:
        """True when the same call may succeed later (`UNAVAILABLE`)."""
        return bool(self.code == grpc.StatusCode.UNAVAILABLE)

    def __str__(self) -> str:
        text = self._headline()
        if self.violations:
            text += "; " + "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        if self.request_id:
            text += f" (request_id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return f"GatewayError({self.code_name}, {self.message!r}, reason={self.reason!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through their args by default; keep every field.
        return (_rebuild, (self.code, self.message, self._fields()))

    def _fields(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "domain": self.domain,
            "metadata": dict(self.metadata),
            "violations": self.violations,
            "retry_delay": self.retry_delay,
            "quota_violations": self.quota_violations,
            "send_failure": self.send_failure,
            "request_id": self.request_id,
            "other_details": self.other_details,
        }

    def render(self) -> str:
        """A multi-line text for people: the status, then one line per violation and detail."""
        lines = [f"error: {self._headline()}"]
        lines.extend(f"  - {v.field}: {v.description}" for v in self.violations)
        lines.extend(f"  quota {q.subject}: {q.description}" for q in self.quota_violations)
        lines.extend(
            f"  {key}: {value}"
            for key, value in sorted(self.metadata.items())
            if key != "request_id"
        )
        if self.retry_delay is not None:
            lines.append(f"  retry after {self.retry_delay:g}s")
        if self.send_failure is not None:
            f = self.send_failure
            lines.append(
                f"  partial send: {f.accepted_count} accepted, {f.failed_count} failed, "
                f"{f.unknown_count} unknown of {f.recipient_count} in {f.call_count} call(s)"
            )
            lines.extend(
                f"  call #{c.index}: {_outcome(c.outcome)}, {c.recipient_count} numbers"
                f" ({c.provider_code or '-'}: {c.message})"
                for c in f.first_failures
            )
        if self.request_id:
            lines.append(f"  request_id: {self.request_id}")
        return "\n".join(lines)

    def _headline(self) -> str:
        text = f"{self.code_name}: {self.message}"
        if self.reason and self.reason != self.code_name:
            text += f" [{self.reason}]"
        return text

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view (for `smsctl --json`)."""
        out: dict[str, Any] = {"code": self.code_name, "message": self.message}
        if self.reason:
            out["reason"] = self.reason
            out["domain"] = self.domain
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        if self.violations:
            out["violations"] = [
                {"field": v.field, "description": v.description} for v in self.violations
            ]
        if self.retry_delay is not None:
            out["retryDelaySeconds"] = self.retry_delay
        if self.quota_violations:
            out["quotaViolations"] = [
                {"subject": q.subject, "description": q.description} for q in self.quota_violations
            ]
        if self.send_failure is not None:
            out["sendFailure"] = MessageToDict(self.send_failure)
        if self.request_id:
            out["requestId"] = self.request_id
        return out

    @classmethod
    def from_rpc_error(
        cls, error: grpc.aio.AioRpcError | grpc.RpcError, *, request_id: str = ""
    ) -> GatewayError:
        """Decode a failed call: its code, message and `google.rpc.Status` details.
        `request_id` is the send's, when the call was one."""
        code = error.code()
        message = error.details() or ""
        try:
            status = rpc_status.from_call(error)
        except ValueError:
            # The rich status disagrees with the call's own status (rewritten by a proxy):
            # its details describe some other failure, so they are not used.
            log.warning("status details do not match the call's status; ignoring them")
            status = None
        if status is None:
            return cls(code, message, request_id=request_id)
        return cls.from_status(status, code=code, request_id=request_id)

    @classmethod
    def from_status(
        cls,
        status: status_pb2.Status,
        *,
        code: grpc.StatusCode | None = None,
        request_id: str = "",
    ) -> GatewayError:
        """Decode a `google.rpc.Status` message."""
        if code is None:
            code = _code_of(status.code)
        fields: dict[str, Any] = {}
        violations: list[Violation] = []
        others: list[any_pb2.Any] = []
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations.extend(Violation(v.field, v.description) for v in bad.field_violations)
            elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                fields.update(reason=info.reason, domain=info.domain, metadata=info.metadata)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                fields["retry_delay"] = retry.retry_delay.ToNanoseconds() / 1e9
            elif detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
                quota = error_details_pb2.QuotaFailure()
                detail.Unpack(quota)
                fields["quota_violations"] = [
                    QuotaViolation(v.subject, v.description) for v in quota.violations
                ]
            elif detail.Is(pb.SendFailure.DESCRIPTOR):
                failure = pb.SendFailure()
                detail.Unpack(failure)
                fields["send_failure"] = failure
            else:
                others.append(detail)
        return cls(
            code,
            status.message,
            violations=violations,
            other_details=others,
            request_id=request_id,
            **fields,
        )


def _outcome(value: int) -> str:
    try:
        return str(pb.CallOutcome.Name(value)).removeprefix("CALL_OUTCOME_")
    except ValueError:
        return str(value)


def _code_of(number: int) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


def _rebuild(code: grpc.StatusCode, message: str, fields: dict[str, Any]) -> GatewayError:
    return GatewayError(code, message, **fields)
