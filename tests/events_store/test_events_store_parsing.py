"""Opt-out keyword detection, the bounded JSON reader and push bodies item by item."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgateway.events.lenient_json import (
    LenientJSONError,
    TooDeepError,
    depth_exceeds,
    loads_lenient,
    loads_strict,
)
from smsgateway.events.model import DeliveryReportIn, Stream
from smsgateway.events.optout import OptOutRules
from smsgateway.events.push_body import (
    NeedsRepair,
    ParsedBody,
    ParseLimits,
    RejectedBody,
    Rejection,
    parse_lenient,
    parse_strict,
    too_large_to_repair,
)


@pytest.mark.parametrize(
    "content",
    [
        "T",
        "t",
        "TD",
        "td",
        "Td",
        " T D ",
        "Ｔ",
        "ＴＤ",
        "ｔｄ",
        "N",
        "n",
        "退订",
        "退 订",
        "退",
        "\u3000退订\u3000",
        "TD\n",
    ],
)
def test_default_keywords_match_ignoring_case_width_and_spaces(content: str) -> None:
    assert OptOutRules().is_opt_out(content)


@pytest.mark.parametrize(
    "content",
    ["", " ", "TD谢谢", "退订了", "NO", "please stop", "T1", "退款", "好的", "x" * 10_000],
)
def test_other_content_is_not_an_opt_out(content: str) -> None:
    assert not OptOutRules().is_opt_out(content)


def test_configured_keywords() -> None:
    rules = OptOutRules.from_text("STOP, 取消 ，unsubscribe")
    assert (
        rules.is_opt_out("stop") and rules.is_opt_out("取 消") and rules.is_opt_out("UNSUBSCRIBE")
    )
    assert not rules.is_opt_out("TD")
    assert not OptOutRules(keywords=frozenset()).is_opt_out("TD")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[{"a": 1,},]', [{"a": 1}]),
        ('[{"a": 1}, // note\n {"b": "x // y"}]', [{"a": 1}, {"b": "x // y"}]),
        ("/* head */ [1, 2 /* mid */, 3]", [1, 2, 3]),
        ('{"code":"10000"\n"message":"ok"}', {"code": "10000", "message": "ok"}),
        ('[{"a": "q\\"uote,]"},]', [{"a": 'q"uote,]'}]),
    ],
)
def test_lenient_repairs(text: str, expected: object) -> None:
    assert loads_lenient(text) == expected


@pytest.mark.parametrize("text", ["", "[", '[{"a": }]', "[,]", '{"a" 1}', "[1,,2]", "nul", '["x]'])
def test_lenient_still_rejects_what_is_not_json(text: str) -> None:
    with pytest.raises(LenientJSONError):
        loads_lenient(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_lenient_reads_strict_json_unchanged(value: object) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=2)):
        assert loads_lenient(text) == value


# -- bounded strict reading ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "depth"),
    [("1", 0), ("[]", 1), ('[{"a": 1}]', 2), ('[{"a": [[{}]]}]', 5), ('{"a": {"b": []}}', 3)],
)
def test_depth_is_measured_without_recursion(text: str, depth: int) -> None:
    doc = json.loads(text)
    assert not depth_exceeds(doc, depth)
    if depth:
        assert depth_exceeds(doc, depth - 1)


@pytest.mark.parametrize("levels", [33, 900, 5_000, 100_000])
def test_deep_nesting_is_too_deep_never_a_recursion_error(levels: int) -> None:
    for text in ("[" * levels + "]" * levels, '{"a":' * levels + "1" + "}" * levels):
        with pytest.raises(TooDeepError, match="nested deeper than 32 levels"):
            loads_strict(text)
    lenient = "[" * levels + "1," + "]" * levels  # valid after repair
    with pytest.raises(TooDeepError):
        loads_lenient(lenient)  # the lenient path has the same bound


@pytest.mark.parametrize(
    ("text", "max_depth", "too_deep"),
    [
        ('[{"a": 1}, {"b": "x"}, 3]', 2, False),  # flat: the bracket count decides
        ('[{"a": "[{[{"}, {}]', 2, False),  # brackets in strings: the walk decides
        ('[{"a": [1]}]', 2, True),
        ('[{"a": {"b": 1}}, {"c": "]"}]', 2, True),
        ("[[1], 2]", 1, True),
        ('[{"a": 1}]', 1, True),  # a bound below 2 never takes the count's shortcut
        ('{"a": 1}', 1, False),
    ],
)
def test_a_flat_array_of_objects_is_bounded_like_any_other_document(
    text: str, max_depth: int, too_deep: bool
) -> None:
    if too_deep:
        with pytest.raises(TooDeepError):
            loads_strict(text, max_depth)
    else:
        assert loads_strict(text, max_depth) == json.loads(text)


def test_nesting_hidden_behind_a_comment_is_still_bounded() -> None:
    # A quote in a comment must not hide the brackets after it from the bound.
    text = '// "\n' + "[" * 40 + "]" * 40
    with pytest.raises(TooDeepError):
        loads_lenient(text)


def test_an_over_long_integer_does_not_fail_the_whole_document() -> None:
    doc = loads_strict('[{"smsSize": ' + "9" * 5000 + '}, {"smsSize": 1}]')
    assert isinstance(doc, list)
    assert isinstance(doc[0]["smsSize"], Decimal) and doc[1]["smsSize"] == 1


def test_strict_errors_stay_json_decode_errors() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads_strict("[1,]")


# -- push bodies, item by item -----------------------------------------------------

LIMITS = ParseLimits(max_items=100)


def good_report(i: int) -> dict[str, object]:
    return {"phoneNumber": f"139{i:08d}", "code": "10000", "bizId": f"B{i}"}


def test_good_and_bad_items_are_separated_in_body_order() -> None:
    items: list[object] = [
        good_report(0),
        {**good_report(1), "smsSize": 2**63},
        "text",
        {**good_report(3), "message": "\ud800"},
        good_report(4),
    ]
    parsed = parse_strict(Stream.REPORTS, json.dumps(items).encode(), LIMITS, 8.0)
    assert isinstance(parsed, ParsedBody)
    assert [r.biz_id for r in parsed.items if isinstance(r, DeliveryReportIn)] == ["B0", "B4"]
    assert [(b.index, b.error) for b in parsed.bad] == [
        (1, "item 1: field 'smsSize' is out of range (0 to 2^63-1)"),
        (2, "item 2 is a JSON string, not an object"),
        (3, "item 3: field 'message' is not valid Unicode (a lone surrogate)"),
    ]
    assert parsed.total == 5 and not parsed.lenient
    # Each bad item's JSON round-trips, lone surrogate included (as its \\u escape).
    assert [json.loads(b.raw) for b in parsed.bad] == [items[1], items[2], items[3]]
    assert b"\\ud800" in parsed.bad[2].raw
    parsed.bad[2].raw.decode("utf-8")  # valid UTF-8


def test_an_item_with_an_over_long_integer_is_one_bad_item() -> None:
    body = b'[{"phoneNumber": "13900000001", "code": "1", "bizId": "B", "smsSize": '
    body += b"7" * 5000 + b"}, " + json.dumps(good_report(1)).encode() + b"]"
    parsed = parse_strict(Stream.REPORTS, body, LIMITS, 8.0)
    assert isinstance(parsed, ParsedBody)
    assert [r.biz_id for r in parsed.items if isinstance(r, DeliveryReportIn)] == ["B1"]
    [bad] = parsed.bad
    assert "out of range" in bad.error
    assert json.loads(bad.raw)["smsSize"] == "7" * 5000  # kept, as text


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ({"phoneNumber": "186", "content": "x", "sequenceId": -5}, "'sequenceId' is out of range"),
        ({"phoneNumber": "186", "content": "x", "sequenceId": 2**64}, "out of range"),
        ({"phoneNumber": "186", "content": "x", "sequenceId": "1e3"}, "not a whole number"),
        ({"phoneNumber": "186", "content": "\udc00", "sequenceId": 1}, "'content' is not valid"),
        ({"phoneNumber": "186", "content": 5, "sequenceId": 1}, "'content' is missing or not"),
        ({"phoneNumber": "186", "content": "x", "sequenceId": 1, "sign": "\ud83d"}, "'sign'"),
    ],
)
def test_bad_uplinks(item: dict[str, object], why: str) -> None:
    parsed = parse_strict(Stream.UPLINKS, json.dumps([item]).encode(), LIMITS, 8.0)
    assert isinstance(parsed, ParsedBody) and parsed.items == []
    [bad] = parsed.bad
    assert why in bad.error


def test_whole_body_refusals() -> None:
    too_many = json.dumps([good_report(i) for i in range(101)]).encode()
    refused = parse_strict(Stream.REPORTS, too_many, LIMITS, 8.0)
    assert refused == RejectedBody(
        Rejection.TOO_MANY_ITEMS, "101 items, more than the limit of 100", 101
    )
    deep = parse_strict(Stream.REPORTS, b"[" * 50 + b"]" * 50, LIMITS, 8.0)
    assert isinstance(deep, RejectedBody) and deep.rejection is Rejection.TOO_DEEP
    not_utf8 = parse_strict(Stream.REPORTS, b'["\xed\xa0\x80"]', LIMITS, 8.0)  # CESU surrogate
    assert isinstance(not_utf8, RejectedBody) and "not UTF-8" in not_utf8.error


def test_a_non_strict_body_needs_repair_and_the_size_bound_says_so() -> None:
    body = b'[{"phoneNumber": "13900000001", "code": "1", "bizId": "B",},]'
    needs = parse_strict(Stream.REPORTS, body, LIMITS, 8.0)
    assert isinstance(needs, NeedsRepair)
    repaired = parse_lenient(Stream.REPORTS, needs, LIMITS, 8.0)
    assert isinstance(repaired, ParsedBody) and repaired.lenient and len(repaired.items) == 1
    refused = too_large_to_repair(len(body), needs, ParseLimits(lenient_max_bytes=10))
    assert refused.rejection is Rejection.TOO_LARGE_TO_REPAIR
    assert f"at {len(body)} bytes, larger than the 10 bytes the lenient parser repairs" in (
        refused.error
    )
    assert "not strict JSON (" in refused.error
