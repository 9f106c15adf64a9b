"""Send requests to validated `SendPlan`s, or one `INVALID_ARGUMENT` listing every problem."""

from __future__ import annotations

import uuid

from smsgateway.api.errors import FieldViolation, invalid_argument
from smsgateway.messaging import (
    Violation,
    estimate_segments,
    normalize_phone_numbers,
    prepare_content,
    validate_sign,
    validate_template_id,
    validate_template_params,
)
from smsgateway.sending.service import SendPlan
from smsgateway.v1 import smsgateway_pb2 as pb

REQUEST_ID_MAX = 128
_KINDS = frozenset(pb.SmsKind.values())


def _request_id_violations(request_id: str) -> list[Violation]:
    if len(request_id) > REQUEST_ID_MAX:
        return [Violation("request_id", f"must be at most {REQUEST_ID_MAX} characters")]
    if request_id and not (request_id.isascii() and request_id.isprintable()):
        return [Violation("request_id", "must be printable ASCII (a UUID4 is recommended)")]
    return []


def _kind_violations(kind: int) -> list[Violation]:
    if kind not in _KINDS:
        return [Violation("kind", f"unknown SmsKind value {kind}")]
    return []


def _raise_if_any(violations: list[Violation]) -> None:
    if violations:
        raise invalid_argument([FieldViolation(v.field, v.description) for v in violations])


def _plan(
    request: pb.SendSmsRequest | pb.SendTemplateSmsRequest,
    method: str,
    extra: list[Violation],
    template_id: str | None = None,
    params_json: str | None = None,
) -> SendPlan:
    """The checks both sends share, plus `extra`; one error listing every violation."""
    numbers = normalize_phone_numbers(request.phone_numbers)
    violations = list(numbers.violations)
    violations += validate_sign(request.sign)
    content, content_violations = prepare_content(request.sign, request.content)
    violations += content_violations + extra
    violations += _kind_violations(request.kind)
    violations += _request_id_violations(request.request_id)
    _raise_if_any(violations)
    return SendPlan(
        method=method,
        request_id=request.request_id or str(uuid.uuid4()),
        fingerprint=SendPlan.fingerprint_of(request),
        phone_numbers=numbers.numbers,
        sign=request.sign,
        content=content,
        kind=request.kind,
        segments=estimate_segments(content),
        template_id=template_id,
        params_json=params_json,
    )


def plan_send(request: pb.SendSmsRequest) -> SendPlan:
    """Validate and normalise a `SendSmsRequest`."""
    return _plan(request, "SendSms", [])


def plan_template_send(request: pb.SendTemplateSmsRequest) -> SendPlan:
    """Validate and normalise a `SendTemplateSmsRequest`."""
    params, params_violations = validate_template_params(request.template_params_json)
    return _plan(
        request,
        "SendTemplateSms",
        validate_template_id(request.template_id) + params_violations,
        template_id=request.template_id,
        params_json=params,
    )
