"""Opt-out keyword detection and the lenient JSON reader."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgateway.events.lenient_json import LenientJSONError, loads_lenient
from smsgateway.events.optout import OptOutRules


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
