"""Time recipient validation and batching for 100,000 numbers.

A plain script, not a test: ``.venv/bin/python bench/bench_validation.py [count]``.
Prints, per input mix, the best of several runs: total wall ms for validation and for
splitting into provider calls, and µs per number. Budget (DESIGN.md): 100,000
recipients validated and split in well under a second.
"""

from __future__ import annotations

import functools
import random
import sys
import time
from collections.abc import Callable

from smsgateway.messaging import normalize_phone_numbers, plan_batches

PREFIXES = ["130", "133", "135", "136", "138", "139", "150", "158", "166", "177", "186", "199"]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def plain(rng: random.Random, count: int) -> list[str]:
    return [f"{rng.choice(PREFIXES)}{rng.randrange(10**8):08d}" for _ in range(count)]


def formatted(number: str, rng: random.Random) -> str:
    """One of the formatted spellings of a mainland mobile."""
    style = rng.randrange(4)
    if style == 0:
        return f"+86 {number[:3]}-{number[3:7]}-{number[7:]}"
    if style == 1:
        return "86" + number
    if style == 2:
        return number.translate(FULL_WIDTH)
    return "0" + number  # trunk prefix: only the general phonenumbers parse knows it


def mixed(rng: random.Random, count: int, formatted_share: float) -> list[str]:
    numbers = plain(rng, count)
    return [formatted(n, rng) if rng.random() < formatted_share else n for n in numbers]


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(42)
    cases = {
        "plain 11-digit": plain(rng, count),
        "90% plain, 10% formatted": mixed(rng, count, 0.10),
        "all formatted (25% general parse)": mixed(rng, count, 1.0),
    }
    print(f"{count:,} recipients per run, best of 5 (3 for the slow mix)")
    print(f"{'input':36} {'validate ms':>12} {'split ms':>9} {'total ms':>9} {'µs/number':>10}")
    for name, entries in cases.items():
        runs = 3 if name.startswith("all") else 5
        result = normalize_phone_numbers(entries)
        assert not result.violations, result.violations[:3]
        validate = best_of(runs, functools.partial(normalize_phone_numbers, entries))
        split = best_of(runs, functools.partial(plan_batches, result.numbers))
        total = validate + split
        print(
            f"{name:36} {validate * 1e3:12.1f} {split * 1e3:9.1f} {total * 1e3:9.1f}"
            f" {total / count * 1e6:10.2f}"
        )
    calls = len(plan_batches(normalize_phone_numbers(cases["plain 11-digit"]).numbers))
    print(f"plain case: {calls} provider calls")


if __name__ == "__main__":
    main()
