"""GatewayError: rich statuses decoded from real failed calls, and rendered for people."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway_client import GatewayError, RetryPolicy, SmsGatewayClient, Violation
from smsgateway_client.errors import QuotaViolation


async def _fail_with(gateway, status) -> GatewayError:
    gateway.fake.script["SendSms"] = [status]
    async with SmsGatewayClient(gateway.target, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(GatewayError) as caught:
            await client.send_sms(["13800000000", "12"], "Acme", "Hi", request_id="r-test")
    return caught.value


async def test_bad_request_violations_are_decoded_and_rendered_one_per_line(
    gateway, status_factory
):
    error = await _fail_with(
        gateway,
        status_factory(
            grpc.StatusCode.INVALID_ARGUMENT,
            "invalid request: 2 violation(s) in phone_numbers, sign",
            reason="INVALID_ARGUMENT",
            violations=[
                ("phone_numbers[1]", "'12' is not a valid phone number"),
                ("sign", "must be 1 to 20 characters"),
            ],
        ),
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.violations == (
        Violation("phone_numbers[1]", "'12' is not a valid phone number"),
        Violation("sign", "must be 1 to 20 characters"),
    )
    assert not error.retryable
    assert error.render().splitlines() == [
        "error: INVALID_ARGUMENT: invalid request: 2 violation(s) in phone_numbers, sign",
        "  - phone_numbers[1]: '12' is not a valid phone number",
        "  - sign: must be 1 to 20 characters",
        "  request_id: r-test",  # every error of a send names it
    ]
    assert "phone_numbers[1]: '12' is not a valid phone number" in str(error)


async def test_error_info_and_retry_info_are_decoded(gateway, status_factory):
    error = await _fail_with(
        gateway,
        status_factory(
            grpc.StatusCode.UNAVAILABLE,
            "provider answered HTTP 503",
            reason="UPSTREAM_UNAVAILABLE",
            metadata={"provider_code": "503", "endpoint": "/sms/send"},
            retry_delay=1.25,
        ),
    )
    assert (error.reason, error.domain) == ("UPSTREAM_UNAVAILABLE", "smsgateway")
    assert dict(error.metadata) == {"provider_code": "503", "endpoint": "/sms/send"}
    assert error.retry_delay == 1.25 and error.retryable
    assert error.render().splitlines() == [
        "error: UNAVAILABLE: provider answered HTTP 503 [UPSTREAM_UNAVAILABLE]",
        "  endpoint: /sms/send",
        "  provider_code: 503",
        "  retry after 1.25s",
        "  request_id: r-test",
    ]
    assert error.to_json() == {
        "code": "UNAVAILABLE",
        "message": "provider answered HTTP 503",
        "reason": "UPSTREAM_UNAVAILABLE",
        "domain": "smsgateway",
        "metadata": {"provider_code": "503", "endpoint": "/sms/send"},
        "requestId": "r-test",
        "retryDelaySeconds": 1.25,
    }


async def test_template_send_failure_and_unknown_details(gateway, status_factory):
    partial = pb.SendFailure(request_id="t-1", call_count=1, recipient_count=3, unknown_count=3)
    debug = error_details_pb2.DebugInfo(detail="trace 42")
    error = await _fail_with(
        gateway,
        status_factory(
            grpc.StatusCode.UNKNOWN,
            "outcome unknown",
            reason="UPSTREAM_OUTCOME_UNKNOWN",
            extra=[partial, debug],
        ),
    )
    assert error.send_failure == partial
    assert len(error.other_details) == 1 and error.other_details[0].Is(debug.DESCRIPTOR)
    assert "partial send: 0 accepted, 0 failed, 3 unknown of 3 in 1 call(s)" in error.render()


async def test_plain_status_without_details(gateway):
    @dataclass
    class Plain(grpc.Status):
        code: grpc.StatusCode
        details: str
        trailing_metadata: tuple[tuple[str, bytes], ...] = ()

    error = await _fail_with(gateway, Plain(grpc.StatusCode.PERMISSION_DENIED, "not you"))
    assert (error.code, error.message, error.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "not you",
        "",
    )
    assert error.render() == "error: PERMISSION_DENIED: not you\n  request_id: r-test"


async def test_details_that_contradict_the_call_status_are_ignored(gateway):
    @dataclass
    class Rewritten(grpc.Status):
        code: grpc.StatusCode
        details: str
        trailing_metadata: tuple[tuple[str, bytes], ...]

    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason="SOMETHING_ELSE", domain="smsgateway"))
    stale = status_pb2.Status(code=grpc.StatusCode.NOT_FOUND.value[0], message="x", details=[info])
    error = await _fail_with(
        gateway,
        Rewritten(
            grpc.StatusCode.INTERNAL,
            "proxy error",
            (("grpc-status-details-bin", stale.SerializeToString()),),
        ),
    )
    assert error.code == grpc.StatusCode.INTERNAL and error.message == "proxy error"
    assert error.reason == ""


async def test_statuses_built_by_the_server_error_table_decode(gateway):
    """The contract with the real server: `smsgateway.api.errors.ApiError.to_status`."""
    errors = pytest.importorskip("smsgateway.api.errors")
    api_error = errors.ApiError(
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid request",
        reason="INVALID_ARGUMENT",
        violations=[errors.FieldViolation("phone_numbers[0]", "too short")],
        retry_delay=0.5,
        details=[pb.SendFailure(request_id="r-9")],
        metadata={"k": "v"},
    )
    error = await _fail_with(gateway, api_error.to_status())
    assert error.violations == (Violation("phone_numbers[0]", "too short"),)
    assert (error.reason, error.domain, dict(error.metadata)) == (
        "INVALID_ARGUMENT",
        "smsgateway",
        {"k": "v"},
    )
    assert error.retry_delay == 0.5
    assert error.send_failure is not None and error.send_failure.request_id == "r-9"


def test_gateway_error_pickles_with_all_fields():
    error = GatewayError(
        grpc.StatusCode.INVALID_ARGUMENT,
        "bad",
        reason="INVALID_ARGUMENT",
        domain="smsgateway",
        metadata={"a": "b"},
        violations=[Violation("sign", "empty")],
        retry_delay=2.0,
        quota_violations=[QuotaViolation("caller:billing", "daily recipient quota")],
        send_failure=pb.SendFailure(request_id="r"),
        request_id="r",
    )
    copy = pickle.loads(pickle.dumps(error))
    assert copy.to_json() == error.to_json()
    assert copy.send_failure == error.send_failure
    assert copy.quota_violations == error.quota_violations and copy.request_id == "r"
    assert repr(copy) == "GatewayError(INVALID_ARGUMENT, 'bad', reason='INVALID_ARGUMENT')"
