"""The one table from failures to gRPC status codes, with `google.rpc` details.

Servicer methods raise `ApiError` (or a domain exception listed in `_TABLE`);
`handle_errors` turns it into a rich status: `BadRequest` for bad input,
`ErrorInfo` (domain `smsgateway`, UPPER_SNAKE reason, metadata) always, and
`RetryInfo` when waiting helps. Anything unmapped becomes `INTERNAL` without
leaking its text to the caller.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from smsgateway.events.model import (
    GroupMismatchError,
    OutOfRangeError,
    TooManyGroupsError,
    UnknownGroupError,
)
from smsgateway.security.permissions import SignNotAllowedError, SignRequiredError
from smsgateway.security.ports import LimitExceededError
from smsgateway.sending.service import RequestIdConflictError, SendFailedError
from smsgateway.store_errors import StoreFullError, StoreUnavailableError
from smsgateway.upstream import errors as upstream
from smsgateway.v1 import error_reason_pb2
from smsgateway.v1 import smsgateway_pb2 as pb

DOMAIN = "smsgateway"
R = error_reason_pb2.ErrorReason
"""The proto's `ErrorReason` enum: `ErrorInfo.reason` is always the name of one of its values."""
FAILURES_IN_DETAILS = 5
"""Failed calls named in a `SendFailure` (the whole result is `GetSend`)."""
_DETAIL_TEXT_MAX = 200
_VIOLATIONS_MAX = 100
"""Numbers named in one QuotaFailure: enough to act on, bounded for huge sends."""
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One problem with one field of a request."""

    field: str
    """The field path, e.g. `phone_numbers[3]` or `filter.biz_ids[0]`."""
    description: str
    """Why the value is not acceptable."""


class ApiError(Exception):
    """A failure with everything the caller needs to act on it."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str | int,
        metadata: Mapping[str, str] | None = None,
        violations: Sequence[FieldViolation] = (),
        retry_delay: float | None = None,
        details: Sequence[Message] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # An `ErrorReason` value or its name; the caller sees the name.
        self.reason = R.Name(reason) if isinstance(reason, int) else reason
        self.metadata = dict(metadata or {})
        self.violations = tuple(violations)
        self.retry_delay = retry_delay
        self.details = tuple(details)

    def to_status(self) -> grpc.Status:
        """The rich gRPC status for this error."""
        packed: list[Message] = []
        if self.violations:
            packed.append(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in self.violations
                    ]
                )
            )
        packed.append(
            error_details_pb2.ErrorInfo(reason=self.reason, domain=DOMAIN, metadata=self.metadata)
        )
        if self.retry_delay is not None:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(int(self.retry_delay * 1e9))
            packed.append(error_details_pb2.RetryInfo(retry_delay=delay))
        packed.extend(self.details)
        anys = []
        for message in packed:
            wrapped = any_pb2.Any()
            wrapped.Pack(message)
            anys.append(wrapped)
        status = status_pb2.Status(code=self.code.value[0], message=self.message, details=anys)
        return cast(grpc.Status, rpc_status.to_status(status))


def invalid_argument(violations: Sequence[FieldViolation], message: str | None = None) -> ApiError:
    """Bad input: every violation listed."""
    if message is None:
        fields = ", ".join(dict.fromkeys(v.field.split("[")[0] for v in violations))
        message = f"invalid request: {len(violations)} violation(s) in {fields}"
    return ApiError(
        grpc.StatusCode.INVALID_ARGUMENT,
        message,
        reason=R.INVALID_ARGUMENT,
        violations=violations,
    )


def not_found(
    message: str, reason: str | int, metadata: Mapping[str, str] | None = None
) -> ApiError:
    """A named thing does not exist."""
    return ApiError(grpc.StatusCode.NOT_FOUND, message, reason=reason, metadata=metadata)


def failed_precondition(
    message: str, reason: str | int, metadata: Mapping[str, str] | None = None
) -> ApiError:
    """The system is not in a state where the call can run."""
    return ApiError(grpc.StatusCode.FAILED_PRECONDITION, message, reason=reason, metadata=metadata)


def out_of_range(
    message: str, reason: str | int, metadata: Mapping[str, str] | None = None
) -> ApiError:
    """A position outside what exists."""
    return ApiError(grpc.StatusCode.OUT_OF_RANGE, message, reason=reason, metadata=metadata)


def send_failed(exc: SendFailedError) -> ApiError:
    """A send that was not accepted whole: the status of its worst failure and a
    `SendFailure` (request_id, counts, the first few failed calls) in the details.
    Bounded whatever the number of recipients; `GetSend` has the whole result."""
    calls = exc.response.calls
    outcomes = {c.outcome for c in calls}
    meta = {
        "request_id": exc.response.request_id,
        "accepted_count": str(exc.response.accepted_count),
        "failed_count": str(exc.response.failed_count),
        "unknown_count": str(exc.response.unknown_count),
    }
    retry_delay: float | None = None
    reason: int
    if pb.CALL_OUTCOME_NOT_SENT in outcomes:
        code, reason, retry_delay = grpc.StatusCode.UNAVAILABLE, R.UPSTREAM_UNAVAILABLE, 1.0
        first = next(c for c in calls if c.outcome == pb.CALL_OUTCOME_NOT_SENT)
    elif pb.CALL_OUTCOME_REJECTED in outcomes:
        code, reason = grpc.StatusCode.FAILED_PRECONDITION, R.UPSTREAM_REJECTED
        first = next(c for c in calls if c.outcome == pb.CALL_OUTCOME_REJECTED)
        meta["provider_code"] = first.provider_code
    else:
        code, reason = grpc.StatusCode.UNKNOWN, R.UPSTREAM_OUTCOME_UNKNOWN
        first = next(c for c in calls if c.outcome == pb.CALL_OUTCOME_UNKNOWN)
    failed = [c for c in calls if c.outcome != pb.CALL_OUTCOME_ACCEPTED]
    summary = pb.SendFailure(
        request_id=exc.response.request_id,
        call_count=len(calls),
        recipient_count=exc.response.recipient_count,
        accepted_count=exc.response.accepted_count,
        failed_count=exc.response.failed_count,
        unknown_count=exc.response.unknown_count,
        replayed=exc.response.replayed,
        first_failures=[
            pb.FailedCall(
                index=c.index,
                outcome=c.outcome,
                recipient_count=len(c.phone_numbers),
                provider_code=c.provider_code[:_DETAIL_TEXT_MAX],
                message=c.message[:_DETAIL_TEXT_MAX],
            )
            for c in failed[:FAILURES_IN_DETAILS]
        ],
    )
    first_text = (first.message or R.Name(reason))[:_DETAIL_TEXT_MAX]
    return ApiError(
        code,
        f"{exc}; first failure: {first_text}",
        reason=reason,
        metadata=meta,
        retry_delay=retry_delay,
        details=[summary],
    )


def _provider_meta(exc: upstream.UpstreamError) -> dict[str, str]:
    meta = {"endpoint": exc.endpoint} if exc.endpoint else {}
    code = getattr(exc, "code", None)
    if code:
        meta["provider_code"] = str(code)
    return meta


def _upstream(exc: upstream.UpstreamError, code: grpc.StatusCode, reason: int) -> ApiError:
    return ApiError(
        code,
        str(exc),
        reason=reason,
        metadata=_provider_meta(exc),
        retry_delay=1.0 if exc.retryable else None,
    )


_LIMIT_REASONS = {
    "rate_limit": R.RATE_LIMITED,
    "daily_quota": R.DAILY_QUOTA_EXCEEDED,
    "per_number": R.VERIFICATION_CODE_LIMIT,
}


def _limit_exceeded(exc: LimitExceededError) -> ApiError:
    """RESOURCE_EXHAUSTED with a QuotaFailure (the caller's limit, or every refused number)
    and RetryInfo (when a retry may succeed)."""
    if exc.limited:
        violations = [
            error_details_pb2.QuotaFailure.Violation(
                subject=f"phone_number:{r.phone_number}", description=r.description
            )
            for r in exc.limited[:_VIOLATIONS_MAX]
        ]
    else:
        violations = [
            error_details_pb2.QuotaFailure.Violation(
                subject=f"caller:{exc.caller}", description=str(exc)
            )
        ]
    return ApiError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        str(exc),
        reason=_LIMIT_REASONS.get(exc.limit, R.RATE_LIMITED),
        metadata={"caller": exc.caller, "limit": exc.limit},
        retry_delay=max(exc.retry_after, 0.001),
        details=[error_details_pb2.QuotaFailure(violations=violations)],
    )


def _sign_not_allowed(exc: SignNotAllowedError) -> ApiError:
    return ApiError(
        grpc.StatusCode.PERMISSION_DENIED,
        str(exc),
        reason=R.SIGN_NOT_ALLOWED,
        metadata={"caller": exc.caller.name, "missing": f"sign:{exc.sign}"},
    )


def _out_of_range(exc: OutOfRangeError) -> ApiError:
    return out_of_range(str(exc), R.CURSOR_OUT_OF_RANGE, {"oldest_cursor": str(exc.oldest_cursor)})


# The table. Order matters: subclasses before their bases.
_TABLE: list[tuple[type[BaseException], Callable[[Any], ApiError]]] = [
    (
        RequestIdConflictError,
        lambda e: ApiError(
            grpc.StatusCode.ALREADY_EXISTS,
            str(e),
            reason=R.REQUEST_ID_REUSED,
            metadata={"request_id": e.request_id},
        ),
    ),
    (
        upstream.TokenUnavailableError,
        lambda e: _upstream(e, grpc.StatusCode.UNAVAILABLE, R.UPSTREAM_TOKEN_UNAVAILABLE),
    ),
    (
        upstream.TokenRejectedError,
        lambda e: _upstream(e, grpc.StatusCode.UNAVAILABLE, R.UPSTREAM_TOKEN_REJECTED),
    ),
    (
        upstream.NotSentError,
        lambda e: _upstream(e, grpc.StatusCode.UNAVAILABLE, R.UPSTREAM_UNREACHABLE),
    ),
    (
        upstream.UpstreamUnavailableError,
        lambda e: _upstream(e, grpc.StatusCode.UNAVAILABLE, R.UPSTREAM_UNAVAILABLE),
    ),
    (
        upstream.OutcomeUnknownError,
        lambda e: _upstream(e, grpc.StatusCode.UNKNOWN, R.UPSTREAM_OUTCOME_UNKNOWN),
    ),
    (
        upstream.ProviderRejectedError,
        lambda e: _upstream(e, grpc.StatusCode.FAILED_PRECONDITION, R.UPSTREAM_REJECTED),
    ),
    (
        upstream.UpstreamError,
        lambda e: _upstream(e, grpc.StatusCode.UNAVAILABLE, R.UPSTREAM_ERROR),
    ),
    (SendFailedError, send_failed),
    (LimitExceededError, _limit_exceeded),
    (SignNotAllowedError, _sign_not_allowed),
    (SignRequiredError, lambda e: invalid_argument([FieldViolation(e.field, str(e))])),
    (OutOfRangeError, _out_of_range),
    (
        StoreFullError,
        lambda e: ApiError(
            grpc.StatusCode.UNAVAILABLE, str(e), reason="STORE_FULL", retry_delay=5.0
        ),
    ),
    (
        StoreUnavailableError,
        lambda e: ApiError(
            grpc.StatusCode.UNAVAILABLE, str(e), reason="STORE_UNAVAILABLE", retry_delay=1.0
        ),
    ),
    (
        UnknownGroupError,
        lambda e: ApiError(grpc.StatusCode.ABORTED, str(e), reason=R.CONSUMER_GROUP_DELETED),
    ),
    (
        TooManyGroupsError,
        lambda e: ApiError(
            grpc.StatusCode.RESOURCE_EXHAUSTED, str(e), reason="TOO_MANY_CONSUMER_GROUPS"
        ),
    ),
    (
        GroupMismatchError,
        lambda e: failed_precondition(str(e), R.CONSUMER_GROUP_FILTER_MISMATCH),
    ),
]


def to_api_error(exc: BaseException) -> ApiError:
    """Map any failure to the `ApiError` the caller gets."""
    if isinstance(exc, ApiError):
        return exc
    for kind, build in _TABLE:
        if isinstance(exc, kind):
            return build(exc)
    log.error("unhandled error in RPC", exc_info=exc)
    return ApiError(grpc.StatusCode.INTERNAL, "internal error", reason=R.INTERNAL)


async def abort(context: grpc.aio.ServicerContext[Any, Any], exc: BaseException) -> None:
    """End the call with the status mapped from `exc`."""
    await context.abort_with_status(to_api_error(exc).to_status())


F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(method: F) -> F:
    """Wrap a servicer method (unary or server-streaming) so failures map through the table."""
    if inspect.isasyncgenfunction(method):

        @functools.wraps(method)
        async def stream(*args: Any) -> AsyncIterator[Any]:
            context = args[-1]
            try:
                # aclosing: a client that goes away ends the handler's generator
                # (and its cleanup) now, not when it is garbage-collected.
                async with contextlib.aclosing(method(*args)) as items:
                    async for item in items:
                        yield item
            except (grpc.aio.AbortError, GeneratorExit):
                raise
            except Exception as exc:
                await abort(context, exc)

        return cast(F, stream)

    @functools.wraps(method)
    async def unary(*args: Any) -> Any:
        context = args[-1]
        try:
            return await cast(Callable[..., Awaitable[Any]], method)(*args)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await abort(context, exc)

    return cast(F, unary)
