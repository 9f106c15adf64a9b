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
    consecutive batches that is the fewest calls possible. Raises ValueError for limits
    below 1 and for a number that is empty, holds a comma, or alone exceeds `max_chars`
    (the message names its position, not the number).
    """
    if max_numbers < 1 or max_chars < 1:
        raise ValueError(f"limits must be at least 1, got {max_numbers=} {max_chars=}")
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
