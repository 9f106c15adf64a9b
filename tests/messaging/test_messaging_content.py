"""Sign, content, segment and template rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgateway.messaging import (
    CONTENT_MAX,
    SIGN_MAX,
    TEMPLATE_PARAMS_MAX,
    Violation,
    estimate_segments,
    prepare_content,
    provider_length,
    validate_sign,
    validate_template_id,
    validate_template_params,
)

SIGN = "快递服务"
PREFIX = "【快递服务】"
TEXT = "你的快件56682551825已签收，谢谢使用"  # the provider doc's sample


def test_provider_length_counts_utf16_units() -> None:
    assert provider_length("abc") == 3
    assert provider_length("你好【】") == 4
    assert provider_length("😀") == 2  # outside the BMP: a surrogate pair
    assert provider_length("") == 0


# --- sign --------------------------------------------------------------------


@pytest.mark.parametrize("sign", ["快递服务", "A", "Acme Cloud", "阿" * SIGN_MAX, "顺丰速运2"])
def test_valid_signs(sign: str) -> None:
    assert validate_sign(sign) == []


@pytest.mark.parametrize(
    ("sign", "reason"),
    [
        ("", "a sign is required"),
        ("   ", "a sign is required"),
        ("【快递服务】", "must not contain 【 】: give the sign without brackets"),
        ("[Acme]", "must not contain [ ]"),
        ("阿" * (SIGN_MAX + 1), "is 21 characters long; at most 20 are allowed"),
        (" 快递", "must not start or end with whitespace"),
        ("快递\n服务", "contains the control or invisible character U+000A"),
        ("快递\u200b服务", "contains the control or invisible character U+200B"),
        ("[" + "x" * 5000, "'[" + "x" * 39 + "…' must not contain ["),
        ("😀" * 11, "is 22 characters long"),
    ],
)
def test_invalid_signs(sign: str, reason: str) -> None:
    violations = validate_sign(sign, field="req.sign")
    assert violations
    assert all(v.field == "req.sign" for v in violations)
    assert any(reason in v.description for v in violations), violations


# --- content -----------------------------------------------------------------


def test_prefix_is_added_when_missing() -> None:
    assert prepare_content(SIGN, TEXT) == (PREFIX + TEXT, [])


def test_prefix_is_kept_when_present() -> None:
    assert prepare_content(SIGN, PREFIX + TEXT) == (PREFIX + TEXT, [])


def test_surrounding_whitespace_is_trimmed() -> None:
    assert prepare_content(SIGN, f"  \n{PREFIX}{TEXT}\n ") == (PREFIX + TEXT, [])


@pytest.mark.parametrize("content", ["", "   ", "\n\t"])
def test_empty_content_is_required(content: str) -> None:
    assert prepare_content(SIGN, content) == (
        "",
        [Violation("content", "a message text is required")],
    )


def test_sign_alone_is_not_a_message() -> None:
    _, violations = prepare_content(SIGN, PREFIX + "  ")
    assert violations == [Violation("content", f"has no text after the sign {PREFIX}")]


def test_a_different_leading_sign_is_rejected_with_a_way_out() -> None:
    _, violations = prepare_content(SIGN, "【别家】" + TEXT)
    (violation,) = violations
    assert "starts with the sign 【别家】, which is not the request's sign '快递服务'" in (
        violation.description
    )
    assert "【快递服务】【别家】" in violation.description
    # The suggested spelling is accepted as is.
    assert prepare_content(SIGN, PREFIX + "【别家】" + TEXT) == (PREFIX + "【别家】" + TEXT, [])


def test_leading_bracket_that_is_no_sign_is_plain_text() -> None:
    # No closing bracket within a sign's length: ordinary text, prefixed.
    text = "【" + "长" * 30 + "】通知"
    assert prepare_content(SIGN, text) == (PREFIX + text, [])
    assert prepare_content(SIGN, "【】hi") == (PREFIX + "【】hi", [])


def test_length_limit_counts_the_prefix() -> None:
    room = CONTENT_MAX - len(PREFIX)
    full, violations = prepare_content(SIGN, "a" * room)
    assert violations == [] and len(full) == CONTENT_MAX
    full, violations = prepare_content(SIGN, "a" * (room + 1))
    assert len(full) == CONTENT_MAX + 1
    assert violations == [
        Violation(
            "content",
            "is 1001 characters long with the 【sign】 prefix; at most 1000 are allowed",
        )
    ]
    # Already prefixed: exactly 1000 is fine, 1001 is not.
    assert prepare_content(SIGN, PREFIX + "字" * room)[1] == []
    assert len(prepare_content(SIGN, PREFIX + "字" * (room + 1))[1]) == 1


def test_emoji_count_two_towards_the_limit() -> None:
    room = CONTENT_MAX - len(PREFIX)
    assert prepare_content(SIGN, "😀" * (room // 2))[1] == []
    assert prepare_content(SIGN, "😀" * (room // 2 + 1))[1] != []


def test_control_characters_are_rejected_but_line_breaks_kept() -> None:
    full, violations = prepare_content(SIGN, "line one\r\nline two\tend")
    assert violations == [] and full == PREFIX + "line one\r\nline two\tend"
    _, violations = prepare_content(SIGN, " bad\x00text", field="body")
    assert violations == [Violation("body", "contains the control character U+0000 at position 4")]


def test_empty_sign_adds_no_prefix() -> None:
    assert prepare_content("", TEXT) == (TEXT, [])


# --- segments ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4), (1000, 15)],
)
def test_segment_boundaries(length: int, segments: int) -> None:
    assert estimate_segments("a" * length) == segments
    assert estimate_segments("短" * length) == segments  # Chinese counts the same


def test_segments_of_a_prefixed_chinese_message() -> None:
    full, _ = prepare_content(SIGN, "您" * (70 - len(PREFIX)))
    assert estimate_segments(full) == 1
    full, _ = prepare_content(SIGN, "您" * (71 - len(PREFIX)))
    assert estimate_segments(full) == 2


def test_emoji_take_two_units_in_segments() -> None:
    assert estimate_segments("😀" * 35) == 1
    assert estimate_segments("😀" * 36) == 2


@given(st.integers(min_value=1, max_value=5000))
def test_segments_hold_the_text(length: int) -> None:
    segments = estimate_segments("x" * length)
    capacity = 70 if segments == 1 else 67 * segments
    assert length <= capacity
    if segments > 1:
        assert length > (70 if segments == 2 else 67 * (segments - 1))


# --- template id -------------------------------------------------------------


@pytest.mark.parametrize("template_id", ["1192360392260608", "SMS123abc", "a", "9" * 20])
def test_valid_template_ids(template_id: str) -> None:
    assert validate_template_id(template_id) == []


@pytest.mark.parametrize(
    ("template_id", "reason"),
    [
        ("", "a template id is required"),
        ("9" * 21, "is 21 characters long; at most 20 are allowed"),
        ("SMS_123", "'SMS_123' may contain only ASCII letters and digits"),
        ("１２３", "may contain only ASCII letters and digits"),
        (" 123", "may contain only ASCII letters and digits"),
        ("123\n", "may contain only ASCII letters and digits"),
    ],
)
def test_invalid_template_ids(template_id: str, reason: str) -> None:
    violations = validate_template_id(template_id)
    assert any(v.field == "template_id" and reason in v.description for v in violations)


# --- template parameters -----------------------------------------------------


def test_template_params_are_sent_without_insignificant_whitespace() -> None:
    text, violations = validate_template_params('{ "code" : "12 34",\n  "amount": 1.10 }')
    assert violations == []
    assert text == '{"code":"12 34","amount":1.10}'  # strings and number spelling kept


def test_template_params_array_and_escapes() -> None:
    assert validate_template_params('["a", "b\\" ,x", 3]') == ('["a","b\\" ,x",3]', [])
    assert validate_template_params('{"名字":"张三"}') == ('{"名字":"张三"}', [])


def test_template_params_limit_applies_to_the_text_as_sent() -> None:
    exactly = '{"k":"' + "v" * (TEMPLATE_PARAMS_MAX - 8) + '"}'
    assert len(exactly) == TEMPLATE_PARAMS_MAX
    assert validate_template_params(exactly) == (exactly, [])
    # Pretty-printed over 100 characters, but compact within: accepted.
    pretty = '{\n    "k": "' + "v" * (TEMPLATE_PARAMS_MAX - 8) + '"\n}'
    assert validate_template_params(pretty) == (exactly, [])
    over = '{"k":"' + "v" * (TEMPLATE_PARAMS_MAX - 7) + '"}'
    _, violations = validate_template_params(over)
    assert violations == [
        Violation(
            "template_params_json",
            "is 101 characters long as sent (whitespace removed); at most 100 are allowed",
        )
    ]
    # Chinese values count one per character, like the provider.
    assert validate_template_params('{"k":"' + "字" * 92 + '"}')[1] == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ("", "template parameters are required"),
        ("  ", "template parameters are required"),
        ('{"code": 1234', "is not valid JSON: Expecting ',' delimiter (line 1, column 14)"),
        ("{'code': '1'}", "is not valid JSON"),
        ('{"a":1,}', "is not valid JSON"),
        ('"1234"', "must be a JSON object or array, not a string"),
        ("1234", "must be a JSON object or array, not a number"),
        ("null", "must be a JSON object or array, not null"),
        ("true", "must be a JSON object or array, not a boolean"),
        ('{"a": NaN}', "is not valid JSON: NaN is not a JSON value"),
        ('{"a": 1, "a": 2}', "has the key 'a' more than once"),
        ("[" * 1900 + "]" * 1900, "is nested too deeply"),
        ("[" + " " * 5000 + "]", "is 5002 characters long; at most 100 are allowed"),
    ],
)
def test_invalid_template_params(params: str, reason: str) -> None:
    _, violations = validate_template_params(params, field="params")
    assert len(violations) == 1
    assert violations[0].field == "params"
    assert reason in violations[0].description, violations
