"""Bad input: INVALID_ARGUMENT with a BadRequest naming every field and reason; nothing sent."""

from __future__ import annotations

import grpc
import pytest

from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.rich_status import details_of

GOOD = {
    "phone_numbers": ["13651688564"],
    "sign": "圆通快递",
    "content": "您的快件已签收",
    "kind": pb.SMS_KIND_NOTICE,
}

CASES = {
    "no numbers": ({"phone_numbers": []}, ["phone_numbers"]),
    "empty number": ({"phone_numbers": [""]}, ["phone_numbers[0]"]),
    "letters": ({"phone_numbers": ["1365168856a"]}, ["phone_numbers[0]"]),
    "too short": ({"phone_numbers": ["1365168856"]}, ["phone_numbers[0]"]),
    "invalid among valid": (
        {"phone_numbers": ["13651688564", "12345", "13568988547", "abc"]},
        ["phone_numbers[1]", "phone_numbers[3]"],
    ),
    "over 100,000 numbers": (
        {"phone_numbers": [f"138{i:08d}" for i in range(100_001)]},
        ["phone_numbers"],
    ),
    "empty sign": ({"sign": ""}, ["sign"]),
    "sign over 20": ({"sign": "签" * 21}, ["sign"]),
    "brackets in sign": ({"sign": "【圆通】"}, ["sign"]),
    "empty content": ({"content": ""}, ["content"]),
    "blank content": ({"content": "   "}, ["content"]),
    "content over 1000 with sign": ({"content": "字" * 995}, ["content"]),
    "unknown kind": ({"kind": 9}, ["kind"]),
    "request id too long": ({"request_id": "x" * 129}, ["request_id"]),
    "request id not ascii": ({"request_id": "请求"}, ["request_id"]),
    "everything wrong": (
        {"phone_numbers": ["x"], "sign": "", "content": ""},
        ["phone_numbers[0]", "sign", "content"],
    ),
}


@pytest.mark.parametrize("case", CASES)
async def test_send_bad_input(gateway, case: str) -> None:
    fields, expected = CASES[case]
    request = pb.SendSmsRequest(**{**GOOD, **fields})  # type: ignore[arg-type]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendSms(request)

    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(details.violations) == sorted(expected), details.violations
    assert all(details.violations.values()), "every violation says why"
    assert gateway.sandbox.requests["/sms/send"] == 0


async def test_1001_numbers_mixed_with_invalid_ones_are_all_reported(gateway) -> None:
    entries = [f"139{i:08d}" for i in range(1001)] + ["12", "foo"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendSms(pb.SendSmsRequest(**{**GOOD, "phone_numbers": entries}))
    details = details_of(caught.value)
    assert set(details.violations) == {"phone_numbers[1001]", "phone_numbers[1002]"}
    assert "12" in details.violations["phone_numbers[1001]"]


async def test_1001_valid_numbers_are_fine_and_split(gateway) -> None:
    entries = [f"139{i:08d}" for i in range(1001)]
    response = await gateway.stub.SendSms(pb.SendSmsRequest(**{**GOOD, "phone_numbers": entries}))
    assert response.accepted_count == 1001
    assert len(response.calls) == 9  # 8 x 125 + 1


TEMPLATE_GOOD = {
    "phone_numbers": ["13651688564"],
    "sign": "圆通快递",
    "template_id": "1192360392260608",
    "template_params_json": '{"code":"1234"}',
    "content": "验证码1234",
}

TEMPLATE_CASES = {
    "params not json": ({"template_params_json": "{code: 1234"}, ["template_params_json"]),
    "params empty": ({"template_params_json": ""}, ["template_params_json"]),
    "params over 100": (
        {"template_params_json": '{"a":"' + "x" * 100 + '"}'},
        ["template_params_json"],
    ),
    "template id empty": ({"template_id": ""}, ["template_id"]),
    "template id over 20": ({"template_id": "1" * 21}, ["template_id"]),
    "template id not alnum": ({"template_id": "12-34"}, ["template_id"]),
    "sign and params": (
        {"sign": "【x】", "template_params_json": "nope"},
        ["sign", "template_params_json"],
    ),
}


@pytest.mark.parametrize("case", TEMPLATE_CASES)
async def test_send_template_bad_input(gateway, case: str) -> None:
    fields, expected = TEMPLATE_CASES[case]
    request = pb.SendTemplateSmsRequest(**{**TEMPLATE_GOOD, **fields})  # type: ignore[arg-type]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendTemplateSms(request)
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(details.violations) == sorted(expected), details.violations
    assert gateway.sandbox.requests["/sms/sendTemplate"] == 0
