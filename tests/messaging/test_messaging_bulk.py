"""Recipient lists checked in bulk agree exactly with the check of one entry at a time."""

from __future__ import annotations

import random

from hypothesis import example, given
from hypothesis import strategies as st

from smsgateway.messaging import Violation, normalize_phone_numbers
from smsgateway.messaging.mobiles import FAST_MOBILE, not_plain

# Plain mobiles, 11-digit strings that are not mobiles (landline, toll-free, unused
# ranges), other spellings, earlier-type numbers (shared cost, toll-free), and entries
# that break the joined text (line breaks, empty, separators).
SAMPLES = [
    "13651688564",
    "19912345678",
    "16212345678",
    "14512345678",
    "17401234567",
    "17406234567",
    "12345678901",
    "10800123456",
    "01012345678",
    "95012345678",
    "4001234567",
    "8001234567",
    "1365168856",
    "136516885641",
    "+8613651688564",
    " 13651688564",
    "13651688564 ",
    "１３６５１６８８５６４",
    "13651688564\n13568988547",
    "13651688564,13568988547",
    "",
    "\n",
    "abc",
]

entry = st.one_of(
    st.sampled_from(SAMPLES),
    st.from_regex(r"1[0-9]{10}", fullmatch=True),
    st.text(alphabet="0123456789\n ,+", max_size=14),
)


@given(st.lists(entry, max_size=60))
@example([])
@example(["13651688564"] * 3)
@example(["", ""])
@example(["95012345678", "13651688564"])
def test_not_plain_is_the_single_entry_check(entries: list[str]) -> None:
    expected = [i for i, e in enumerate(entries) if not FAST_MOBILE.match(e)]
    assert not_plain(entries) == expected


def test_mostly_other_forms_give_the_same_answer() -> None:
    entries = ["+86 136-5168-8564"] * 50 + ["13651688564"] * 5
    assert not_plain(entries) == list(range(50))


def test_large_list_reports_bad_entries_by_index_across_chunks() -> None:
    rng = random.Random(7)
    numbers = [f"139{i:08d}" for i in range(20_000)]
    entries = list(numbers)
    bad = [0, 4095, 4096, 8191, 8192, 12_000, 19_999]
    for i in bad:
        entries[i] = f"x{i}"
    formatted = sorted(rng.sample(range(1, 19_999), 50))
    formatted = [i for i in formatted if i not in bad]
    for i in formatted:
        entries[i] = "+86 " + numbers[i]
    duplicate = 15_000
    entries[duplicate] = numbers[3]  # a number seen long before, in another chunk
    result = normalize_phone_numbers(entries)
    assert result.violations == tuple(
        Violation(f"phone_numbers[{i}]", f"'x{i}' is not a valid phone number: it contains 'x'")
        for i in bad
    )
    expected = [n for i, n in enumerate(numbers) if i not in bad and i != duplicate]
    assert result.numbers == tuple(expected)
    assert result.duplicates == 1


def test_large_clean_list_keeps_order_and_drops_duplicates() -> None:
    numbers = [f"138{i:08d}" for i in range(10_000)]
    result = normalize_phone_numbers(numbers + numbers[:10])
    assert result.numbers == tuple(numbers)
    assert result.duplicates == 10
    assert result.violations == ()


def test_violation_cap_keeps_the_numbers_before_it_in_a_large_list() -> None:
    numbers = [f"137{i:08d}" for i in range(9_000)]
    entries = [*numbers[:5_000], *(f"bad{i}" for i in range(5)), *numbers[5_000:]]
    result = normalize_phone_numbers(entries, max_violations=3)
    assert [v.field for v in result.violations] == [
        "phone_numbers[5000]",
        "phone_numbers[5001]",
        "phone_numbers[5002]",
        "phone_numbers",
    ]
    assert result.numbers == tuple(numbers[:5_000])
