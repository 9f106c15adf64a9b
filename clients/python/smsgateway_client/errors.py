"""`GatewayError`: a failed gateway call with its `google.rpc` details decoded.

The gateway answers every failure with a rich status (see the proto's error table):
`BadRequest` violations for bad input, `ErrorInfo` (domain `smsgateway`, an
UPPER_SNAKE reason, metadata such as `provider_code` or `oldest_cursor`),
`RetryInfo` when waiting helps, and, for a send where some provider calls failed,
the partial `SendSmsResponse`/`SendTemplateSmsResponse` saying which calls went out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from smsgateway.v1 import smsgateway_pb2 as pb

log = logging.getLogger(__name__)

#: The `ErrorInfo.domain` of errors raised by the gateway itself.
DOMAIN = "smsgateway"


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
    partial_response: pb.SendSmsResponse | pb.SendTemplateSmsResponse | None
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
        partial_response: pb.SendSmsResponse | pb.SendTemplateSmsResponse | None = None,
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
        self.partial_response = partial_response
        """For a send with failed provider calls: which calls went out, with their bizIds."""
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
            "partial_response": self.partial_response,
            "other_details": self.other_details,
        }

    def render(self) -> str:
        """A multi-line text for people: the status, then one line per violation and detail."""
        lines = [f"error: {self._headline()}"]
        lines.extend(f"  - {v.field}: {v.description}" for v in self.violations)
        lines.extend(f"  {key}: {value}" for key, value in sorted(self.metadata.items()))
        if self.retry_delay is not None:
            lines.append(f"  retry after {self.retry_delay:g}s")
        if self.partial_response is not None:
            r = self.partial_response
            lines.append(
                f"  partial send {r.request_id}: {r.accepted_count} accepted, "
                f"{r.failed_count} failed, {r.unknown_count} unknown of {r.recipient_count}"
            )
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
        return out

    @classmethod
    def from_rpc_error(cls, error: grpc.aio.AioRpcError | grpc.RpcError) -> GatewayError:
        """Decode a failed call: its code, message and `google.rpc.Status` details."""
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
            return cls(code, message)
        return cls.from_status(status, code=code)

    @classmethod
    def from_status(
        cls, status: status_pb2.Status, *, code: grpc.StatusCode | None = None
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
            elif detail.Is(pb.SendSmsResponse.DESCRIPTOR):
                partial = pb.SendSmsResponse()
                detail.Unpack(partial)
                fields["partial_response"] = partial
            elif detail.Is(pb.SendTemplateSmsResponse.DESCRIPTOR):
                partial_template = pb.SendTemplateSmsResponse()
                detail.Unpack(partial_template)
                fields["partial_response"] = partial_template
            else:
                others.append(detail)
        return cls(code, status.message, violations=violations, other_details=others, **fields)


def _code_of(number: int) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


def _rebuild(code: grpc.StatusCode, message: str, fields: dict[str, Any]) -> GatewayError:
    return GatewayError(code, message, **fields)
