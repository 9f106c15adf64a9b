"""Delivery reports and uplinks served by pull (/sms/deliver, /sms/smsUp)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

from sandbox_helpers import SIGN, FakeClock, StartSandbox, Wire, fast_config

TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
CAMEL_KEYS = {
    "phoneNumber",
    "sendTime",
    "reportTime",
    "success",
    "code",
    "message",
    "smsSize",
    "bizId",
}
SNAKE_KEYS = {
    "phone_number",
    "send_time",
    "report_time",
    "success",
    "code",
    "message",
    "sms_size",
    "biz_id",
}
NUMBERS = [f"139{i:08d}" for i in range(40)]


async def test_reports_due_after_delay_one_per_recipient_served_once(
    start_sandbox: StartSandbox,
) -> None:
    clock = FakeClock(datetime.fromisoformat("2026-01-02T03:04:05+00:00").timestamp())
    wire = await start_sandbox(fast_config(report_delay_seconds=30), clock)
    _, body = await wire.send(phoneNumbers="13900000001,13900000002")
    biz_id = body["bizId"]

    assert await wire.pull("/sms/deliver") == []  # not due yet
    clock.now += 30
    reports = await wire.pull("/sms/deliver")

    assert [r["phoneNumber"] for r in reports] == ["13900000001", "13900000002"]
    for report in reports:
        assert set(report) == CAMEL_KEYS
        assert report["bizId"] == biz_id
        assert (report["success"], report["code"], report["smsSize"]) == (True, "10000", "1")
        # yyyy-MM-dd HH:mm:ss in UTC+8
        assert (report["sendTime"], report["reportTime"]) == (
            "2026-01-02 11:04:05",
            "2026-01-02 11:04:35",
        )
    assert await wire.pull("/sms/deliver") == []  # each report is pulled once


async def test_outcome_mix(start_sandbox: StartSandbox) -> None:
    outcomes = {"10000": 0.5, "4": 0.3, "8": 0.2}
    wire = await start_sandbox(fast_config(report_outcomes=outcomes, report_delay_seconds=0))
    await wire.send(phoneNumbers=",".join(NUMBERS))

    reports = await wire.pull("/sms/deliver")

    assert sorted(r["phoneNumber"] for r in reports) == NUMBERS
    codes = Counter(r["code"] for r in reports)
    assert set(codes) == {"10000", "4", "8"}  # seeded: all three drawn among 40
    messages = {"10000": "请求成功", "4": "失败", "8": "超频"}
    for report in reports:
        assert report["success"] is (report["code"] == "10000")
        assert report["message"] == messages[report["code"]]
        assert TIME.fullmatch(report["sendTime"]) and TIME.fullmatch(report["reportTime"])


async def test_outcomes_are_reproducible_with_a_seed(start_sandbox: StartSandbox) -> None:
    runs = []
    for _ in range(2):
        wire = await start_sandbox(
            fast_config(seed=3, report_outcomes={"10000": 1, "9": 1}, report_delay_seconds=0)
        )
        await wire.send(phoneNumbers=",".join(NUMBERS))
        runs.append([(r["phoneNumber"], r["code"]) for r in await wire.pull("/sms/deliver")])
    assert runs[0] == runs[1]


async def test_pull_repeat_serves_reports_again(start_sandbox: StartSandbox) -> None:
    wire = await start_sandbox(fast_config(pull_repeat=True, report_delay_seconds=0))
    await wire.send(phoneNumbers="13900000001,13900000002")
    first = await wire.pull("/sms/deliver")
    second = await wire.pull("/sms/deliver")
    assert len(first) == 2 and second == first

    wire.provider.configure(pull_repeat=False)  # already pulled ones are done now
    assert await wire.pull("/sms/deliver") == []
    await wire.send(phoneNumbers="13900000003")
    assert [r["phoneNumber"] for r in await wire.pull("/sms/deliver")] == ["13900000003"]
    assert await wire.pull("/sms/deliver") == []


async def test_snake_case_and_code_as_number(start_sandbox: StartSandbox) -> None:
    wire = await start_sandbox(
        fast_config(field_style="snake", code_as_number=True, report_delay_seconds=0)
    )
    await wire.send(phoneNumbers="13900000001")
    [report] = await wire.pull("/sms/deliver")
    assert set(report) == SNAKE_KEYS
    assert report["code"] == 10000 and report["sms_size"] == "1"

    wire.provider.configure(field_style="camel", code_as_number=False)  # at run time
    await wire.send(phoneNumbers="13900000001")
    [report] = await wire.pull("/sms/deliver")
    assert set(report) == CAMEL_KEYS and report["code"] == "10000"


async def test_pull_filters_by_sign_and_caps_items(start_sandbox: StartSandbox) -> None:
    wire = await start_sandbox(fast_config(pull_max_items=3, report_delay_seconds=0))
    await wire.send(phoneNumbers=",".join(NUMBERS[:4]))
    await wire.send(phoneNumbers=NUMBERS[4], sign="顺丰", content="【顺丰】您的快件已发出")

    [report] = await wire.pull("/sms/deliver", sign="顺丰")
    assert report["phoneNumber"] == NUMBERS[4]
    assert len(await wire.pull("/sms/deliver")) == 3
    assert [r["phoneNumber"] for r in await wire.pull("/sms/deliver")] == [NUMBERS[3]]


async def test_deliver_sign_too_long(wire: Wire) -> None:
    status, body, _ = await wire.call(
        "GET", "/sms/deliver", params={"token": await wire.token(), "sign": "s" * 21}
    )
    assert status == 200 and body["code"] == "10002" and "sign" in body["message"]


async def test_injected_uplink_is_pullable_once(wire: Wire) -> None:
    status, stored, _ = await wire.call(
        "POST",
        "/admin/uplinks",
        json_body={"phoneNumber": "13900000001", "content": "TD", "sign": SIGN},
    )
    assert status == 200
    assert stored["sign"] == SIGN and isinstance(stored["sequenceId"], int)
    second = wire.provider.inject_uplink(
        "13900000002", "好的", SIGN, send_time=datetime(2026, 1, 2, 11, 0, 0)
    )
    assert second["sequenceId"] == stored["sequenceId"] + 1
    assert second["sendTime"] == "2026-01-02 11:00:00"  # naive = UTC+8
    wire.provider.inject_uplink("13900000003", "other sign", "顺丰")

    uplinks = await wire.pull("/sms/smsUp", sign=SIGN)

    assert uplinks == [
        {
            "phoneNumber": "13900000001",
            "sendTime": stored["sendTime"],
            "content": "TD",
            "sequenceId": stored["sequenceId"],
        },
        {
            "phoneNumber": "13900000002",
            "sendTime": "2026-01-02 11:00:00",
            "content": "好的",
            "sequenceId": second["sequenceId"],
        },
    ]
    assert await wire.pull("/sms/smsUp", sign=SIGN) == []
    [other] = await wire.pull("/sms/smsUp", sign="顺丰")
    assert other["content"] == "other sign"


async def test_uplink_snake_case_and_sign_required(start_sandbox: StartSandbox) -> None:
    wire = await start_sandbox(fast_config(field_style="snake"))
    aware = datetime.fromisoformat("2026-01-02T00:00:00+00:00") + timedelta(seconds=1)
    wire.provider.inject_uplink("13900000001", "TD", SIGN, send_time=aware)
    status, body, _ = await wire.call("GET", "/sms/smsUp", params={"token": await wire.token()})
    assert status == 200 and body["code"] == "10002" and "sign" in body["message"]

    [uplink] = await wire.pull("/sms/smsUp", sign=SIGN)
    assert set(uplink) == {"phone_number", "send_time", "content", "sequence_id"}
    assert uplink["send_time"] == "2026-01-02 08:00:01"


async def test_a_sandbox_nobody_pulls_from_stays_bounded(start_sandbox: StartSandbox) -> None:
    """Sends keep coming, reports are never pulled: past `max_kept` the oldest batches and
    reports are forgotten (and counted), the newest are still served."""
    clock = FakeClock()
    wire = await start_sandbox(fast_config(max_kept=20, report_delay_seconds=0), clock)
    biz_ids = []
    for i in range(50):
        _, body = await wire.send(phoneNumbers=f"1390000{i:04d}")
        biz_ids.append(body["bizId"])
        clock.now += 1
    status, state, text = await wire.call("GET", "/admin/state")
    assert status == 200, text
    assert len(wire.provider.batches) <= 20 and state["batches"] <= 20
    assert state["forgottenBatches"] == 50 - state["batches"]
    assert [b.biz_id for b in wire.provider.batches] == biz_ids[-state["batches"] :]
    assert state["pendingReports"] <= 20
    assert state["forgottenReports"] == 50 - state["pendingReports"]
    reports = await wire.pull("/sms/deliver")
    assert [r["bizId"] for r in reports] == biz_ids[-len(reports) :]
    assert biz_ids[-1] == reports[-1]["bizId"]
