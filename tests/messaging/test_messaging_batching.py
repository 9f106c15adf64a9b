"""Splitting recipients into provider calls: limits, order, minimal number of calls."""

from __future__ import annotations

import functools
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgateway.messaging import (
    MAX_CHARS_PER_CALL,
    MAX_NUMBERS_PER_CALL,
    normalize_phone_numbers,
    plan_batches,
)


def mobiles(count: int) -> list[str]:
    return [f"13{i:09d}" for i in range(count)]


def test_provider_limits() -> None:
    assert (MAX_NUMBERS_PER_CALL, MAX_CHARS_PER_CALL) == (1000, 1500)


def test_300_mobiles_make_3_calls_of_at_most_125() -> None:
    numbers = mobiles(300)
    batches = plan_batches(numbers)
    assert [len(b) for b in batches] == [125, 125, 50]
    assert len(",".join(batches[0])) == 1499
    assert [n for b in batches for n in b] == numbers


def test_exact_multiples_and_small_inputs() -> None:
    assert plan_batches([]) == []
    assert plan_batches(["13651688564"]) == [("13651688564",)]
    assert [len(b) for b in plan_batches(mobiles(250))] == [125, 125]
    assert [len(b) for b in plan_batches(mobiles(126))] == [125, 1]


def test_number_limit_binds_for_short_numbers() -> None:
    # 1-character "numbers": 1000 of them join to 1999 characters, so chars bind at 750.
    assert [len(b) for b in plan_batches(["1"] * 2000)] == [750, 750, 500]
    assert [len(b) for b in plan_batches(["1"] * 7, max_numbers=3)] == [3, 3, 1]


def test_a_number_exactly_at_the_char_limit_fits_alone() -> None:
    assert plan_batches(["12345", "1", "12"], max_chars=5) == [("12345",), ("1", "12")]


@pytest.mark.parametrize(
    "numbers",
    [["123456"], ["1", ""], ["1", "2,3"]],
)
def test_numbers_that_cannot_be_sent_raise_without_leaking_them(numbers: list[str]) -> None:
    with pytest.raises(ValueError, match=r"numbers\[\d\] cannot go in a provider call") as info:
        plan_batches(numbers, max_chars=5)
    assert "123456" not in str(info.value)


@pytest.mark.parametrize(("max_numbers", "max_chars"), [(0, 10), (10, 0), (-1, -1)])
def test_limits_below_one_raise(max_numbers: int, max_chars: int) -> None:
    with pytest.raises(ValueError, match="limits must be at least 1"):
        plan_batches(["1"], max_numbers=max_numbers, max_chars=max_chars)


def test_validated_recipients_flow_into_batches() -> None:
    entries = [f"+86 {n[:3]}-{n[3:7]}-{n[7:]}" for n in mobiles(400)] + mobiles(400)
    result = normalize_phone_numbers(entries)
    assert result.violations == () and result.duplicates == 400
    batches = plan_batches(result.numbers)
    assert len(batches) == 4
    assert all(len(",".join(b)) <= MAX_CHARS_PER_CALL for b in batches)


def _minimal_calls(sizes: list[int], max_numbers: int, max_chars: int) -> int:
    """The fewest consecutive batches, by exhaustive dynamic programming."""

    @functools.cache
    def best(start: int) -> int:
        if start == len(sizes):
            return 0
        result = len(sizes) + 1
        joined = -1
        for end in range(start, min(len(sizes), start + max_numbers)):
            joined += 1 + sizes[end]
            if joined > max_chars:
                break
            result = min(result, 1 + best(end + 1))
        return result

    return best(0)


numbers_lists = st.lists(st.text(alphabet="0123456789+", min_size=1, max_size=16), max_size=60)
limits = st.tuples(st.integers(min_value=1, max_value=12), st.integers(min_value=16, max_value=80))


@given(numbers_lists, limits)
def test_batching_invariants(numbers: list[str], limit: tuple[int, int]) -> None:
    max_numbers, max_chars = limit
    batches = plan_batches(numbers, max_numbers=max_numbers, max_chars=max_chars)
    # Every number exactly once, in order (duplicates in the input are kept as given).
    assert [n for batch in batches for n in batch] == numbers
    # Every call within both limits, and none empty.
    for batch in batches:
        assert 1 <= len(batch) <= max_numbers
        assert len(",".join(batch)) <= max_chars
    # Greedy: no batch could have taken the next batch's first number ...
    for batch, following in itertools.pairwise(batches):
        grown = (*batch, following[0])
        assert len(grown) > max_numbers or len(",".join(grown)) > max_chars
    # ... which makes it the fewest calls possible.
    assert len(batches) == _minimal_calls([len(n) for n in numbers], max_numbers, max_chars)


@given(
    st.lists(
        st.integers(min_value=13_000_000_000, max_value=19_999_999_999).map(str),
        max_size=400,
        unique=True,
    )
)
def test_batching_mobiles_with_provider_limits(numbers: list[str]) -> None:
    batches = plan_batches(numbers)
    assert [n for batch in batches for n in batch] == numbers
    assert all(len(",".join(b)) <= MAX_CHARS_PER_CALL for b in batches)
    assert len(batches) == -(-len(numbers) // 125)
