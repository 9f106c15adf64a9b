"""The Redis event aggregate across replicas, on a real redis-server.

Each "replica" is its own client and its own instances of the Redis classes on
one Redis (one key prefix per test). What SQLite cannot show: cursors handed out
by several writers, the live feed between replicas, consumer groups shared by
members on different replicas, bounds shared by every replica, and parity with
the SQLite backend where Redis must emulate an in-place update.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.backends.redis.connection import Client, RedisSettings, connect
from smsgateway.backends.redis.dead_letters import RedisDeadLetters
from smsgateway.backends.redis.event_log import RedisEventLog
from smsgateway.backends.redis.feed import RedisEventFeed
from smsgateway.backends.redis.groups import RedisConsumerGroups
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.backends.redis.send_log import RedisSendLog
from smsgateway.backends.redis.suppressions import RedisSuppressions
from smsgateway.events.model import (
    DeliveryReportIn,
    ReportFilter,
    Retention,
    SentBatch,
    Source,
    StoredEvent,
    StoredReport,
    Stream,
    TooManyGroupsError,
    UnknownGroupError,
    UplinkIn,
)
from smsgateway.store_errors import StoreFullError, StoreUnavailableError
from testkit.redis_server import RedisServer

CST = timezone(timedelta(hours=8))
WAIT = 5.0
"""Upper bound of every wait in these tests."""


class FakeClock:
    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Replica:
    """One gateway's view of the shared Redis."""

    client: Client
    events: RedisEventLog
    feed: RedisEventFeed
    groups: RedisConsumerGroups
    send_log: RedisSendLog
    suppressions: RedisSuppressions
    dead_letters: RedisDeadLetters


def replica(
    url: str,
    prefix: str,
    clock: FakeClock,
    *,
    client: Client | None = None,
    retries: int = 3,
    **groups: int,
) -> Replica:
    client = client or connect(RedisSettings(url=url, retries=retries))
    keys = RedisKeys(prefix)
    events = RedisEventLog(client, keys, clock)
    return Replica(
        client,
        events,
        RedisEventFeed(client, keys, origin=events.origin),
        RedisConsumerGroups(client, keys, clock, **groups),
        RedisSendLog(client, keys),
        RedisSuppressions(client, keys, clock),
        RedisDeadLetters(client, keys, clock, max_count=5, max_bytes=1000, max_body_bytes=300),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def pair(
    redis_server: RedisServer, redis_prefix: str, clock: FakeClock
) -> AsyncIterator[tuple[Replica, Replica]]:
    a = replica(redis_server.url, redis_prefix, clock, max_groups=3)
    b = replica(redis_server.url, redis_prefix, clock, max_groups=3)
    yield a, b
    await a.client.aclose()
    await b.client.aclose()


def report(
    biz: str = "B1", phone: str = "13900000001", code: str = "10000", minute: int = 0
) -> DeliveryReportIn:
    return DeliveryReportIn(
        biz_id=biz,
        phone_number=phone,
        provider_code=code,
        success=code == "10000",
        message="请求成功",
        sms_size=1,
        send_time=datetime(2026, 1, 1, 12, 0, tzinfo=CST),
        report_time=datetime(2026, 1, 1, 12, minute, 5, tzinfo=CST),
    )


def cursors(events: Sequence[StoredEvent]) -> list[int]:
    return [e.cursor for e in events]


# -- cursors ------------------------------------------------------------------------


async def test_two_replicas_appending_concurrently_get_unique_gapless_cursors(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair

    async def push(who: Replica, i: int) -> list[int]:
        batch = [report(f"B{i}", f"139{j:08d}") for j in range(25)]
        return cursors((await who.events.append_reports(batch, Source.PUSH)).stored)

    results = await asyncio.gather(*(push(a if i % 2 else b, i) for i in range(20)))
    assert sorted(c for r in results for c in r) == list(range(1, 501))
    for r in results:  # one atomic step per append: a contiguous run
        assert r == list(range(r[0], r[0] + 25))
    assert await a.events.last_cursor(Stream.REPORTS) == 500
    assert cursors(await b.events.read(Stream.REPORTS, 0, 1000)) == list(range(1, 501))


async def test_the_same_push_on_two_replicas_is_stored_once(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    batch = [report(phone=f"139{j:08d}") for j in range(50)]
    first, second = await asyncio.gather(
        a.events.append_reports(batch, Source.PUSH), b.events.append_reports(batch, Source.PULL)
    )
    assert len(first.stored) + len(second.stored) == 50
    assert first.duplicates + second.duplicates == 50
    assert await a.events.last_cursor(Stream.REPORTS) == 50


async def test_cursor_before_time_agrees_with_a_scan(
    pair: tuple[Replica, Replica], clock: FakeClock
) -> None:
    a, _ = pair
    rng = random.Random(8)
    for i in range(120):
        await a.events.append_reports([report(phone=f"1{i:010d}")], Source.PUSH)
        clock.advance(rng.choice([0.0, 0.5, 1.0, 3.0]))
    stored = await a.events.read(Stream.REPORTS, 0, 1000)
    await a.events.prune(Retention(max_age_seconds=1e9, max_events=100))
    stored = stored[20:]
    for probe in [stored[0].receive_time - timedelta(seconds=5)] + [
        e.receive_time + timedelta(seconds=d) for e in stored[::7] for d in (-0.25, 0, 0.25)
    ]:
        later = [e.cursor for e in stored if e.receive_time >= probe]
        expected = later[0] - 1 if later else 120
        assert await a.events.cursor_before_time(Stream.REPORTS, probe) == expected, probe


# -- the live feed ------------------------------------------------------------------


async def _wait_for(
    queue: asyncio.Queue[tuple[Stream, list[StoredEvent]]],
) -> tuple[Stream, list[StoredEvent]]:
    async with asyncio.timeout(WAIT):
        return await queue.get()


def _collector() -> tuple[asyncio.Queue[tuple[Stream, list[StoredEvent]]], Any]:
    queue: asyncio.Queue[tuple[Stream, list[StoredEvent]]] = asyncio.Queue()
    return queue, lambda stream, events: queue.put_nowait((stream, list(events)))


@pytest.mark.parametrize("protocol", [2, 3])
async def test_the_feed_delivers_another_replicas_append_within_a_second(
    redis_server: RedisServer, redis_prefix: str, clock: FakeClock, protocol: int
) -> None:
    client = redis.asyncio.Redis.from_url(redis_server.url, protocol=protocol)
    a = replica(redis_server.url, redis_prefix, clock, client=client)
    b = replica(redis_server.url, redis_prefix, clock)
    await b.events.append_reports([report(phone="13900000000")], Source.PUSH)  # before: not fed
    queue, on_stored = _collector()
    feed = asyncio.create_task(a.feed.run(on_stored))
    try:
        await asyncio.sleep(0.2)  # the loop has read the starting cursor
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await b.events.append_reports([report(phone="13900000001")], Source.PUSH)
        stream, events = await _wait_for(queue)
        assert loop.time() - started < 1.0
        assert (stream, events) == (Stream.REPORTS, list(result.stored))
        # A's own appends are announced by its ingestor, not by the feed.
        await a.events.append_reports([report(phone="13900000002")], Source.PUSH)
        uplink = UplinkIn("18600000001", "hi", "S", 7, None)
        up = await b.events.append_uplinks([uplink], Source.PULL)
        more = await b.events.append_reports([report(phone="13900000003")], Source.PUSH)
        got = {}
        for _ in range(2):
            stream, events = await _wait_for(queue)
            got[stream] = events
        assert got == {Stream.UPLINKS: list(up.stored), Stream.REPORTS: list(more.stored)}
        assert queue.empty()
    finally:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
        await client.aclose()
        await b.client.aclose()


async def test_cancelling_the_feed_is_prompt(pair: tuple[Replica, Replica]) -> None:
    a, _ = pair
    _, on_stored = _collector()
    feed = asyncio.create_task(a.feed.run(on_stored))
    await asyncio.sleep(0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    feed.cancel()
    async with asyncio.timeout(WAIT):
        await asyncio.gather(feed, return_exceptions=True)
    assert loop.time() - started < 1.5  # at most one BLOCK (1 s) after the cancel


async def test_the_feed_recovers_by_itself_after_redis_restarts(
    tmp_path: Path, redis_prefix: str, clock: FakeClock
) -> None:
    server = RedisServer(tmp_path / "redis", appendonly=True, appendfsync="always").start()
    a = replica(server.url, redis_prefix, clock)
    b = replica(server.url, redis_prefix, clock, retries=1)
    queue, on_stored = _collector()
    feed = asyncio.create_task(a.feed.run(on_stored))
    try:
        await asyncio.sleep(0.2)  # the loop has read the starting cursor
        await b.events.append_reports([report(phone="13900000001")], Source.PUSH)
        assert cursors((await _wait_for(queue))[1]) == [1]
        server.kill()
        with pytest.raises(StoreUnavailableError):
            await b.events.append_reports([report(phone="13900000002")], Source.PUSH)
        await asyncio.sleep(0.5)  # the feed's loop fails and backs off meanwhile
        server.start()
        result = await b.events.append_reports([report(phone="13900000003")], Source.PUSH)
        assert cursors((await asyncio.wait_for(queue.get(), 10))[1]) == cursors(result.stored)
    finally:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
        await a.client.aclose()
        await b.client.aclose()
        server.stop()


# -- consumer groups across replicas ------------------------------------------------


async def _drain(members: list[tuple[RedisConsumerGroups, str]], **claim: Any) -> dict[int, str]:
    """Claim concurrently until nobody gets anything; cursor → the member that got it."""
    holder: dict[int, str] = {}
    doubles: list[int] = []

    async def run(groups: RedisConsumerGroups, member: str) -> None:
        while True:
            got = await groups.claim(Stream.REPORTS, "g", member, 7, 600, **claim)
            if not got:
                return
            for e in got:
                if e.cursor in holder:
                    doubles.append(e.cursor)
                holder[e.cursor] = member

    async with asyncio.timeout(30):
        await asyncio.gather(*(run(g, m) for g, m in members))
    assert doubles == []
    return holder


async def test_members_on_two_replicas_never_hold_the_same_event(
    pair: tuple[Replica, Replica], clock: FakeClock
) -> None:
    a, b = pair
    await a.events.append_reports([report(phone=f"1{i:010d}") for i in range(300)], Source.PUSH)
    await a.groups.join_group(Stream.REPORTS, "g", 0, "")
    members = [(a.groups, "a1"), (a.groups, "a2"), (b.groups, "b1"), (b.groups, "b2")]
    holder = await _drain(members)
    assert sorted(holder) == list(range(1, 301))
    assert len(set(holder.values())) > 1  # the work was shared
    # A member that disappears: its leases run out and go to a member elsewhere.
    clock.advance(601)
    again = await b.groups.claim(Stream.REPORTS, "g", "b1", 1000, 30)
    assert cursors(again) == list(range(1, 301))
    [info] = await a.groups.groups(Stream.REPORTS)
    assert (info.position, info.pending) == (300, 300)


async def test_filtered_claims_on_two_replicas_skip_and_never_double_lease(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    codes = ["10000", "4", "12345"]
    await a.events.append_reports(
        [report(phone=f"1{i:010d}", code=codes[i % 3]) for i in range(600)], Source.PUSH
    )
    f = ReportFilter(provider_codes=frozenset({"4"}), other_codes=True)
    await a.groups.join_group(Stream.REPORTS, "g", 0, "codes=4,other")
    holder = await _drain([(a.groups, "a1"), (b.groups, "b1"), (b.groups, "b2")], event_filter=f)
    assert sorted(holder) == [c for c in range(1, 601) if (c - 1) % 3 != 0]
    [info] = await b.groups.groups(Stream.REPORTS)
    assert info.position == 600 and info.pending == 400


async def test_a_filtered_claim_scans_a_bounded_stretch_per_call(
    redis_server: RedisServer, redis_prefix: str, clock: FakeClock
) -> None:
    a = replica(redis_server.url, redis_prefix, clock, scan_chunk=10, max_scan=30)
    try:
        batch = [report(phone=f"1{i:010d}", code="4") for i in range(95)]
        await a.events.append_reports([*batch, report(phone="13900000000")], Source.PUSH)
        f = ReportFilter(provider_codes=frozenset({"10000"}))
        await a.groups.join_group(Stream.REPORTS, "g", 0, "codes=10000")
        positions = []
        for _ in range(3):
            assert await a.groups.claim(Stream.REPORTS, "g", "m", 5, 30, f) == []
            positions += [g.position for g in await a.groups.groups(Stream.REPORTS)]
        assert positions == [30, 60, 90]
        assert cursors(await a.groups.claim(Stream.REPORTS, "g", "m", 5, 30, f)) == [96]
    finally:
        await a.client.aclose()


async def test_group_bound_delete_and_idle_expiry(
    pair: tuple[Replica, Replica], clock: FakeClock
) -> None:
    a, b = pair
    await a.events.append_reports([report(phone=f"1{i:010d}") for i in range(5)], Source.PUSH)
    await a.groups.join_group(Stream.REPORTS, "g1", 0, "")
    await b.groups.join_group(Stream.REPORTS, "g2", 0, "")
    await a.groups.join_group(Stream.UPLINKS, "g1", 0, "")  # both streams count
    with pytest.raises(TooManyGroupsError):
        await b.groups.join_group(Stream.REPORTS, "g3", 0, "")
    await b.groups.join_group(Stream.REPORTS, "g1", 0, "")  # an existing one: fine
    await a.groups.claim(Stream.REPORTS, "g1", "m", 3, 600)
    assert await b.groups.delete_group(Stream.REPORTS, "g1") is True
    assert await b.groups.delete_group(Stream.REPORTS, "g1") is False
    with pytest.raises(UnknownGroupError):
        await a.groups.claim(Stream.REPORTS, "g1", "m", 3, 600)
    info = await a.groups.join_group(Stream.REPORTS, "g1", 0, "")  # new: no old leases
    assert (info.position, info.pending) == (0, 0)
    # Idle expiry: activity is join, claim or ack, by any replica.
    clock.advance(100)
    await b.groups.claim(Stream.REPORTS, "g2", "m", 1, 600)
    clock.advance(100)
    await a.groups.ack(Stream.UPLINKS, "g1", [1])
    clock.advance(50)
    pruned = await b.groups.prune_groups(idle_seconds=200)
    assert pruned == [(Stream.REPORTS, "g1")]
    assert [g.name for g in await a.groups.groups(Stream.REPORTS)] == ["g2"]
    assert sorted(await a.groups.prune_groups(idle_seconds=0.5)) == [
        (Stream.REPORTS, "g2"),
        (Stream.UPLINKS, "g1"),
    ]
    assert await a.groups.groups(Stream.UPLINKS) == []


# -- dead letters -----------------------------------------------------------------


async def test_dead_letters_are_bounded_for_every_replica(
    pair: tuple[Replica, Replica], clock: FakeClock
) -> None:
    a, b = pair  # max_count=5, max_bytes=1000, max_body_bytes=300
    for i in range(8):
        who = a if i % 2 else b
        clock.advance(1)
        await who.dead_letters.add_dead_letter(Stream.REPORTS, f"body{i}".encode(), f"e{i}")
    assert await a.dead_letters.dead_letter_count() == 5
    assert await b.dead_letters.dropped_total() == 3
    kept = await b.dead_letters.dead_letters()
    assert [d.error for d in kept] == ["e7", "e6", "e5", "e4", "e3"]
    assert kept[0].body == b"body7" and kept[0].original_length == 5
    # A large body keeps its first bytes and its length; the byte bound drops the oldest.
    await a.dead_letters.add_dead_letter(Stream.UPLINKS, b"x" * 5000, "big")
    [big] = await b.dead_letters.dead_letters(Stream.UPLINKS)
    assert (big.body, big.original_length, big.error) == (b"x" * 300, 5000, "big")
    assert [d.error for d in await a.dead_letters.dead_letters(Stream.REPORTS, limit=2)] == [
        "e7",
        "e6",
    ]
    for i in range(3):
        await b.dead_letters.add_dead_letter(Stream.UPLINKS, b"y" * 300, f"u{i}")
    # The count bound dropped e4..e6; the third 300-byte body then broke the byte
    # bound, which dropped e7 and the big one too.
    letters = await a.dead_letters.dead_letters(limit=100)
    assert [d.error for d in letters] == ["u2", "u1", "u0"]
    assert await a.dead_letters.dropped_total() == 9
    assert await a.dead_letters.dead_letters(Stream.REPORTS) == []
    # Retention by age drops the old ones and frees their bytes.
    clock.advance(3600)
    await a.dead_letters.add_dead_letter(Stream.REPORTS, b"z" * 300, "fresh")  # drops u0
    await a.events.prune(Retention(max_age_seconds=1800))
    assert [d.error for d in await b.dead_letters.dead_letters()] == ["fresh"]
    for i in range(3):
        await b.dead_letters.add_dead_letter(Stream.REPORTS, b"w" * 200, f"w{i}")
    assert await b.dead_letters.dead_letter_count() == 4  # 300 + 3 * 200 bytes fit


# -- parity with SQLite where Redis emulates an update ----------------------------


async def _late_sign_story(events: Any, send_log: Any, groups: Any, clock: FakeClock) -> list[Any]:
    seen: list[Any] = []

    async def look() -> None:
        got = [e for e in await events.read(Stream.REPORTS, 0, 100) if isinstance(e, StoredReport)]
        seen.append([(e.cursor, e.sign) for e in got])
        seen.append(cursors(await events.read(Stream.REPORTS, 0, 100, ReportFilter(sign="S"))))
        latest = await send_log.latest_reports("B7")
        seen.append(sorted((p, r.cursor, r.sign) for p, r in latest.items()))

    def sent(sign: str, ago: float) -> list[SentBatch]:
        at = datetime.fromtimestamp(clock.now - ago, UTC)
        return [SentBatch("B7", ["13900000001"], sign, 2, at)]

    await events.append_reports([report("B7", "13900000001"), report("B8")], Source.PUSH)
    await look()
    await send_log.record_sends(sent("S", 7200))  # recorded after its report arrived
    await look()
    await events.append_reports([report("B7", "13900000002", minute=1)], Source.PUSH)
    await events.prune(Retention(max_age_seconds=3600))  # forgets the send, keeps the reports
    assert await send_log.sent_batch("B7") is None
    await events.append_reports([report("B7", "13900000003", minute=2)], Source.PUSH)
    await look()
    await send_log.record_sends(sent("T", 0))
    await look()
    await groups.join_group(Stream.REPORTS, "signs", 0, "sign=S")
    claimed = await groups.claim(Stream.REPORTS, "signs", "m", 10, 30, ReportFilter(sign="S"))
    seen.append(cursors(claimed))
    seen.append([(g.position, g.pending) for g in await groups.groups(Stream.REPORTS)])
    await events.prune(Retention(max_age_seconds=1e9, max_events=1))
    await look()
    return seen


async def test_signs_given_later_match_the_sqlite_backend(
    pair: tuple[Replica, Replica], clock: FakeClock, tmp_path: Path
) -> None:
    a, _ = pair
    on_redis = await _late_sign_story(a.events, a.send_log, a.groups, clock)
    sqlite_clock = FakeClock()
    backend = await sqlite_backend.open_backend(
        sqlite_backend.SqliteOptions(data_dir=tmp_path), clock=sqlite_clock
    )
    try:
        on_sqlite = await _late_sign_story(
            backend.events, backend.send_log, backend.groups, sqlite_clock
        )
    finally:
        await backend.close()
    assert on_redis == on_sqlite
    assert on_redis[3] == [(1, "S"), (2, "")]
    assert on_redis[9] == [(1, "S"), (2, ""), (3, "S"), (4, "T")]
    assert on_redis[12:14] == [[1, 3], [(4, 2)]]
    assert on_redis[14] == [(4, "T")]


# -- values, keys, failures ---------------------------------------------------------


async def test_odd_text_round_trips_and_orders_like_tuples(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    signs = ["", "A", "A\x00", "A\x01", "A\x01\x02", "AB", "A:1|2", "Ä", "圆通", "😀"]
    phones = ["", "1", "10", "2", "\x00"]
    for sign in signs:
        for phone in phones:
            await a.suppressions.add_suppression(sign, phone, f"why {sign}|{phone}:")
    expected = sorted((s, p) for s in signs for p in phones)
    got: list[tuple[str, str]] = []
    after: tuple[str, str] | None = None
    while page := await b.suppressions.list_suppressions("", after, 7):
        got += [(s.sign, s.phone_number) for s in page]
        after = got[-1]
    assert got == expected
    for sign in signs:
        listed = await b.suppressions.list_suppressions(sign, (sign, "10"), 100)
        assert [(s.sign, s.phone_number) for s in listed] == [
            (s, p) for s, p in expected if (s == sign or not sign) and (s, p) > (sign, "10")
        ]
        [one] = await b.suppressions.list_suppressions(sign, None, 1)
        assert one.reason == f"why {sign}|:"
    uplink = UplinkIn("18600000000", "退订 \x00 😀 \ud800", "A:1|2", 2**62, None)
    odd = DeliveryReportIn("", "", "", False, "", 0, None, None)
    await a.send_log.record_sends(
        [SentBatch("", ["", "1"], "A:1|2", 0, datetime(2026, 1, 1, tzinfo=UTC))]
    )
    stored = await a.events.append_reports([odd], Source.PULL)
    up = await a.events.append_uplinks([uplink], Source.PUSH, frozenset({uplink.dedup_key()}))
    assert await b.events.read(Stream.REPORTS, 0, 10) == list(stored.stored)
    assert await b.events.read(Stream.UPLINKS, 0, 10) == list(up.stored)
    assert stored.stored[0].sign == "A:1|2"  # type: ignore[union-attr]
    batch = await b.send_log.sent_batch("")
    assert batch is not None and (batch.phone_numbers, batch.sign) == (("1",), "A:1|2")
    assert await b.suppressions.suppressed("A:1|2", ["18600000000"]) == {"18600000000"}


async def test_a_full_prune_leaves_no_per_event_keys(
    pair: tuple[Replica, Replica], clock: FakeClock, redis_prefix: str
) -> None:
    a, _ = pair
    await a.events.append_reports([report("B1"), report("B2")], Source.PUSH)
    at = datetime.fromtimestamp(clock.now, UTC)
    await a.send_log.record_sends([SentBatch("B2", ["13900000001"], "S", 2, at)])
    await a.events.append_uplinks([UplinkIn("186", "hi", "S", 1, None)], Source.PUSH)
    await a.groups.join_group(Stream.REPORTS, "g", 0, "")
    await a.groups.claim(Stream.REPORTS, "g", "m", 10, 30)
    await a.dead_letters.add_dead_letter(Stream.REPORTS, b"[", "bad")
    clock.advance(10_000)
    assert await a.events.prune(Retention(max_age_seconds=60)) == 3
    keys = sorted(k.decode() for k in await a.client.keys(f"{{{redis_prefix}:events}}*"))
    tag = f"{{{redis_prefix}:events}}"
    assert keys == sorted(
        f"{tag}:{k}"
        for k in [
            "dead",
            "dead:meta",
            "groups:active",
            "reports:gfilter",
            "reports:groups",
            "reports:log",
            "reports:meta",
            "uplinks:log",
            "uplinks:meta",
        ]
    )
    [info] = await a.groups.groups(Stream.REPORTS)
    assert (info.position, info.pending) == (2, 0)


async def test_redis_down_or_full_is_a_store_error(tmp_path: Path, redis_prefix: str) -> None:
    server = RedisServer(
        tmp_path / "redis", extra_args=("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    ).start()
    a = replica(server.url, redis_prefix, FakeClock(), retries=1)
    try:
        big = "x" * 20_000
        with pytest.raises(StoreFullError, match="no room"):
            for i in range(1000):
                batch = [report(f"B{i}", f"1{j:010d}") for j in range(5)]
                batch = [DeliveryReportIn(r.biz_id, r.phone_number, "4", False, big) for r in batch]
                await a.events.append_reports(batch, Source.PUSH)
        # Nothing half-written: every stored event is complete and cursors are gapless.
        last = await a.events.last_cursor(Stream.REPORTS)
        assert cursors(await a.events.read(Stream.REPORTS, 0, 10_000)) == list(range(1, last + 1))
        server.kill()
        with pytest.raises(StoreUnavailableError):
            await a.events.append_reports([report()], Source.PUSH)
        with pytest.raises(StoreUnavailableError):
            await a.groups.groups(Stream.REPORTS)
    finally:
        await a.client.aclose()
        server.stop()
