"""The fingerprint of a send: what a retry must match (stored in idempotency records)."""

from __future__ import annotations

import hashlib

from smsgateway.sending.plan import SendPlan
from smsgateway.v1 import smsgateway_pb2 as pb


def _request(**fields: object) -> pb.SendSmsRequest:
    base: dict[str, object] = {
        "phone_numbers": ["13800000000", "13900000000"],
        "sign": "Acme",
        "content": "hello",
        "kind": pb.SMS_KIND_NOTICE,
        "request_id": "r-1",
    }
    base.update(fields)
    return pb.SendSmsRequest(**base)  # type: ignore[arg-type]


def test_the_fingerprint_leaves_out_the_request_id_and_the_request_untouched() -> None:
    request = _request()
    fingerprint = SendPlan.fingerprint_of(request)
    # Exactly the bytes of records written by earlier versions (hash of a copy without it).
    copy = pb.SendSmsRequest()
    copy.CopyFrom(request)
    copy.request_id = ""
    expected = hashlib.sha256(b"smsgateway.v1.SendSmsRequest")
    expected.update(copy.SerializeToString(deterministic=True))
    assert fingerprint == expected.digest()
    assert request.request_id == "r-1" and request == _request()
    assert SendPlan.fingerprint_of(_request(request_id="other")) == fingerprint


def test_any_other_field_or_the_request_type_changes_the_fingerprint() -> None:
    fingerprint = SendPlan.fingerprint_of(_request())
    for changed in (
        _request(content="hello!"),
        _request(sign="Other"),
        _request(kind=pb.SMS_KIND_MARKETING),
        _request(phone_numbers=["13900000000", "13800000000"]),
    ):
        assert SendPlan.fingerprint_of(changed) != fingerprint
    template = pb.SendTemplateSmsRequest(
        phone_numbers=["13800000000", "13900000000"], sign="Acme", request_id="r-1"
    )
    assert SendPlan.fingerprint_of(template) != SendPlan.fingerprint_of(
        pb.SendSmsRequest(phone_numbers=["13800000000", "13900000000"], sign="Acme")
    )
