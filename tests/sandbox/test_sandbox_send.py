"""/sms/send and /sms/sendTemplate: limits, bizIds, billing, balance rendering."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sandbox_helpers import CONTENT, SIGN, StartSandbox, Wire, fast_config

NUMBER = "13900000001"


async def test_send_accepted_with_20_digit_biz_id(wire: Wire) -> None:
    status, body = await wire.send(phoneNumbers="13900000001，13900000002, 13900000003", kind="1")

    assert status == 200
    assert body["code"] == "10000" and body["message"] == "操作成功"
    assert re.fullmatch(r"[1-9]\d{19}", body["bizId"])
    [batch] = wire.provider.batches
    assert batch.biz_id == body["bizId"]
    assert batch.phone_numbers == ("13900000001", "13900000002", "13900000003")
    assert (batch.sign, batch.content, batch.kind, batch.segments) == (SIGN, CONTENT, "1", 1)
    assert batch.template_id is None


async def test_biz_ids_differ_and_are_reproducible_with_a_seed(
    start_sandbox: StartSandbox,
) -> None:
    runs = []
    for _ in range(2):
        wire = await start_sandbox(fast_config(seed=42))
        runs.append([(await wire.send(phoneNumbers=NUMBER))[1]["bizId"] for _ in range(3)])
    assert len(set(runs[0])) == 3
    assert runs[0] == runs[1]


BAD_SENDS = [
    ("1001 numbers", {"phoneNumbers": ",".join(["1"] * 1001)}, "phoneNumbers", "1000"),
    ("1501 chars", {"phoneNumbers": ",".join([NUMBER] * 125) + "1111"}, "phoneNumbers", "1500"),
    ("not a number", {"phoneNumbers": f"{NUMBER},abc"}, "phoneNumbers", "item 2"),
    ("empty item", {"phoneNumbers": f"{NUMBER},,{NUMBER}"}, "phoneNumbers", "item 2"),
    ("no numbers", {"phoneNumbers": ""}, "phoneNumbers", "required"),
    ("21-char sign", {"sign": "签" * 21, "content": f"【{'签' * 21}】hi"}, "sign", "20"),
    ("【】 in sign", {"sign": "【圆通】", "content": "【【圆通】】hi"}, "sign", "【】"),
    ("no sign", {"sign": ""}, "sign", "required"),
    ("content without 【sign】", {"content": "你的快件已签收"}, "content", f"【{SIGN}】"),
    ("1001-char content", {"content": f"【{SIGN}】" + "x" * 995}, "content", "1000"),
    ("missing kind", {"kind": ""}, "kind", "required"),
    ("unknown kind", {"kind": "4"}, "kind", "1, 2 or 3"),
]


@pytest.mark.parametrize(
    ("fields", "param", "detail"),
    [case[1:] for case in BAD_SENDS],
    ids=[case[0] for case in BAD_SENDS],
)
async def test_send_parameter_errors(
    wire: Wire, fields: dict[str, str], param: str, detail: str
) -> None:
    status, body = await wire.send(**{"phoneNumbers": NUMBER, **fields})

    assert status == 200
    assert body["code"] == "10002", body
    assert param in body["message"] and detail in body["message"]
    assert "bizId" not in body
    assert wire.provider.batches == []
    assert wire.provider.balance == Decimal("1000.00")


async def test_1000_numbers_are_the_count_limit(wire: Wire) -> None:
    # 1000 numbers cannot fit 1500 characters, so the count check comes first and the
    # character limit is what a 1000-number list then fails on.
    _, body = await wire.send(phoneNumbers=",".join(["1"] * 1000))
    assert body["code"] == "10002" and "1500" in body["message"]
    _, body = await wire.send(phoneNumbers=",".join([NUMBER] * 125))  # 1499 characters
    assert body["code"] == "10000"
    assert len(wire.provider.batches[0].phone_numbers) == 125


async def test_single_kind_account(start_sandbox: StartSandbox) -> None:
    wire = await start_sandbox(fast_config(require_kind=False))
    _, body = await wire.send(phoneNumbers=NUMBER, kind="2")
    assert body["code"] == "10002" and "kind" in body["message"]
    _, body = await wire.send(phoneNumbers=NUMBER, kind=None)  # type: ignore[arg-type]
    assert body["code"] == "10000"
    assert wire.provider.batches[0].kind is None


async def test_json_body_is_a_parameter_error(wire: Wire) -> None:
    token = await wire.token()
    fields = {"token": token, "phoneNumbers": NUMBER, "sign": SIGN, "content": CONTENT}
    status, body, _ = await wire.call("POST", "/sms/send", json_body={**fields, "kind": "2"})
    assert status == 200 and body["code"] == "10002" and "JSON" in body["message"]
    assert wire.provider.batches == []


async def test_query_string_is_a_fallback_for_post_parameters(wire: Wire) -> None:
    token = await wire.token()
    status, body, _ = await wire.call(
        "POST",
        "/sms/send",
        params={"token": token, "kind": "3"},
        data={"phoneNumbers": NUMBER, "sign": SIGN, "content": CONTENT},
    )
    assert (status, body["code"]) == (200, "10000")
    assert wire.provider.batches[0].kind == "3"


async def test_send_template(wire: Wire) -> None:
    status, body = await wire.send_template(phoneNumbers="13900000001,13900000002")
    assert status == 200 and body["code"] == "10000"
    assert re.fullmatch(r"\d{20}", body["bizId"])
    [batch] = wire.provider.batches
    assert batch.template_id == "1192360392260608"
    assert batch.param_json == '[{"name":"张三"}]'


BAD_TEMPLATE_SENDS = [
    ("paramJson not JSON", {"paramJson": "[{name:"}, "10002", "paramJson"),
    ("paramJson 101 chars", {"paramJson": '"' + "x" * 99 + '"'}, "10002", "paramJson"),
    ("missing paramJson", {"paramJson": ""}, "10002", "paramJson"),
    ("templateId 21 chars", {"templateId": "1" * 21}, "10002", "templateId"),
    ("unknown templateId", {"templateId": "999"}, "10003", "templateId"),
    ("missing content", {"content": ""}, "10002", "content"),
    ("sign with 【】", {"sign": "【x】"}, "10002", "sign"),
]


@pytest.mark.parametrize(
    ("fields", "code", "param"),
    [case[1:] for case in BAD_TEMPLATE_SENDS],
    ids=[case[0] for case in BAD_TEMPLATE_SENDS],
)
async def test_send_template_errors(
    wire: Wire, fields: dict[str, str], code: str, param: str
) -> None:
    status, body = await wire.send_template(**fields)
    assert status == 200 and body["code"] == code and param in body["message"]
    assert wire.provider.batches == []


async def balance_text(wire: Wire) -> str:
    status, _, text = await wire.call("GET", "/sms/balance", params={"token": await wire.token()})
    assert status == 200
    return text


async def test_balance_falls_by_segments_times_price(wire: Wire) -> None:
    assert '"balance":1000.00}' in await balance_text(wire)

    prefix = f"【{SIGN}】"
    one_segment = prefix + "x" * (70 - len(prefix))  # 70 characters: 1 segment
    two_segments = prefix + "x" * (71 - len(prefix))  # 71: ceil(71/67) = 2
    three_segments = prefix + "x" * (135 - len(prefix))  # 135: ceil(135/67) = 3
    await wire.send(phoneNumbers=NUMBER, content=one_segment)
    await wire.send(phoneNumbers="13900000001,13900000002", content=two_segments)
    await wire.send(phoneNumbers="13900000001,13900000002", content=three_segments)

    assert [b.segments for b in wire.provider.batches] == [1, 2, 3]
    # (1 + 2*2 + 2*3) segments * 0.05 = 0.55
    assert wire.provider.balance == Decimal("999.45")
    text = await balance_text(wire)
    assert text == '{"code":"10000","message":"请求成功","balance":999.45}'


async def test_balance_too_low_refuses_the_whole_send(start_sandbox: StartSandbox) -> None:
    wire = await start_sandbox(fast_config(balance=Decimal("0.05")))
    _, body = await wire.send(phoneNumbers="13900000001,13900000002")
    assert body["code"] == "10004" and "bizId" not in body
    assert wire.provider.balance == Decimal("0.05") and wire.provider.batches == []

    _, body = await wire.send(phoneNumbers=NUMBER)
    assert body["code"] == "10000"
    assert '"balance":0.00}' in await balance_text(wire)


async def test_code_as_number(start_sandbox: StartSandbox) -> None:
    wire = await start_sandbox(fast_config(code_as_number=True))
    _, body = await wire.send(phoneNumbers=NUMBER)
    assert body["code"] == 10000
    assert '{"code":10000,' in await balance_text(wire)
    _, body, _ = await wire.call("GET", "/sms/balance", params={"token": "nope"})
    assert body["code"] == 40001
