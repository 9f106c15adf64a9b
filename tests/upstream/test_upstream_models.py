"""Parsing of provider items: both spellings, code as text or number, provider-local times."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgateway.upstream.errors import ProviderRejectedError, redact
from smsgateway.upstream.models import (
    DeliveryReport,
    code_of,
    parse_report_item,
    parse_time,
    parse_uplink_item,
)

CAMEL_REPORT = {
    "phoneNumber": "13900000001",
    "sendTime": "2017-01-01 00:00:00",
    "reportTime": "2017-01-01 00:00:03",
    "success": True,
    "code": "10000",
    "message": "请求成功",
    "smsSize": "1",
    "bizId": "39036632588910887018",
}
SNAKE_REPORT = {
    "phone_number": "13900000001",
    "send_time": "2017-01-01 00:00:00",
    "report_time": "2017-01-01 00:00:03",
    "success": True,
    "code": 10000,
    "message": "请求成功",
    "sms_size": 1,
    "biz_id": "39036632588910887018",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10000, "10000"),
        ("10000", "10000"),
        (" 10000 ", "10000"),
        (10000.0, "10000"),
        (Decimal("10000.0"), "10000"),
        (4, "4"),
        ("40001", "40001"),
    ],
)
def test_code_of_accepts_text_and_numbers(value: object, expected: str) -> None:
    assert code_of(value) == expected


@pytest.mark.parametrize("value", [True, None, "", 10000.5, float("nan"), [10000], {}])
def test_code_of_rejects_non_codes(value: object) -> None:
    with pytest.raises(ValueError, match="code"):
        code_of(value)


def test_parse_time_applies_the_provider_zone() -> None:
    parsed = parse_time("2017-01-01 08:00:00", 8.0)
    assert parsed == datetime(2017, 1, 1, 0, 0, tzinfo=UTC)
    assert parsed is not None and parsed.utcoffset() is not None
    assert parse_time("2017-01-01 08:00:00", 0) == datetime(2017, 1, 1, 8, tzinfo=UTC)
    assert parse_time(None, 8) is None and parse_time("", 8) is None
    for bad in ("2017-01-01T00:00:00", "2017/01/01 00:00:00", "yesterday", "2017-13-01 00:00:00"):
        with pytest.raises(ValueError, match="yyyy-MM-dd HH:mm:ss"):
            parse_time(bad, 8)


def test_both_spellings_give_the_same_report() -> None:
    camel = parse_report_item(CAMEL_REPORT)
    snake = parse_report_item(SNAKE_REPORT)
    assert camel == snake
    assert camel == DeliveryReport(
        biz_id="39036632588910887018",
        phone_number="13900000001",
        provider_code="10000",
        success=True,
        message="请求成功",
        sms_size=1,
        send_time=datetime(2016, 12, 31, 16, 0, tzinfo=UTC),
        report_time=datetime(2016, 12, 31, 16, 0, 3, tzinfo=UTC),
    )
    assert camel.dedup_key() == snake.dedup_key()


@pytest.mark.parametrize(
    ("success", "code", "expected"),
    [
        (True, "10000", True),
        (False, 4, False),
        ("true", "10000", True),
        ("false", 4, False),
        (1, "10000", True),
        (0, "9", False),
        ("1", 10000, True),
        (None, 10000, True),
        (None, "5", False),
    ],
)
def test_success_flag_variants(success: object, code: object, expected: bool) -> None:
    item = dict(CAMEL_REPORT, success=success, code=code)
    if success is None:
        del item["success"]
    assert parse_report_item(item).success is expected


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bizId": None}, "bizId"),
        ({"phoneNumber": None}, "phoneNumber"),
        ({"code": None}, "code"),
        ({"success": "maybe"}, "success"),
        ({"smsSize": "one"}, "smsSize"),
        ({"reportTime": "01/01/2017"}, "yyyy-MM-dd"),
        ({"reportTime": 1483228800}, "reportTime"),
        ({"bizId": ["x"]}, "bizId"),
        ({"phoneNumber": ""}, "phoneNumber"),
    ],
)
def test_bad_reports_raise_value_error_naming_the_field(
    change: dict[str, object], message: str
) -> None:
    item = {k: v for k, v in {**CAMEL_REPORT, **change}.items() if v is not None}
    with pytest.raises(ValueError, match=message) as caught:
        parse_report_item(item)
    assert "13900000001" not in str(caught.value)


def test_non_object_items_are_rejected() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        parse_report_item(["x"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON object"):
        parse_uplink_item("x")  # type: ignore[arg-type]


def test_uplinks_both_spellings_and_default_sign() -> None:
    camel = parse_uplink_item(
        {
            "phoneNumber": "18612345678",
            "sendTime": "2017-09-01 00:00:00",
            "content": "内容",
            "sequenceId": 1234567890,
        },
        default_sign="圆通快递",
    )
    snake = parse_uplink_item(
        {
            "phone_number": "18612345678",
            "send_time": "2017-09-01 00:00:00",
            "content": "内容",
            "sign": "圆通快递",
            "sequence_id": "1234567890",
        }
    )
    assert camel == snake
    assert camel.sequence_id == 1234567890 and camel.sign == "圆通快递"
    assert camel.send_time == datetime(2017, 8, 31, 16, tzinfo=UTC)
    for bad in (
        {"phoneNumber": "1", "content": "x"},
        {"phoneNumber": "1", "content": "x", "sequenceId": True},
        {"phoneNumber": "1", "content": 5, "sequenceId": 1},
        {"phoneNumber": "1", "content": "x", "sequenceId": "12a"},
    ):
        with pytest.raises(ValueError):
            parse_uplink_item(bad)


@given(
    code=st.one_of(st.integers(0, 99999), st.integers(0, 99999).map(str)),
    snake=st.booleans(),
    size=st.integers(0, 20),
    phone=st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
)
def test_any_well_formed_report_parses(code: object, snake: bool, size: int, phone: str) -> None:
    keys = ("phone_number", "biz_id", "sms_size") if snake else ("phoneNumber", "bizId", "smsSize")
    item = {keys[0]: phone, keys[1]: "1", keys[2]: str(size), "code": code}
    report = parse_report_item(item)
    assert report.provider_code == str(code) and report.phone_number == phone
    assert report.sms_size == size and report.success is (str(code) == "10000")


def test_redaction_masks_numbers_and_caps_length() -> None:
    assert redact("bad number 13900000001 and +86 139 0000 0001") == (
        "bad number <digits> and <digits>"
    )
    assert redact("code 4") == "code 4"
    assert len(redact("x" * 1000)) <= 201
    error = ProviderRejectedError(
        endpoint="send", code="4", provider_message="13900000001 blocked", http_status=200
    )
    assert "13900000001" not in str(error) and "13900000001" not in repr(error)
