"""The hub and the shared reader, below the gRPC layer (real SQLite store)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
from events_stream_helpers import report

from smsgateway.backends.sqlite.database import SqliteDatabase
from smsgateway.backends.sqlite.dead_letters import SqliteDeadLetters
from smsgateway.backends.sqlite.event_log import SqliteEventLog
from smsgateway.events.hub import EventHub, HubClosedError
from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import (
    EventFilter,
    OutOfRangeError,
    ReportFilter,
    Retention,
    Source,
    StoredEvent,
    Stream,
)
from smsgateway.events.optout import OptOutRules
from smsgateway.events.subscriptions import (
    EventReader,
    Start,
    StartKind,
    SubscriptionConfig,
    subscribe,
)


class CountingStore(SqliteEventLog):
    """The real event log, counting reads (its dead letters alongside, for the Ingestor)."""

    reads = 0
    dead_letters: SqliteDeadLetters

    async def read(
        self, stream: Stream, after: int, limit: int, event_filter: EventFilter | None = None
    ) -> list[StoredEvent]:
        self.reads += 1
        return await super().read(stream, after, limit, event_filter)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CountingStore]:
    db = SqliteDatabase(tmp_path / "events.db", synchronous="NORMAL")
    await db.open()
    s = CountingStore(db)
    s.dead_letters = SqliteDeadLetters(db)
    yield s
    await db.close()


async def test_notify_wakes_waiters_of_that_stream_only() -> None:
    hub = EventHub()
    with hub.watch(Stream.REPORTS) as reports, hub.watch(Stream.UPLINKS) as uplinks:
        reports.clear()
        uplinks.clear()
        hub.notify(Stream.REPORTS, ())
        assert await reports.wait(5)
        assert not await uplinks.wait(0.05)
        assert hub.sequence(Stream.REPORTS) == 1 and hub.sequence(Stream.UPLINKS) == 0
        assert hub.subscriber_counts() == {Stream.REPORTS: 1, Stream.UPLINKS: 1}
    assert hub.subscriber_counts() == {Stream.REPORTS: 0, Stream.UPLINKS: 0}


async def test_a_wake_up_during_the_read_is_not_lost() -> None:
    hub = EventHub()
    with hub.watch(Stream.REPORTS) as watch:
        watch.clear()  # before reading the store ...
        hub.notify(Stream.REPORTS, ())  # ... a commit lands during the read ...
        assert await watch.wait(0.01)  # ... so the wait returns at once


async def test_notify_from_another_thread_hops_onto_the_loop() -> None:
    hub = EventHub()
    with hub.watch(Stream.UPLINKS) as watch:
        watch.clear()
        thread = threading.Thread(target=hub.notify, args=(Stream.UPLINKS, ()))
        thread.start()
        thread.join()
        assert await watch.wait(5)


async def test_members_hear_only_about_acks_of_what_they_hold() -> None:
    hub = EventHub()
    holding_a: dict[int, Any] = {1: None, 2: None}
    holding_b: dict[int, Any] = {3: None}
    with (
        hub.watch(Stream.REPORTS, "g", holding_a) as a,
        hub.watch(Stream.REPORTS, "g", holding_b) as b,
        hub.watch(Stream.REPORTS, "other", {1: None}) as other,
    ):
        for w in (a, b, other):
            w.clear()
        hub.notify_group(Stream.REPORTS, "g", [2, 3, 9])
        assert a.take_acked() == {2} and b.take_acked() == {3}
        assert other.take_acked() == set() and not await other.wait(0.01)
        hub.notify_group(Stream.REPORTS, "g")  # leases expired or released: all wake
        assert await a.wait(1) and await b.wait(1)
        assert hub.group_member_count(Stream.REPORTS, "g") == 2


async def test_close_ends_waits_and_refuses_new_watches() -> None:
    hub = EventHub()
    watch = hub.watch(Stream.REPORTS)
    watch.clear()
    waiting = asyncio.create_task(watch.wait(30))
    await asyncio.sleep(0)
    hub.close()
    assert await waiting
    with pytest.raises(HubClosedError):
        watch.clear()
    with pytest.raises(HubClosedError):
        hub.watch(Stream.UPLINKS)


async def test_caught_up_subscribers_share_one_read_per_wake_up(store: CountingStore) -> None:
    hub = EventHub()
    reader = EventReader(store)
    ingestor = Ingestor(store, store.dead_letters, on_stored=hub.notify, opt_out=OptOutRules())
    config = SubscriptionConfig(page_size=100, poll_interval=30)
    count = 50
    got: list[list[int]] = [[] for _ in range(count)]

    async def run(i: int) -> None:
        stream = subscribe(reader, hub, Stream.REPORTS, Start(StartKind.LATEST), None, config)
        async with aclosing(stream) as events:
            async for event in events:
                got[i].append(event.cursor)

    tasks = [asyncio.create_task(run(i)) for i in range(count)]
    while hub.subscriber_count(Stream.REPORTS) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # every subscriber has done its first (empty) read
    store.reads = 0
    stored = []
    for _ in range(5):
        stored += (await ingestor.ingest_reports([report()], Source.PUSH)).stored
        while not all(len(g) == len(stored) for g in got):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert all(g == [e.cursor for e in stored] for g in got)
    # Without sharing it would be 50 reads per commit; a straggler that reads
    # after the others may make its own.
    assert store.reads <= 5 * 5
    assert hub.subscriber_count(Stream.REPORTS) == 0


async def test_subscriber_overtaken_by_retention_fails_instead_of_skipping(
    store: CountingStore,
) -> None:
    hub = EventHub()
    ingestor = Ingestor(store, store.dead_letters, on_stored=hub.notify, opt_out=OptOutRules())
    stored = (await ingestor.ingest_reports([report() for _ in range(20)], Source.PUSH)).stored
    config = SubscriptionConfig(page_size=4, poll_interval=30)
    stream = subscribe(store, hub, Stream.REPORTS, Start(StartKind.EARLIEST), None, config)
    async with aclosing(stream) as events:
        assert [(await anext(events)).cursor for _ in range(3)] == [e.cursor for e in stored[:3]]
        await store.prune(Retention(max_events=5))  # it lags: 5..15 go unseen
        assert (await anext(events)).cursor == stored[3].cursor  # already read
        with pytest.raises(OutOfRangeError) as err:
            await anext(events)
    assert err.value.oldest_cursor == stored[15].cursor


async def test_caught_up_subscribers_take_the_notified_events_without_a_store_read(
    store: CountingStore,
) -> None:
    hub = EventHub()
    reader = EventReader(store)
    ingestor = Ingestor(store, store.dead_letters, on_stored=hub.notify, opt_out=OptOutRules())
    config = SubscriptionConfig(page_size=100, poll_interval=30)
    count = 20
    got: list[list[StoredEvent]] = [[] for _ in range(count)]

    async def run(i: int) -> None:
        stream = subscribe(reader, hub, Stream.REPORTS, Start(StartKind.LATEST), None, config)
        async with aclosing(stream) as events:
            async for event in events:
                got[i].append(event)

    tasks = [asyncio.create_task(run(i)) for i in range(count)]
    while hub.subscriber_count(Stream.REPORTS) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # every subscriber has done its first (empty) read
    store.reads = 0
    stored: list[StoredEvent] = []
    for size in (1, 3, 1, 7):
        stored += (
            await ingestor.ingest_reports([report() for _ in range(size)], Source.PUSH)
        ).stored
        while not all(len(g) == len(stored) for g in got):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    reads = store.reads
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert reads == 0
    # What they were given is what the store holds.
    assert list(await store.read(Stream.REPORTS, stored[0].cursor - 1, 100)) == stored
    assert all(g == stored for g in got)


async def test_latest_gives_only_the_events_right_after_the_cursor_of_the_latest_commit(
    store: CountingStore,
) -> None:
    hub = EventHub()
    ingestor = Ingestor(store, store.dead_letters, on_stored=hub.notify, opt_out=OptOutRules())
    first = (await ingestor.ingest_reports([report(), report()], Source.PUSH)).stored
    sequence = hub.sequence(Stream.REPORTS)
    before = first[0].cursor - 1
    assert list(hub.latest(Stream.REPORTS, sequence, before)) == list(first)
    assert hub.latest(Stream.REPORTS, sequence, before - 1) == ()  # one would be missing
    assert hub.latest(Stream.REPORTS, sequence, first[0].cursor) == ()  # mid-commit
    assert hub.latest(Stream.UPLINKS, hub.sequence(Stream.UPLINKS), before) == ()
    second = (await ingestor.ingest_reports([report()], Source.PUSH)).stored
    assert hub.latest(Stream.REPORTS, sequence, before) == ()  # no longer the latest
    assert list(hub.latest(Stream.REPORTS, sequence + 1, first[-1].cursor)) == list(second)
    hub.notify(Stream.REPORTS)  # a bare wake-up: nothing to take, read the store
    assert hub.latest(Stream.REPORTS, sequence + 2, second[-1].cursor) == ()


async def test_a_filtered_subscriber_reads_the_store(store: CountingStore) -> None:
    hub = EventHub()
    ingestor = Ingestor(store, store.dead_letters, on_stored=hub.notify, opt_out=OptOutRules())
    config = SubscriptionConfig(page_size=100, poll_interval=30)
    wanted = ReportFilter(phone_numbers=frozenset({"13651688564"}))
    stream = subscribe(store, hub, Stream.REPORTS, Start(StartKind.LATEST), wanted, config)
    async with aclosing(stream) as events:
        waiting = asyncio.ensure_future(anext(events))
        while hub.subscriber_count(Stream.REPORTS) < 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        reads = store.reads
        await ingestor.ingest_reports([report(phone="13800138000")], Source.PUSH)
        (match,) = (await ingestor.ingest_reports([report()], Source.PUSH)).stored
        assert await asyncio.wait_for(waiting, 15) == match
        assert store.reads > reads
