"""Split recipients into provider calls.

`phoneNumbers` of one provider call holds at most 1,000 numbers *and* at most 1,500
characters (numbers joined by ``,``). With 11-digit numbers the character limit binds
first: 125 numbers per call (125 * 11 + 124 commas = 1,499 characters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

MAX_NUMBERS_PER_CALL: Final = 1000
"""The provider's limit on numbers in one ``phoneNumbers``."""
MAX_CHARS_PER_CALL: Final = 1500
"""The provider's limit on the length of one ``phoneNumbers`` (separators included)."""


def plan_batches(
    numbers: Sequence[str],
    max_numbers: int = MAX_NUMBERS_PER_CALL,
    max_chars: int = MAX_CHARS_PER_CALL,
) -> list[tuple[str, ...]]:
    """Cut `numbers` into consecutive batches, each within both limits, order kept.

    Greedy: a batch takes numbers until the next one would break a limit. For
    consecutive batches that is the fewest calls possible. Numbers of one length (the
    normalised 11 digits) are cut at a fixed size without a loop per number.

    Raises ValueError for limits below 1 and for a number that is empty, holds a
    comma, or alone exceeds `max_chars` (the message names its position, not the
    number).
    """
    if max_numbers < 1 or max_chars < 1:
        raise ValueError(f"limits must be at least 1, got {max_numbers=} {max_chars=}")
    per_call = _uniform_batch_size(numbers, max_numbers, max_chars)
    if per_call:  # the usual case (normalised numbers): cut every `per_call` numbers
        return [tuple(numbers[i : i + per_call]) for i in range(0, len(numbers), per_call)]
    batches: list[tuple[str, ...]] = []
    batch: list[str] = []
    joined = -1  # ",".join(batch) length; -1 cancels the comma counted for the first number
    for index, number in enumerate(numbers):
        size = len(number)
        if size == 0 or size > max_chars or "," in number:
            raise ValueError(
                f"numbers[{index}] cannot go in a provider call: it is empty, holds a comma, "
                f"or is longer than {max_chars} characters"
            )
        if batch and (len(batch) == max_numbers or joined + 1 + size > max_chars):
            batches.append(tuple(batch))
            batch = []
            joined = -1
        batch.append(number)
        joined += 1 + size
    if batch:
        batches.append(tuple(batch))
    return batches


def _uniform_batch_size(numbers: Sequence[str], max_numbers: int, max_chars: int) -> int:
    """How many numbers each greedy batch takes when every number has the same length,
    none is empty or holds a comma, and one fits in a call; else 0.

    Checked on the joined text in C: ``n - 1`` commas in all, each exactly where the
    separators of ``n`` equally long numbers go, leaves no other possibility.
    """
    if not numbers:
        return 0
    size = len(numbers[0])
    if size == 0 or size > max_chars:
        return 0
    joined = ",".join(numbers)
    commas = len(numbers) - 1
    if len(joined) != size * len(numbers) + commas or joined.count(",") != commas:
        return 0
    if joined[size :: size + 1] != "," * commas:
        return 0
    return min(max_numbers, (max_chars + 1) // (size + 1))
