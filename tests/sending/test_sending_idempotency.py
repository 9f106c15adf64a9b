"""IdempotencyStore contract on both backends, and what only Redis adds (many replicas, expiry).

Each "replica" is its own store with its own Redis client, as separate processes would be.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio

from smsgateway.backends.redis.connection import RedisSettings, connect
from smsgateway.backends.redis.idempotency import _TAKE, RedisIdempotencyStore
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.backends.sqlite.idempotency import SqliteIdempotencyStore
from smsgateway.sending.ports import IdempotencyStore, SendRecord
from smsgateway.store_errors import StoreUnavailableError
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.redis_server import RedisServer


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def planned(n_calls: int, request_id: str = "r1", per_call: int = 1) -> pb.SendSmsResponse:
    response = pb.SendSmsResponse(
        request_id=request_id, recipient_count=n_calls * per_call, content="【s】x"
    )
    for i in range(n_calls):
        response.calls.add(
            index=i,
            phone_numbers=[f"138{i:04d}{j:04d}" for j in range(per_call)],
            outcome=pb.CALL_OUTCOME_NOT_SENT,
        )
    return response


def accepted(index: int, biz: str = "1") -> pb.UpstreamCall:
    return pb.UpstreamCall(
        index=index, outcome=pb.CALL_OUTCOME_ACCEPTED, biz_id=biz * 20, provider_code="10000"
    )


async def accepted_in(store: IdempotencyStore, request_id: str, index: int) -> SendRecord:
    """The record once call `index` reads accepted in `store` (written behind by another
    store: polled for up to 2 s)."""
    for _ in range(200):
        seen = await store.get(request_id)
        assert seen is not None
        if seen.response.calls[index].outcome == pb.CALL_OUTCOME_ACCEPTED:
            return seen
        await asyncio.sleep(0.01)
    raise AssertionError(f"call {index}'s recorded outcome never reached the store")


OpenStore = Callable[..., Awaitable[IdempotencyStore]]
"""Opens a store on the test's backend; each call is one more process / replica."""


@pytest.fixture(params=["sqlite", "redis"])
async def open_store(
    request: pytest.FixtureRequest, tmp_path: Path, redis_prefix: str
) -> AsyncIterator[OpenStore]:
    stores: list[IdempotencyStore] = []
    clients: list[redis.asyncio.Redis] = []

    async def open_one(
        ttl_seconds: float = 60, clock: Callable[[], float] | None = None
    ) -> IdempotencyStore:
        clock = clock or Clock()
        store: IdempotencyStore
        if request.param == "sqlite":
            store = SqliteIdempotencyStore(
                tmp_path / "idem.db", ttl_seconds=ttl_seconds, clock=clock
            )
        else:
            server: RedisServer = request.getfixturevalue("redis_server")
            client = connect(RedisSettings(url=server.url))
            clients.append(client)
            store = RedisIdempotencyStore(
                client, RedisKeys(redis_prefix), ttl_seconds=ttl_seconds, clock=clock
            )
        await store.open()
        stores.append(store)
        return store

    try:
        yield open_one
    finally:
        for store in stores:
            await store.close()
        for client in clients:
            await client.aclose()


async def test_progress_survives_a_restart_and_in_flight_stays_unknown(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    assert await store.claim("r1", b"fp", planned(3)) is None
    await store.update_call("r1", accepted(0))
    in_flight = pb.UpstreamCall(index=1, outcome=pb.CALL_OUTCOME_UNKNOWN, message="in flight")
    await store.update_call("r1", in_flight)
    await store.close()  # the process "dies" here, before call 1's answer was recorded

    reopened = await open_store()
    record = await reopened.get("r1")
    assert record is not None and record.fingerprint == b"fp"
    outcomes = [c.outcome for c in record.response.calls]
    assert outcomes == [pb.CALL_OUTCOME_ACCEPTED, pb.CALL_OUTCOME_UNKNOWN, pb.CALL_OUTCOME_NOT_SENT]
    assert record.response.calls[0].biz_id == "1" * 20
    assert record.response.calls[1].message == "in flight"
    assert list(record.response.calls[2].phone_numbers) == ["13800020000"]
    assert [c.index for c in record.response.calls] == [0, 1, 2]
    assert record.response.content == "【s】x"
    assert record.response.recipient_count == 3


async def test_records_expire_after_the_ttl(
    open_store: OpenStore, request: pytest.FixtureRequest
) -> None:
    clock = Clock()
    store = await open_store(clock=clock)
    assert await store.claim("r1", b"fp", planned(1)) is None
    clock.now += 59
    assert await store.get("r1") is not None
    clock.now += 2
    assert await store.get("r1") is None
    # SQLite deletes here; Redis expires the key itself and has nothing to prune.
    assert await store.prune() == (1 if "sqlite" in request.node.callspec.id else 0)
    # An expired id can be used again from scratch.
    assert await store.claim("r1", b"other", planned(2)) is None
    record = await store.get("r1")
    assert record is not None and record.fingerprint == b"other"
    assert len(record.response.calls) == 2


async def test_a_second_claim_returns_the_live_record_and_writes_nothing(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    assert await store.claim("r1", b"fp", planned(2)) is None
    existing = await store.claim("r1", b"different", planned(5))
    assert existing is not None and existing.fingerprint == b"fp"
    assert len(existing.response.calls) == 2
    again = await store.get("r1")
    assert again is not None and again.fingerprint == b"fp" and len(again.response.calls) == 2


async def test_claims_made_together_each_get_their_own_answer(open_store: OpenStore) -> None:
    """Claims of one moment (written together on SQLite): new ones are recorded, a held
    one gets its record, and a duplicate among them gets the first one's record."""
    store = await open_store()
    assert await store.claim("held", b"old", planned(1, "held")) is None
    store.record_outcome("held", accepted(0, "7"))
    results = await asyncio.gather(
        *(store.claim(f"n{i}", f"fp{i}".encode(), planned(2, f"n{i}")) for i in range(40)),
        store.claim("held", b"new", planned(3, "held")),
        store.claim("dup", b"first", planned(1, "dup")),
        store.claim("dup", b"second", planned(4, "dup")),
    )
    assert results[:40] == [None] * 40
    held, first, second = results[40:]
    assert held is not None and held.fingerprint == b"old"
    assert [c.outcome for c in held.response.calls] == [pb.CALL_OUTCOME_ACCEPTED]
    assert first is None
    assert second is not None and second.fingerprint == b"first"
    assert len(second.response.calls) == 1
    await store.close()

    reopened = await open_store()  # all of it durable, the held record untouched
    for i in range(40):
        record = await reopened.get(f"n{i}")
        assert record is not None and record.fingerprint == f"fp{i}".encode()
        assert [c.index for c in record.response.calls] == [0, 1]
    dup = await reopened.get("dup")
    assert dup is not None and dup.fingerprint == b"first"
    held_now = await reopened.get("held")
    assert held_now is not None and held_now.fingerprint == b"old"
    assert held_now.response.calls[0].biz_id == "7" * 20


def all_in_flight(n_calls: int, request_id: str = "r1") -> pb.SendSmsResponse:
    """A plan as the service claims a small send: every call already "in flight"."""
    response = planned(n_calls, request_id)
    for call in response.calls:
        call.outcome, call.message = pb.CALL_OUTCOME_UNKNOWN, "in flight"
    return response


async def test_a_send_claimed_in_flight_records_each_call_and_takes_only_retryable_ones(
    open_store: OpenStore,
) -> None:
    """The common small send (SQLite keeps its calls in the record's own row)."""
    store = await open_store()
    assert await store.claim("r1", b"fp", all_in_flight(3)) is None
    again = await store.claim("r1", b"fp", all_in_flight(3))
    assert again is not None and [c.message for c in again.response.calls] == ["in flight"] * 3
    store.record_outcome("r1", accepted(0, "4"))
    rejected = pb.UpstreamCall(index=1, outcome=pb.CALL_OUTCOME_REJECTED, provider_code="10500")
    await store.update_call("r1", rejected)
    await store.update_call("r1", accepted(7))  # no such call: nothing written
    store.record_outcome("r1", accepted(-1))
    await store.close()  # the process "dies" with call 2 still in flight

    reopened = await open_store()
    record = await reopened.get("r1")
    assert record is not None and record.fingerprint == b"fp"
    calls = record.response.calls
    assert [c.index for c in calls] == [0, 1, 2]
    assert [c.outcome for c in calls] == [
        pb.CALL_OUTCOME_ACCEPTED,
        pb.CALL_OUTCOME_REJECTED,
        pb.CALL_OUTCOME_UNKNOWN,
    ]
    assert calls[0].biz_id == "4" * 20 and calls[1].provider_code == "10500"
    assert calls[2].message == "in flight"
    assert [list(c.phone_numbers) for c in calls] == [[f"138{i:04d}0000"] for i in range(3)]
    # Only the rejected call is free again; the one in flight and unknown ones never are.
    taken = await reopened.take_calls("r1", [in_flight(i) for i in (0, 1, 2, 7)])
    assert taken == {1}
    assert await reopened.take_calls("r1", [in_flight(1)]) == set()
    record = await reopened.get("r1")
    assert record is not None
    assert [c.message for c in record.response.calls] == ["", "in flight", "in flight"]
    assert len(record.response.calls) == 3


async def test_a_call_claimed_in_flight_that_was_not_sent_is_taken_once_by_a_retry(
    open_store: OpenStore,
) -> None:
    """A small send's call that never left (recorded by this process, not awaited) is free
    for a retry: taken once, its new outcome recorded over it, also after a restart."""
    store = await open_store()
    assert await store.claim("r1", b"fp", all_in_flight(2)) is None
    not_sent = pb.UpstreamCall(index=1, outcome=pb.CALL_OUTCOME_NOT_SENT, message="no slot")
    store.record_outcome("r1", accepted(0, "4"))
    store.record_outcome("r1", not_sent)
    # The retry (here or in another process) takes the call that was not sent, once.
    assert await store.take_calls("r1", [in_flight(0), in_flight(1)]) == {1}
    assert await store.take_calls("r1", [in_flight(1)]) == set()
    store.record_outcome("r1", accepted(1, "5"))
    await store.close()
    record = await (await open_store()).get("r1")
    assert record is not None
    assert [(c.outcome, c.biz_id) for c in record.response.calls] == [
        (pb.CALL_OUTCOME_ACCEPTED, "4" * 20),
        (pb.CALL_OUTCOME_ACCEPTED, "5" * 20),
    ]
    assert [c.message for c in record.response.calls] == ["", ""]


async def test_outcomes_of_calls_claimed_in_flight_are_read_by_another_process(
    open_store: OpenStore,
) -> None:
    """Written behind (nobody awaits them), they reach the shared store within moments, and
    a call still in flight stays so."""
    store = await open_store()
    other = await open_store()
    assert await store.claim("r1", b"fp", all_in_flight(3)) is None
    store.record_outcome("r1", accepted(0, "7"))
    store.record_outcome("r1", accepted(2, "8"))
    seen = await accepted_in(other, "r1", 2)
    calls = seen.response.calls
    assert [c.biz_id for c in calls] == ["7" * 20, "", "8" * 20]
    assert calls[1].outcome == pb.CALL_OUTCOME_UNKNOWN and calls[1].message == "in flight"
    assert [list(c.phone_numbers) for c in calls] == [[f"138{i:04d}0000"] for i in range(3)]


async def test_outcomes_recorded_twice_keep_the_last(open_store: OpenStore) -> None:
    store = await open_store()
    assert await store.claim("r1", b"fp", planned(2)) is None
    store.record_outcome("r1", pb.UpstreamCall(index=0, outcome=pb.CALL_OUTCOME_UNKNOWN))
    store.record_outcome("r1", accepted(0, "5"))
    store.record_outcome("r1", accepted(1, "6"))
    await store.close()
    record = await (await open_store()).get("r1")
    assert record is not None
    assert [(c.outcome, c.biz_id) for c in record.response.calls] == [
        (pb.CALL_OUTCOME_ACCEPTED, "5" * 20),
        (pb.CALL_OUTCOME_ACCEPTED, "6" * 20),
    ]


async def test_recorded_outcomes_are_written_soon_and_read_back_at_once(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    assert await store.claim("r1", b"fp", planned(4)) is None
    for i in range(3):
        store.record_outcome("r1", accepted(i, str(i + 1)))
    # Read by this process at once: the queued outcomes are applied first.
    record = await store.get("r1")
    assert record is not None
    assert [c.outcome for c in record.response.calls][:3] == [pb.CALL_OUTCOME_ACCEPTED] * 3
    assert record.response.calls[2].biz_id == "3" * 20
    # Written without anyone awaiting: another process sees them after a moment.
    store.record_outcome("r1", accepted(3, "9"))
    other = await open_store()
    seen = await accepted_in(other, "r1", 3)
    assert list(seen.response.calls[3].phone_numbers) == ["13800030000"]


async def test_outcome_for_an_unknown_call_or_record_changes_nothing(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    assert await store.claim("r1", b"fp", planned(1)) is None
    await store.update_call("r1", accepted(7))
    await store.update_call("nobody", accepted(0))
    store.record_outcome("nobody", accepted(0))
    record = await store.get("r1")
    assert record is not None and len(record.response.calls) == 1
    assert record.response.calls[0].outcome == pb.CALL_OUTCOME_NOT_SENT
    assert await store.get("nobody") is None


def in_flight(index: int) -> pb.UpstreamCall:
    return pb.UpstreamCall(index=index, outcome=pb.CALL_OUTCOME_UNKNOWN, message="in flight")


async def take_one(store: IdempotencyStore, request_id: str, call: pb.UpstreamCall) -> bool:
    return call.index in await store.take_calls(request_id, [call])


async def test_take_calls_takes_a_retryable_call_once_and_never_a_finished_one(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    assert await store.claim("r1", b"fp", planned(6)) is None
    # 0: not sent (as planned); 1: rejected; 2: accepted; 3: unknown; 4: not sent after a
    # failure (a long message: a multi-byte length in the stored blob); 5: rejected with
    # every string field set, so the outcome sits between other fields.
    rejected = pb.UpstreamCall(
        index=1, outcome=pb.CALL_OUTCOME_REJECTED, provider_code="10500", message="busy"
    )
    await store.update_call("r1", rejected)
    await store.update_call("r1", accepted(2))
    timeout = pb.UpstreamCall(index=3, outcome=pb.CALL_OUTCOME_UNKNOWN, message="timed out")
    await store.update_call("r1", timeout)
    failed = pb.UpstreamCall(index=4, outcome=pb.CALL_OUTCOME_NOT_SENT, message="x" * 300)
    await store.update_call("r1", failed)
    full = pb.UpstreamCall(
        index=5,
        outcome=pb.CALL_OUTCOME_REJECTED,
        biz_id="7" * 20,
        provider_code="10001",
        message="参数错误",
    )
    await store.update_call("r1", full)

    other = await open_store()  # another process sees the same record
    taken = [await take_one(store, "r1", in_flight(i)) for i in range(6)]
    assert taken == [True, True, False, False, True, True]
    again = [await take_one(other, "r1", in_flight(i)) for i in range(6)]
    assert again == [False] * 6
    # No such call, no such record: nothing taken, nothing written.
    assert not await take_one(store, "r1", in_flight(9))
    assert not await take_one(store, "nobody", in_flight(0))
    assert await store.get("nobody") is None

    record = await other.get("r1")
    assert record is not None
    calls = record.response.calls
    assert len(calls) == 6
    assert [c.outcome for c in calls] == [pb.CALL_OUTCOME_UNKNOWN] * 2 + [
        pb.CALL_OUTCOME_ACCEPTED,
        pb.CALL_OUTCOME_UNKNOWN,
        pb.CALL_OUTCOME_UNKNOWN,
        pb.CALL_OUTCOME_UNKNOWN,
    ]
    assert [c.message for c in calls] == ["in flight"] * 2 + ["", "timed out"] + ["in flight"] * 2
    assert calls[2].biz_id == "1" * 20  # the accepted call kept its bizId
    assert list(calls[5].phone_numbers) == ["13800050000"]


async def test_take_calls_takes_a_group_in_one_operation_each_call_on_its_own_merits(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    other = await open_store()
    assert await store.claim("r1", b"fp", planned(40)) is None
    await store.update_call("r1", accepted(3))
    assert await other.take_calls("r1", [in_flight(5), in_flight(6)]) == {5, 6}
    group = [in_flight(i) for i in range(40)] + [in_flight(99)]  # 99: no such call
    assert await store.take_calls("r1", group) == set(range(40)) - {3, 5, 6}
    assert await other.take_calls("r1", group) == set()
    assert await store.take_calls("r1", []) == set()
    record = await other.get("r1")
    assert record is not None
    assert [c.index for c in record.response.calls if c.message == "in flight"] == [
        i for i in range(40) if i != 3
    ]


async def test_take_calls_sees_the_outcomes_this_process_queued(open_store: OpenStore) -> None:
    store = await open_store()
    assert await store.claim("r1", b"fp", planned(2)) is None
    store.record_outcome("r1", accepted(0))
    store.record_outcome("r1", pb.UpstreamCall(index=1, outcome=pb.CALL_OUTCOME_NOT_SENT))
    # Applied before the check, whether or not the background flush got there first.
    assert not await take_one(store, "r1", in_flight(0))
    assert await take_one(store, "r1", in_flight(1))


async def test_concurrent_takers_on_two_stores_take_each_call_exactly_once(
    open_store: OpenStore,
) -> None:
    first, second = await open_store(), await open_store()
    assert await first.claim("r1", b"fp", planned(20)) is None
    for index in range(20):
        takers = [first, second] * 3  # three concurrent takers in each process
        results = await asyncio.gather(*(take_one(t, "r1", in_flight(index)) for t in takers))
        assert sum(results) == 1, (index, results)
    record = await second.get("r1")
    assert record is not None
    assert all(c.outcome == pb.CALL_OUTCOME_UNKNOWN for c in record.response.calls)


async def test_a_take_retried_after_a_lost_reply_recognises_itself(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    client = connect(RedisSettings(url=redis_server.url))
    store = RedisIdempotencyStore(client, RedisKeys(redis_prefix), ttl_seconds=60)
    try:
        assert await store.claim("r1", b"fp", planned(1)) is None
        blob = in_flight(0).SerializeToString()
        # The same script twice with one nonce is what the client's retry does when the
        # first reply was lost; another nonce is another taker.
        assert await store._run(_TAKE, "r1", ["nonce-1", 0, blob]) == [b"0"]
        assert await store._run(_TAKE, "r1", ["nonce-1", 0, blob]) == [b"0"]
        assert await store._run(_TAKE, "r1", ["nonce-2", 0, blob]) == []
    finally:
        await store.close()
        await client.aclose()


async def test_concurrent_duplicates_on_many_replicas_execute_once(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    replicas = [
        RedisIdempotencyStore(
            connect(RedisSettings(url=redis_server.url)), RedisKeys(redis_prefix), ttl_seconds=60
        )
        for _ in range(3)
    ]
    try:
        for round_ in range(20):
            rid = f"dup-{round_}"
            results = await asyncio.gather(
                *(
                    replica.claim(rid, b"fp-%d" % n, planned(2, rid))
                    for n, replica in enumerate(replicas)
                    for _ in range(5)
                )
            )
            winners = [r for r in results if r is None]
            assert len(winners) == 1, round_
            holders = {r.fingerprint for r in results if r is not None}
            assert len(holders) == 1  # everyone else sees the one winner's record
    finally:
        for replica in replicas:
            await replica.close()
            await replica._client.aclose()


async def test_redis_expires_the_key_after_ttl_plus_margin(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    client = connect(RedisSettings(url=redis_server.url))
    keys = RedisKeys(redis_prefix)
    store = RedisIdempotencyStore(client, keys, ttl_seconds=30, expiry_margin_seconds=10)
    try:
        assert await store.claim("r1", b"fp", planned(1)) is None
        pttl = await client.pttl(keys.idempotency("req", "r1"))
        assert 39_000 < pttl <= 40_000
    finally:
        await store.close()
        await client.aclose()


async def test_a_large_send_is_one_record_with_small_updates(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    client = connect(RedisSettings(url=redis_server.url))
    store = RedisIdempotencyStore(client, RedisKeys(redis_prefix), ttl_seconds=60)
    try:
        response = planned(100, per_call=1000)  # 100,000 recipients
        assert await store.claim("big", b"fp", response) is None
        await store.update_call("big", accepted(99))
        record = await store.get("big")
        assert record is not None and len(record.response.calls) == 100
        assert record.response.calls[99].outcome == pb.CALL_OUTCOME_ACCEPTED
        assert list(record.response.calls[99].phone_numbers) == list(
            response.calls[99].phone_numbers
        )
    finally:
        await store.close()
        await client.aclose()


async def test_redis_down_is_store_unavailable_and_recovers_without_a_new_store(
    tmp_path: Path, redis_prefix: str
) -> None:
    server = RedisServer(tmp_path / "redis", appendonly=True, appendfsync="always").start()
    client = connect(RedisSettings(url=server.url, retries=1, socket_timeout_seconds=1))
    store = RedisIdempotencyStore(client, RedisKeys(redis_prefix), ttl_seconds=60)
    try:
        assert await store.claim("r1", b"fp", planned(1)) is None
        server.kill()
        with pytest.raises(StoreUnavailableError, match="idempotency"):
            await store.claim("r2", b"fp", planned(1))
        with pytest.raises(StoreUnavailableError):
            await store.get("r1")
        server.start()  # same port and directory: the AOF brings r1 back
        record = await store.get("r1")
        assert record is not None and record.fingerprint == b"fp"
        assert await store.claim("r2", b"fp", planned(1)) is None
    finally:
        await store.close()
        await client.aclose()
        server.stop()


async def test_a_file_written_before_inline_records_opens_and_reads(tmp_path: Path) -> None:
    """SQLite: a file of the previous layout (no inline_calls column, every call in
    send_calls) is brought up to date at open and its records read as before."""
    import sqlite3

    path = tmp_path / "idem.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE sends (request_id TEXT PRIMARY KEY, fingerprint BLOB NOT NULL,
            header BLOB NOT NULL, created_at REAL NOT NULL);
        CREATE TABLE send_calls (request_id TEXT NOT NULL, idx INTEGER NOT NULL,
            phone_numbers TEXT NOT NULL, outcome INTEGER NOT NULL,
            biz_id TEXT NOT NULL DEFAULT '', provider_code TEXT NOT NULL DEFAULT '',
            message TEXT NOT NULL DEFAULT '', PRIMARY KEY (request_id, idx)) WITHOUT ROWID;
        """
    )
    header = pb.SendSmsResponse(request_id="old", recipient_count=1, content="【s】x")
    conn.execute(
        "INSERT INTO sends VALUES (?, ?, ?, ?)", ("old", b"fp", header.SerializeToString(), 1e6)
    )
    conn.execute(
        "INSERT INTO send_calls VALUES (?, ?, ?, ?, ?, ?, ?)",
        ("old", 0, "13800000000", int(pb.CALL_OUTCOME_UNKNOWN), "", "", "in flight"),
    )
    conn.commit()
    conn.close()

    clock = Clock()
    store = SqliteIdempotencyStore(path, ttl_seconds=60, clock=clock)
    await store.open()
    try:
        store.record_outcome("old", accepted(0))
        record = await store.get("old")
        assert record is not None and record.fingerprint == b"fp"
        assert [(c.outcome, list(c.phone_numbers)) for c in record.response.calls] == [
            (pb.CALL_OUTCOME_ACCEPTED, ["13800000000"])
        ]
        assert await store.claim("new", b"fp2", all_in_flight(1, "new")) is None
        assert (await store.get("new")) is not None
    finally:
        await store.close()


async def test_sqlite_checkpoints_its_log_every_10000_pages_and_stays_readable(
    tmp_path: Path,
) -> None:
    """SQLite: claims are small commits of their own; the log is copied back in larger,
    rarer checkpoints, and what it holds survives a reopen."""
    path = tmp_path / "idem.db"
    store = SqliteIdempotencyStore(path, ttl_seconds=60, clock=Clock())
    await store.open()
    try:
        pages = await store._writer.run(lambda c: c.execute("PRAGMA wal_autocheckpoint").fetchone())
        assert pages == (10_000,)
        for i in range(300):
            assert await store.claim(f"r{i}", b"fp", planned(1, f"r{i}")) is None
    finally:
        await store.close()
    reopened = SqliteIdempotencyStore(path, ttl_seconds=60, clock=Clock())
    await reopened.open()
    try:
        assert all([await reopened.get(f"r{i}") is not None for i in (0, 150, 299)])
    finally:
        await reopened.close()


async def test_sqlite_writes_a_small_sends_outcomes_into_its_own_row(tmp_path: Path) -> None:
    """SQLite: the outcomes of a send claimed inline rewrite its `sends` row (no
    `send_calls` row each); a call taken again by a retry gets a row of its own, and its
    later outcomes go there."""
    path = tmp_path / "idem.db"
    store = SqliteIdempotencyStore(path, ttl_seconds=60, clock=Clock())
    await store.open()
    try:
        for i in range(20):
            assert await store.claim(f"r{i}", b"fp", all_in_flight(2, f"r{i}")) is None
            store.record_outcome(f"r{i}", accepted(0, "1"))
            not_sent = pb.UpstreamCall(index=1, outcome=pb.CALL_OUTCOME_NOT_SENT)
            store.record_outcome(f"r{i}", not_sent)
        await store.get("r0")  # (applies what is queued)

        def count(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT count(*) FROM send_calls").fetchone()[0])

        assert await store._writer.run(count) == 0
        assert await store.take_calls("r3", [in_flight(1)]) == {1}
        store.record_outcome("r3", accepted(1, "2"))
        record = await store.get("r3")
        assert record is not None
        assert [c.biz_id for c in record.response.calls] == ["1" * 20, "2" * 20]
        assert await store._writer.run(count) == 1  # the call taken, as it stands now
    finally:
        await store.close()
