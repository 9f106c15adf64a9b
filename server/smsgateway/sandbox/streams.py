"""Delivery reports and uplinks held in memory until they are due, then pulled and/or pushed."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Report:
    """The delivery report of one recipient of an accepted send."""

    biz_id: str
    phone_number: str
    code: str
    sms_size: int
    send_time: float
    report_time: float


@dataclass(slots=True)
class Uplink:
    """A handset's reply (injected through the admin API)."""

    phone_number: str
    content: str
    sign: str
    sequence_id: int
    send_time: float


@dataclass(slots=True, eq=False)
class Entry(Generic[T]):
    """One item of a `Stream`, with what has been done with it."""

    seq: int
    sign: str
    item: T
    pulled: bool = False
    pushed: bool = False


class Stream(Generic[T]):
    """Items (reports or uplinks) that become due at a time, then are pulled and/or pushed."""

    def __init__(self) -> None:
        self._scheduled: list[tuple[float, int, Entry[T]]] = []  # heap by due time
        self._ready: dict[int, Entry[T]] = {}  # due, still wanted by pull or push
        self._seq = 0
        self.pushed_total = 0
        self.pulled_total = 0
        self.push_failures = 0
        self.forgotten = 0

    def add(self, due: float, sign: str, item: T, *, keep: int) -> None:
        """Schedule `item` for `due`. Holding `keep` items already, the oldest tenth is
        forgotten first (due ones first, then the next due), a tenth at a time so that
        a full stream stays cheap to add to."""
        excess = len(self._ready) + len(self._scheduled) + 1 - keep
        if excess > 0:
            drop = max(excess, keep // 10)
            ready = list(itertools.islice(self._ready, drop))
            for seq in ready:
                del self._ready[seq]
            rest = min(drop - len(ready), len(self._scheduled))
            if rest:
                self._scheduled.sort()  # a sorted list is a heap
                del self._scheduled[:rest]
            self.forgotten += len(ready) + rest
        self._seq += 1
        heapq.heappush(self._scheduled, (due, self._seq, Entry(self._seq, sign, item)))

    def _promote(self, now: float) -> None:
        while self._scheduled and self._scheduled[0][0] <= now:
            entry = heapq.heappop(self._scheduled)[2]
            self._ready[entry.seq] = entry

    def pull(
        self, now: float, sign: str | None, limit: int, *, repeat: bool, keep_for_push: bool
    ) -> list[T]:
        self._promote(now)
        out: list[T] = []
        done: list[int] = []
        for entry in self._ready.values():
            if len(out) >= limit:
                break
            if sign is not None and entry.sign != sign:
                continue
            if not repeat and (entry.pulled or entry.pushed):
                if entry.pushed or not keep_for_push:  # left over from pull_repeat
                    done.append(entry.seq)
                continue
            out.append(entry.item)
            entry.pulled = True
            if not repeat and not keep_for_push:
                done.append(entry.seq)
        for seq in done:
            del self._ready[seq]
        self.pulled_total += len(out)
        return out

    def push_batch(self, now: float, limit: int) -> list[Entry[T]]:
        self._promote(now)
        out: list[Entry[T]] = []
        for entry in self._ready.values():
            if not entry.pushed:
                out.append(entry)
                if len(out) >= limit:
                    break
        return out

    def mark_pushed(self, entries: Iterable[Entry[T]], *, keep_for_pull: bool) -> None:
        for entry in entries:
            entry.pushed = True
            self.pushed_total += 1
            if not keep_for_pull:
                self._ready.pop(entry.seq, None)

    def unpushed(self, now: float) -> int:
        self._promote(now)
        return len(self._scheduled) + sum(1 for e in self._ready.values() if not e.pushed)

    def pending(self, now: float) -> int:
        """Not yet due, or due and neither pulled nor pushed."""
        self._promote(now)
        waiting = sum(1 for e in self._ready.values() if not (e.pulled or e.pushed))
        return len(self._scheduled) + waiting
