"""The sandbox's in-memory state, shared by its endpoints, fault injection and pushers."""

from __future__ import annotations

import collections
import random
from collections.abc import Callable
from decimal import Decimal

from smsgateway.sandbox.config import Faults, SandboxBatch, SandboxConfig
from smsgateway.sandbox.streams import Report, Stream, Uplink
from smsgateway.sandbox.tokens import Tokens


class SandboxState:
    """Everything the simulated provider remembers; it lives on the event loop serving it."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float]) -> None:
        self.config = config  # replaced (by configure / reset_secret), never mutated
        self.clock = clock
        self.rng = random.Random(config.seed)  # bizIds, report outcomes, uplink sequence ids
        # Faults draw from their own RNG so toggling them does not shift bizIds/outcomes.
        self.fault_rng = random.Random(None if config.seed is None else config.seed + 1)
        self.faults = Faults()
        self.batches: list[SandboxBatch] = []  # oldest first, at most config.max_kept
        self.forgotten_batches = 0
        self.requests: collections.Counter[str] = collections.Counter()
        self.tokens_issued = 0
        self.balance: Decimal = config.balance
        self.tokens = Tokens()
        self.reports: Stream[Report] = Stream()
        self.uplinks: Stream[Uplink] = Stream()
        self.next_sequence_id = 1_000_000_000 + self.rng.randrange(1_000_000_000)

    def record_batch(self, batch: SandboxBatch) -> None:
        """Remember an accepted batch; past `max_kept` the oldest are forgotten (a tenth at
        a time, so that trimming the list stays cheap)."""
        self.batches.append(batch)
        excess = len(self.batches) - self.config.max_kept
        if excess > 0:
            drop = max(excess, self.config.max_kept // 10)
            del self.batches[:drop]
            self.forgotten_batches += drop

    def reseed(self, seed: int | None) -> None:
        """Restart both RNGs from `seed` (None: unpredictable)."""
        self.rng = random.Random(seed)
        self.fault_rng = random.Random(None if seed is None else seed + 1)
