"""The fast read of push reports gives exactly what the general item parser gives."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smsgateway.events.lenient_json import loads_strict
from smsgateway.events.model import DeliveryReportIn, Stream
from smsgateway.events.push_body import ParsedBody, ParseLimits, parse_strict
from smsgateway.events.report_items import body_is_clean
from smsgateway.upstream.models import parse_report_item

TEXTS = st.one_of(
    st.sampled_from(
        ["", " ", "10000", " 10000 ", "4", "13900000001", "+8613900000001", "B1", "请求成功"]
    ),
    st.sampled_from(["\ud800", "a\x00b", "\udc00x", "😀", "\t x \n"]),
    st.text(max_size=8),
)
TIMES = st.sampled_from(
    [
        "2026-01-01 12:00:00",
        " 2026-01-01 12:00:05 ",
        "2026-01-01T12:00:00",
        "2026-13-01 12:00:00",
        "0001-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "",
        "yesterday",
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=-5, max_value=300),
    st.sampled_from([2**63 - 1, 2**63, 10**30, 10000]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1", "01", " 2", "1e3", "１", "9" * 18, "9" * 19, "-1", ""]),
)
VALUES = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS, TIMES, st.just([1]), st.just({}))

FIELDS = {
    "bizId": st.one_of(TEXTS, NUMBERS, VALUES),
    "biz_id": VALUES,
    "phoneNumber": st.one_of(TEXTS, VALUES),
    "phone_number": VALUES,
    "code": st.one_of(st.sampled_from(["10000", 10000, 4, "4 ", True]), VALUES),
    "success": st.one_of(st.booleans(), st.sampled_from(["true", "0", 1, 2]), VALUES),
    "message": st.one_of(TEXTS, VALUES),
    "smsSize": st.one_of(NUMBERS, VALUES),
    "sms_size": NUMBERS,
    "sendTime": st.one_of(TIMES, VALUES),
    "send_time": TIMES,
    "reportTime": st.one_of(TIMES, VALUES),
    "report_time": TIMES,
}

ITEMS = st.one_of(
    st.fixed_dictionaries({}, optional=FIELDS),  # type: ignore[arg-type]
    st.fixed_dictionaries(  # the provider's usual shape, with values of every kind
        {
            "bizId": TEXTS,
            "phoneNumber": TEXTS,
            "code": st.sampled_from(["10000", 10000, " 4"]),
            "success": st.booleans(),
            "message": TEXTS,
            "smsSize": NUMBERS,
            "sendTime": TIMES,
            "reportTime": TIMES,
        }
    ),
    st.fixed_dictionaries(
        {"bizId": TEXTS, "phoneNumber": TEXTS, "code": st.just("10000")},
        optional={"sendTime": TIMES, "reportTime": TIMES, "smsSize": NUMBERS},
    ),
    VALUES,
)


def expected(items: list[Any]) -> tuple[list[DeliveryReportIn], list[tuple[int, str]]]:
    """What reading the items one by one with `parse_report_item` gives."""
    good: list[DeliveryReportIn] = []
    bad: list[tuple[int, str]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            bad.append((index, "not an object"))
            continue
        try:
            good.append(parse_report_item(item, 8.0))
        except (ValueError, TypeError, OverflowError) as exc:
            bad.append((index, f"item {index}: {exc}"))
    return good, bad


@settings(max_examples=400, deadline=None)
@given(st.lists(ITEMS, max_size=6), st.booleans())
def test_every_item_is_read_as_the_general_parser_reads_it(
    items: list[Any], ascii_only: bool
) -> None:
    text = json.dumps(items, ensure_ascii=ascii_only)
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate can only travel as its escape
        body = json.dumps(items).encode("utf-8")
    items = list(loads_strict(body.decode("utf-8")))  # type: ignore[call-overload]
    parsed = parse_strict(Stream.REPORTS, body, ParseLimits(), 8.0)
    assert isinstance(parsed, ParsedBody)
    good, bad = expected(items)
    reports = [r for r in parsed.items if isinstance(r, DeliveryReportIn)]
    assert reports == good
    for report, want in zip(reports, good, strict=True):
        # Times in the same zone too (datetimes compare by instant).
        for got_time, want_time in (
            (report.send_time, want.send_time),
            (report.report_time, want.report_time),
        ):
            assert (got_time and got_time.isoformat()) == (want_time and want_time.isoformat())
    assert [b.index for b in parsed.bad] == [i for i, _ in bad]
    for got_bad, (_, why) in zip(parsed.bad, bad, strict=True):
        assert got_bad.error == why or (
            why == "not an object" and got_bad.error.endswith("not an object")
        )


def test_a_clean_body_has_no_escape_that_decodes_to_a_surrogate_or_a_nul() -> None:
    assert body_is_clean('[{"message": "请求成功 \\u8bf7 \\n"}]'.encode())
    assert not body_is_clean(b'[{"message": "\\ud800"}]')
    assert not body_is_clean(b'[{"message": "\\uDFFF"}]')
    assert not body_is_clean(b'[{"message": "a\\u0000b"}]')
    # A valid pair is not "clean" either: the check is conservative, never wrong.
    assert not body_is_clean(b'[{"message": "\\ud83d\\ude00"}]')


def test_reports_of_a_typical_push_share_their_time_objects() -> None:
    body = json.dumps(
        [
            {
                "bizId": "B",
                "phoneNumber": f"139{i:08d}",
                "code": "10000",
                "success": True,
                "message": "请求成功",
                "smsSize": "1",
                "sendTime": "2026-01-01 12:00:00",
                "reportTime": "2026-01-01 12:00:01",
            }
            for i in range(3)
        ],
        ensure_ascii=False,
    ).encode()
    parsed = parse_strict(Stream.REPORTS, body, ParseLimits(), 8.0)
    assert isinstance(parsed, ParsedBody) and not parsed.bad
    assert len({id(r.report_time) for r in parsed.items if isinstance(r, DeliveryReportIn)}) == 1
    first = parsed.items[0]
    assert isinstance(first, DeliveryReportIn)
    assert (first.sms_size, first.success, first.message) == (1, True, "请求成功")
    assert first.report_time is not None and first.report_time.isoformat() == (
        "2026-01-01T12:00:01+08:00"
    )
