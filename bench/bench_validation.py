"""Time recipient validation and batching for 100,000 numbers.

A plain script, not a test: ``.venv/bin/python bench/bench_validation.py [count]``.
Prints, per input mix, the best of several runs: CPU ms for validation and for
splitting into provider calls, and CPU µs per number (the work is single-threaded, so
on an idle machine wall time is the same). Budget (DESIGN.md): 100,000
recipients validated and split in well under a second.

No store is involved, so there is no `--backend`: the same work with the records
written, on each backend, in a real gateway process, is `bench_soak.py --mode large`.
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
    """One of the formatted spellings of a mainland mobile (all on the fast path)."""
    style = rng.randrange(4)
    if style == 0:
        return f"+86 {number[:3]}-{number[3:7]}-{number[7:]}"
    if style == 1:
        return "86" + number
    if style == 2:
        return number.translate(FULL_WIDTH)
    return "0" + number  # trunk prefix


def mixed(rng: random.Random, count: int, formatted_share: float) -> list[str]:
    numbers = plain(rng, count)
    return [formatted(n, rng) if rng.random() < formatted_share else n for n in numbers]


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The least CPU time (seconds) of `runs` calls: on a shared machine wall time
    mostly measures the neighbours."""
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(42)
    cases = {
        "plain 11-digit": plain(rng, count),
        "90% plain, 10% formatted": mixed(rng, count, 0.10),
        "all formatted": mixed(rng, count, 1.0),
        # Carrier prefixes: valid, but only the general phonenumbers parse knows them.
        "1% via general parse": [
            "17951" + n if rng.random() < 0.01 else n for n in plain(rng, count)
        ],
    }
    print(f"{count:,} recipients per run, best of 5, CPU time")
    print(f"{'input':36} {'validate ms':>12} {'split ms':>9} {'total ms':>9} {'µs/number':>10}")
    for name, entries in cases.items():
        result = normalize_phone_numbers(entries)
        assert not result.violations, result.violations[:3]
        validate = best_of(5, functools.partial(normalize_phone_numbers, entries))
        split = best_of(5, functools.partial(plan_batches, result.numbers))
        total = validate + split
        print(
            f"{name:36} {validate * 1e3:12.1f} {split * 1e3:9.1f} {total * 1e3:9.1f}"
            f" {total / count * 1e6:10.2f}"
        )
    calls = len(plan_batches(normalize_phone_numbers(cases["plain 11-digit"]).numbers))
    print(f"plain case: {calls} provider calls")
    # Garbage stops after the first MAX_VIOLATIONS invalid numbers.
    garbage = [f"x{i}" for i in range(count)]
    seconds = best_of(5, functools.partial(normalize_phone_numbers, garbage))
    print(f"all invalid: {seconds * 1e3:.2f} ms (stops at the violation cap)")
    general = plain(rng, 2000)
    general = ["17951" + n for n in general]
    seconds = best_of(3, functools.partial(normalize_phone_numbers, general))
    print(f"general phonenumbers parse alone: {seconds / len(general) * 1e6:.1f} µs/number")


if __name__ == "__main__":
    main()
