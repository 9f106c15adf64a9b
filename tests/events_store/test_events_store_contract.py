"""The contract of the event-aggregate ports (EventLog, ConsumerGroups, SendLog,
Suppressions, DeadLetters), run against every backend (see conftest `harness`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from smsgateway.backends import Backend
from smsgateway.events.model import (
    DeliveryReportIn,
    GroupMismatchError,
    ReportFilter,
    Retention,
    SentBatch,
    Source,
    StoredReport,
    StoredUplink,
    Stream,
    UnknownGroupError,
    UplinkFilter,
    UplinkIn,
)

CST = timezone(timedelta(hours=8))


def report(
    biz_id: str = "39036632588910887018",
    phone: str = "13900000001",
    code: str = "10000",
    minute: int = 0,
) -> DeliveryReportIn:
    return DeliveryReportIn(
        biz_id=biz_id,
        phone_number=phone,
        provider_code=code,
        success=code == "10000",
        message="请求成功",
        sms_size=1,
        send_time=datetime(2026, 1, 1, 12, 0, tzinfo=CST),
        report_time=datetime(2026, 1, 1, 12, minute, 5, tzinfo=CST),
    )


def uplink(
    seq: int, phone: str = "18612345678", content: str = "hello", sign: str = "圆通快递"
) -> UplinkIn:
    return UplinkIn(
        phone_number=phone,
        content=content,
        sign=sign,
        sequence_id=seq,
        send_time=datetime(2026, 1, 1, 9, 30, tzinfo=CST),
    )


def reports_of(events: Any) -> list[StoredReport]:
    assert all(isinstance(e, StoredReport) for e in events)
    return list(events)


def cursors(events: Any) -> list[int]:
    return [e.cursor for e in events]


# -- append, de-duplication, read ---------------------------------------------


async def test_append_assigns_increasing_cursors_and_round_trips(
    store: Backend, harness: Any
) -> None:
    batch = [report(phone=f"1390000000{i}") for i in range(5)]
    result = await store.events.append_reports(batch, Source.PUSH, traceparent="00-abc-def-01")
    assert result.duplicates == 0
    assert cursors(result.stored) == [1, 2, 3, 4, 5]
    got = reports_of(await store.events.read(Stream.REPORTS, 0, 100))
    assert [g.report for g in got] == batch
    assert got == list(result.stored)
    assert got[0].source is Source.PUSH
    assert got[0].receive_time == harness.clock.datetime()
    assert got[0].traceparent == "00-abc-def-01"
    assert got[0].report.report_time == datetime(2026, 1, 1, 12, 0, 5, tzinfo=CST)
    assert await store.events.last_cursor(Stream.REPORTS) == 5
    # The streams are independent.
    assert await store.events.last_cursor(Stream.UPLINKS) == 0


async def test_duplicates_are_stored_once_across_batches_and_sources(store: Backend) -> None:
    first = await store.events.append_reports([report(phone="13900000001")], Source.PUSH)
    again = await store.events.append_reports(
        [report(phone="13900000001"), report(phone="13900000002"), report(phone="13900000002")],
        Source.PULL,
    )
    assert cursors(first.stored) == [1]
    assert again.duplicates == 2
    assert cursors(again.stored) == [2]  # no gap left by the duplicates
    stored = reports_of(await store.events.read(Stream.REPORTS, 0, 10))
    assert [s.source for s in stored] == [Source.PUSH, Source.PULL]
    # A new report of the same recipient (another code/time) is a new event.
    later = await store.events.append_reports(
        [report(phone="13900000001", code="4", minute=5)], Source.PUSH
    )
    assert cursors(later.stored) == [3]


async def test_a_large_batch_keeps_its_order_times_and_zones(store: Backend) -> None:
    # 293 rows: more than one multi-row statement of each size, with duplicates inside
    # the batch and of an earlier one, and equal instants written in different zones.
    utc_twin = report(phone="13900000999")
    utc_twin = DeliveryReportIn(
        **{
            **{f: getattr(utc_twin, f) for f in utc_twin.__slots__},
            "report_time": datetime(2026, 1, 1, 4, 0, 5, tzinfo=UTC),
            "send_time": None,
        }
    )
    await store.events.append_reports([report(phone="13900000007", minute=1)], Source.PULL)
    batch = [report(phone=f"139{i:08d}", minute=i % 3) for i in range(290)]
    batch += [batch[5], utc_twin, utc_twin]
    result = await store.events.append_reports(batch, Source.PUSH)
    assert result.duplicates == 3  # batch[5] again, the twin again, and batch[7]
    assert cursors(result.stored) == list(range(2, 2 + len(result.stored)))
    expected = [r for i, r in enumerate(batch[:290]) if i != 7] + [utc_twin]
    assert [e.report for e in reports_of(result.stored)] == expected
    got = reports_of(await store.events.read(Stream.REPORTS, 1, 1000))
    assert got == list(result.stored)
    times = [(g.report.report_time, g.report.send_time) for g in got]
    assert [(t and t.isoformat(), s and s.isoformat()) for t, s in times[-2:]] == [
        ("2026-01-01T12:01:05+08:00", "2026-01-01T12:00:00+08:00"),
        ("2026-01-01T04:00:05+00:00", None),
    ]


async def test_uplinks_dedup_by_sequence_id_and_sender(store: Backend) -> None:
    result = await store.events.append_uplinks(
        [uplink(1), uplink(1), uplink(1, phone="18600000000"), uplink(2)], Source.PUSH
    )
    assert result.duplicates == 1
    assert cursors(result.stored) == [1, 2, 3]
    again = await store.events.append_uplinks([uplink(2)], Source.PULL)
    assert again.stored == [] and again.duplicates == 1
    got = await store.events.read(Stream.UPLINKS, 0, 10)
    assert all(isinstance(e, StoredUplink) for e in got)
    assert [e.uplink for e in got if isinstance(e, StoredUplink)] == [
        uplink(1),
        uplink(1, phone="18600000000"),
        uplink(2),
    ]


async def test_empty_append_stores_nothing(store: Backend) -> None:
    result = await store.events.append_reports([], Source.PUSH)
    assert result.stored == [] or result.stored == ()
    assert result.duplicates == 0
    assert await store.events.last_cursor(Stream.REPORTS) == 0


async def test_read_pages_after_a_cursor(store: Backend) -> None:
    await store.events.append_reports(
        [report(phone=f"139000000{i:02d}") for i in range(25)], Source.PUSH
    )
    page1 = await store.events.read(Stream.REPORTS, 0, 10)
    page2 = await store.events.read(Stream.REPORTS, page1[-1].cursor, 10)
    page3 = await store.events.read(Stream.REPORTS, page2[-1].cursor, 10)
    assert cursors(page1 + page2 + page3) == list(range(1, 26))
    assert await store.events.read(Stream.REPORTS, 25, 10) == []
    assert await store.events.read(Stream.REPORTS, 0, 0) == []


async def test_concurrent_appends_get_unique_increasing_cursors(store: Backend) -> None:
    async def push(i: int) -> list[int]:
        batch = [report(biz_id=f"B{i}", phone=f"139000000{j:02d}") for j in range(20)]
        return cursors((await store.events.append_reports(batch, Source.PUSH)).stored)

    results = await asyncio.gather(*(push(i) for i in range(10)))
    flat = sorted(c for r in results for c in r)
    assert flat == list(range(1, 201))
    for r in results:  # each batch is one transaction: a contiguous run
        assert r == list(range(r[0], r[0] + 20))


# -- filters -------------------------------------------------------------------


async def test_report_filters(store: Backend) -> None:
    await store.send_log.record_sends(
        [SentBatch("B1", ["13900000001", "13900000002"], "圆通快递", 2, datetime.now(UTC))]
    )
    await store.events.append_reports(
        [
            report("B1", "13900000001", "10000"),
            report("B1", "13900000002", "4"),
            report("B2", "13900000001", "7"),
            report("B2", "13900000003", "12345"),
            report("B3", "13900000004", "9"),
        ],
        Source.PUSH,
    )

    async def match(f: ReportFilter) -> list[tuple[str, str]]:
        got = reports_of(await store.events.read(Stream.REPORTS, 0, 100, f))
        return [(g.report.biz_id, g.report.phone_number) for g in got]

    assert await match(ReportFilter()) == [
        ("B1", "13900000001"),
        ("B1", "13900000002"),
        ("B2", "13900000001"),
        ("B2", "13900000003"),
        ("B3", "13900000004"),
    ]
    assert await match(ReportFilter(biz_ids=frozenset({"B2", "B3"}))) == [
        ("B2", "13900000001"),
        ("B2", "13900000003"),
        ("B3", "13900000004"),
    ]
    assert await match(ReportFilter(phone_numbers=frozenset({"13900000001"}))) == [
        ("B1", "13900000001"),
        ("B2", "13900000001"),
    ]
    assert await match(ReportFilter(sign="圆通快递")) == [
        ("B1", "13900000001"),
        ("B1", "13900000002"),
    ]
    assert await match(ReportFilter(provider_codes=frozenset({"4", "7"}))) == [
        ("B1", "13900000002"),
        ("B2", "13900000001"),
    ]
    # UNKNOWN = documented code 9 plus every undocumented code.
    assert await match(ReportFilter(provider_codes=frozenset({"9"}), other_codes=True)) == [
        ("B2", "13900000003"),
        ("B3", "13900000004"),
    ]
    assert await match(ReportFilter(other_codes=True)) == [("B2", "13900000003")]
    # Every non-empty field must match.
    assert await match(
        ReportFilter(biz_ids=frozenset({"B1"}), phone_numbers=frozenset({"13900000001"}))
    ) == [("B1", "13900000001")]
    assert await match(ReportFilter(sign="other")) == []
    # A filter with many numbers (beyond SQLite's bound-variable limit) works.
    many = frozenset(f"1{i:010d}" for i in range(40_000)) | {"13900000004"}
    assert await match(ReportFilter(phone_numbers=many)) == [("B3", "13900000004")]
    # Filter and cursor combine.
    got = await store.events.read(
        Stream.REPORTS, 2, 100, ReportFilter(phone_numbers=frozenset({"13900000001"}))
    )
    assert cursors(got) == [3]


async def test_uplink_filters(store: Backend) -> None:
    await store.events.append_uplinks(
        [
            uplink(1, "18600000001", sign="A"),
            uplink(2, "18600000002", sign="B"),
            uplink(3, "18600000001", sign="B"),
        ],
        Source.PUSH,
    )
    got = await store.events.read(Stream.UPLINKS, 0, 10, UplinkFilter(sign="B"))
    assert cursors(got) == [2, 3]
    got = await store.events.read(
        Stream.UPLINKS, 0, 10, UplinkFilter(phone_numbers=frozenset({"18600000001"}))
    )
    assert cursors(got) == [1, 3]
    got = await store.events.read(
        Stream.UPLINKS, 0, 10, UplinkFilter(phone_numbers=frozenset({"18600000001"}), sign="A")
    )
    assert cursors(got) == [1]


async def test_a_filter_of_the_other_stream_is_refused(store: Backend) -> None:
    with pytest.raises(TypeError):
        await store.events.read(Stream.UPLINKS, 0, 10, ReportFilter())


# -- cursors, time, retention --------------------------------------------------


async def test_oldest_and_last_cursor(store: Backend) -> None:
    assert await store.events.last_cursor(Stream.REPORTS) == 0
    assert await store.events.oldest_cursor(Stream.REPORTS) == 1
    await store.events.append_reports(
        [report(phone=f"1390000000{i}") for i in range(3)], Source.PUSH
    )
    assert await store.events.oldest_cursor(Stream.REPORTS) == 1
    assert await store.events.last_cursor(Stream.REPORTS) == 3


async def test_prune_by_size_keeps_the_newest_and_cursors_are_never_reused(
    harness: Any,
) -> None:
    store = await harness.open()
    await store.events.append_reports(
        [report(phone=f"139000000{i:02d}") for i in range(10)], Source.PUSH
    )
    dropped = await store.events.prune(Retention(max_age_seconds=1e9, max_events=4))
    assert dropped == 6
    assert cursors(await store.events.read(Stream.REPORTS, 0, 100)) == [7, 8, 9, 10]
    assert await store.events.oldest_cursor(Stream.REPORTS) == 7
    assert await store.events.last_cursor(Stream.REPORTS) == 10
    # Prune everything, reopen: the next event still gets a new cursor.
    assert await store.events.prune(Retention(max_age_seconds=1e9, max_events=0)) == 4
    assert await store.events.oldest_cursor(Stream.REPORTS) == 11
    await store.close()
    store = await harness.open()
    assert await store.events.last_cursor(Stream.REPORTS) == 10
    result = await store.events.append_reports([report(phone="13800000000")], Source.PUSH)
    assert cursors(result.stored) == [11]
    # A pruned report that arrives again is stored again (a new event).
    result = await store.events.append_reports([report(phone="13900000000")], Source.PULL)
    assert cursors(result.stored) == [12]


async def test_prune_by_age(store: Backend, harness: Any) -> None:
    await store.events.append_reports([report(phone="13900000001")], Source.PUSH)
    await store.events.append_uplinks([uplink(1)], Source.PUSH)
    harness.clock.advance(3600)
    await store.events.append_reports([report(phone="13900000002")], Source.PUSH)
    harness.clock.advance(1800)
    dropped = await store.events.prune(Retention(max_age_seconds=3000, max_events=1000))
    assert dropped == 2  # the old report and the old uplink
    assert cursors(await store.events.read(Stream.REPORTS, 0, 10)) == [2]
    assert await store.events.read(Stream.UPLINKS, 0, 10) == []
    assert await store.events.oldest_cursor(Stream.UPLINKS) == 2
    assert await store.events.prune(Retention(max_age_seconds=3000, max_events=1000)) == 0


async def test_large_prune_goes_in_chunks(store: Backend) -> None:
    batch = [report(phone=f"1{i:010d}") for i in range(12_000)]
    await store.events.append_reports(batch, Source.PUSH)
    assert await store.events.prune(Retention(max_age_seconds=1e9, max_events=1_000)) == 11_000
    assert await store.events.oldest_cursor(Stream.REPORTS) == 11_001


async def test_cursor_before_time(store: Backend, harness: Any) -> None:
    t0 = harness.clock.datetime()
    await store.events.append_reports(
        [report(phone="13900000001"), report(phone="13900000002")], Source.PUSH
    )
    harness.clock.advance(60)
    t1 = harness.clock.datetime()
    await store.events.append_reports([report(phone="13900000003")], Source.PUSH)
    assert await store.events.cursor_before_time(Stream.REPORTS, t0 - timedelta(days=1)) == 0
    assert await store.events.cursor_before_time(Stream.REPORTS, t0) == 0
    assert await store.events.cursor_before_time(Stream.REPORTS, t0 + timedelta(seconds=1)) == 2
    assert await store.events.cursor_before_time(Stream.REPORTS, t1) == 2
    # After the newest event: the newest cursor (only later events follow).
    assert await store.events.cursor_before_time(Stream.REPORTS, t1 + timedelta(seconds=1)) == 3
    # Any zone.
    assert await store.events.cursor_before_time(Stream.REPORTS, t1.astimezone(CST)) == 2


# -- consumer groups -----------------------------------------------------------


async def _fill(store: Backend, n: int) -> None:
    await store.events.append_reports([report(phone=f"1{i:010d}") for i in range(n)], Source.PUSH)


async def test_group_members_claim_disjoint_events(store: Backend) -> None:
    await _fill(store, 30)
    info = await store.groups.join_group(Stream.REPORTS, "billing", 0, "")
    assert info.position == 0 and info.pending == 0
    a, b, c = await asyncio.gather(
        store.groups.claim(Stream.REPORTS, "billing", "a", 10, 30),
        store.groups.claim(Stream.REPORTS, "billing", "b", 10, 30),
        store.groups.claim(Stream.REPORTS, "billing", "c", 10, 30),
    )
    claimed = cursors(a) + cursors(b) + cursors(c)
    assert sorted(claimed) == list(range(1, 31))
    assert len(set(claimed)) == 30
    assert await store.groups.claim(Stream.REPORTS, "billing", "a", 10, 30) == []
    [group] = await store.groups.groups(Stream.REPORTS)
    assert (group.name, group.position, group.pending) == ("billing", 30, 30)


async def test_ack_removes_and_expired_leases_are_redelivered(store: Backend, harness: Any) -> None:
    await _fill(store, 5)
    await store.groups.join_group(Stream.REPORTS, "g", 0, "")
    first = await store.groups.claim(Stream.REPORTS, "g", "a", 5, 30)
    assert await store.groups.ack(Stream.REPORTS, "g", [1, 2, 99]) == 2
    assert await store.groups.ack(Stream.REPORTS, "g", [1]) == 0  # already acked: not an error
    assert cursors(first) == [1, 2, 3, 4, 5]
    harness.clock.advance(29)
    assert await store.groups.claim(Stream.REPORTS, "g", "b", 10, 30) == []
    harness.clock.advance(2)
    again = await store.groups.claim(Stream.REPORTS, "g", "b", 10, 30)
    assert cursors(again) == [3, 4, 5]
    assert again == first[2:]  # the same events
    # Now b holds them: they are not expired for another 30 s.
    assert await store.groups.claim(Stream.REPORTS, "g", "a", 10, 30) == []
    await store.groups.ack(Stream.REPORTS, "g", [3, 4, 5])
    harness.clock.advance(100)
    assert await store.groups.claim(Stream.REPORTS, "g", "a", 10, 30) == []
    [group] = await store.groups.groups(Stream.REPORTS)
    assert group.pending == 0


async def test_expired_leases_come_before_new_events(store: Backend, harness: Any) -> None:
    await _fill(store, 4)
    await store.groups.join_group(Stream.REPORTS, "g", 0, "")
    await store.groups.claim(Stream.REPORTS, "g", "a", 2, 10)
    harness.clock.advance(11)
    got = await store.groups.claim(Stream.REPORTS, "g", "b", 3, 10)
    assert cursors(got) == [1, 2, 3]


async def test_release_redelivers_a_disconnected_members_events(store: Backend) -> None:
    await _fill(store, 6)
    await store.groups.join_group(Stream.REPORTS, "g", 0, "")
    held_by_a = await store.groups.claim(Stream.REPORTS, "g", "a", 3, 600)
    await store.groups.claim(Stream.REPORTS, "g", "b", 3, 600)
    assert await store.groups.release(Stream.REPORTS, "g", "a") == 3
    assert await store.groups.release(Stream.REPORTS, "g", "nobody") == 0
    got = await store.groups.claim(Stream.REPORTS, "g", "c", 10, 600)
    assert cursors(got) == cursors(held_by_a)


async def test_group_position_and_leases_survive_reopen(harness: Any) -> None:
    store = await harness.open()
    await _fill(store, 10)
    await store.groups.join_group(Stream.REPORTS, "g", 0, "")
    await store.groups.claim(Stream.REPORTS, "g", "a", 4, 30)
    await store.groups.ack(Stream.REPORTS, "g", [1, 2])
    await store.close()
    store = await harness.open()
    info = await store.groups.join_group(Stream.REPORTS, "g", 7, "")  # start ignored: exists
    assert (info.position, info.pending) == (4, 2)
    harness.clock.advance(31)
    # The two unacknowledged leases first, then the rest after the position.
    got = await store.groups.claim(Stream.REPORTS, "g", "b", 10, 30)
    assert cursors(got) == [3, 4, 5, 6, 7, 8, 9, 10]


async def test_group_starts_after_the_given_cursor(store: Backend) -> None:
    await _fill(store, 5)
    await store.groups.join_group(Stream.REPORTS, "late", 3, "")
    assert cursors(await store.groups.claim(Stream.REPORTS, "late", "a", 10, 30)) == [4, 5]


async def test_group_filter_skips_non_matching_events_for_good(store: Backend) -> None:
    await store.events.append_reports(
        [
            report(phone="13900000001", code="4"),
            report(phone="13900000002"),
            report(phone="13900000003", code="4"),
        ],
        Source.PUSH,
    )
    f = ReportFilter(provider_codes=frozenset({"10000"}))
    await store.groups.join_group(Stream.REPORTS, "ok", 0, "codes=10000")
    got = await store.groups.claim(Stream.REPORTS, "ok", "a", 10, 30, f)
    assert cursors(got) == [2]
    [group] = await store.groups.groups(Stream.REPORTS)
    assert group.position == 3  # past the non-matching tail too
    await store.events.append_reports([report(phone="13900000004")], Source.PUSH)
    assert cursors(await store.groups.claim(Stream.REPORTS, "ok", "a", 10, 30, f)) == [4]


async def test_group_limit_advances_position_only_as_far_as_handed_out(store: Backend) -> None:
    await _fill(store, 10)
    await store.groups.join_group(Stream.REPORTS, "g", 0, "")
    assert cursors(await store.groups.claim(Stream.REPORTS, "g", "a", 3, 30)) == [1, 2, 3]
    [group] = await store.groups.groups(Stream.REPORTS)
    assert group.position == 3


async def test_group_filter_mismatch_and_unknown_group(store: Backend) -> None:
    await store.groups.join_group(Stream.REPORTS, "g", 0, "sign=A")
    with pytest.raises(GroupMismatchError):
        await store.groups.join_group(Stream.REPORTS, "g", 0, "sign=B")
    # Same name on the other stream is another group.
    await store.groups.join_group(Stream.UPLINKS, "g", 0, "sign=B")
    with pytest.raises(UnknownGroupError):
        await store.groups.claim(Stream.REPORTS, "nope", "a", 1, 30)


async def test_groups_lists_each_group_with_its_backlog(store: Backend) -> None:
    await store.events.append_uplinks([uplink(i) for i in range(1, 4)], Source.PUSH)
    await store.groups.join_group(Stream.UPLINKS, "b", 0, "")
    await store.groups.join_group(Stream.UPLINKS, "a", 2, "")
    await store.groups.claim(Stream.UPLINKS, "b", "m", 2, 30)
    infos = await store.groups.groups(Stream.UPLINKS)
    assert [(i.name, i.position, i.pending) for i in infos] == [("a", 2, 0), ("b", 2, 2)]
    assert await store.groups.groups(Stream.REPORTS) == []


async def test_pruned_events_drop_their_leases(store: Backend, harness: Any) -> None:
    await _fill(store, 4)
    await store.groups.join_group(Stream.REPORTS, "g", 0, "")
    await store.groups.claim(Stream.REPORTS, "g", "a", 4, 10)
    await store.events.prune(Retention(max_age_seconds=1e9, max_events=2))
    harness.clock.advance(11)
    assert cursors(await store.groups.claim(Stream.REPORTS, "g", "b", 10, 10)) == [3, 4]


# -- sends and status ----------------------------------------------------------


async def test_sends_and_latest_reports(store: Backend) -> None:
    sent_at = datetime(2026, 1, 1, 4, 0, tzinfo=UTC)
    batch = SentBatch("B1", ["13900000001", "13900000002"], "圆通快递", 3, sent_at, "billing")
    await store.send_log.record_sends([batch])
    got = await store.send_log.sent_batch("B1")
    assert got is not None
    assert (got.biz_id, list(got.phone_numbers), got.sign, got.kind, got.sent_at, got.caller) == (
        "B1",
        ["13900000001", "13900000002"],
        "圆通快递",
        3,
        sent_at,
        "billing",
    )
    assert await store.send_log.sent_batch("nope") is None
    await store.events.append_reports([report("B1", "13900000001", "9", minute=1)], Source.PULL)
    await store.events.append_reports(
        [report("B1", "13900000001", "10000", minute=3), report("B2", "13900000002")], Source.PUSH
    )
    # An older report arriving late does not hide the newer one.
    await store.events.append_reports([report("B1", "13900000001", "4", minute=2)], Source.PULL)
    latest = await store.send_log.latest_reports("B1")
    assert set(latest) == {"13900000001"}
    assert latest["13900000001"].report.provider_code == "10000"
    assert latest["13900000001"].sign == "圆通快递"
    assert await store.send_log.latest_reports("B9") == {}


async def test_a_report_before_its_send_record_gets_the_sign_later(store: Backend) -> None:
    await store.events.append_reports([report("B7", "13900000001")], Source.PUSH)
    assert await store.events.read(Stream.REPORTS, 0, 10, ReportFilter(sign="S")) == []
    await store.send_log.record_sends([SentBatch("B7", ["13900000001"], "S", 2, datetime.now(UTC))])
    assert cursors(await store.events.read(Stream.REPORTS, 0, 10, ReportFilter(sign="S"))) == [1]
    # Reports after the record get the sign at ingest.
    result = await store.events.append_reports(
        [report("B7", "13900000001", "4", minute=9)], Source.PUSH
    )
    assert reports_of(result.stored)[0].sign == "S"


# -- suppressions --------------------------------------------------------------


async def test_suppressions(store: Backend, harness: Any) -> None:
    first = await store.suppressions.add_suppression("A", "13900000002", "manual")
    harness.clock.advance(10)
    again = await store.suppressions.add_suppression("A", "13900000002", "other")
    assert again == first  # idempotent; the first record is kept
    await store.suppressions.add_suppression("A", "13900000001", "manual")
    await store.suppressions.add_suppression("B", "13900000001", "manual")
    assert await store.suppressions.suppressed(
        "A", ["13900000001", "13900000002", "13900000003"]
    ) == {
        "13900000001",
        "13900000002",
    }
    assert await store.suppressions.suppressed("C", ["13900000001"]) == set()
    assert await store.suppressions.suppressed("A", []) == set()
    page = await store.suppressions.list_suppressions("", None, 2)
    assert [(s.sign, s.phone_number) for s in page] == [("A", "13900000001"), ("A", "13900000002")]
    page = await store.suppressions.list_suppressions("", ("A", "13900000002"), 2)
    assert [(s.sign, s.phone_number) for s in page] == [("B", "13900000001")]
    page = await store.suppressions.list_suppressions("B", None, 10)
    assert [(s.sign, s.phone_number, s.reason) for s in page] == [("B", "13900000001", "manual")]
    assert await store.suppressions.remove_suppression("A", "13900000001") is True
    assert await store.suppressions.remove_suppression("A", "13900000001") is False
    assert await store.suppressions.suppressed("A", ["13900000001"]) == set()


async def test_an_opt_out_uplink_suppresses_in_the_same_append(store: Backend) -> None:
    opt_out = uplink(7, "18600000007", "TD", sign="A")
    plain = uplink(8, "18600000008", "hi", sign="A")
    result = await store.events.append_uplinks(
        [opt_out, plain], Source.PUSH, opt_out_keys=frozenset({opt_out.dedup_key()})
    )
    flags = [
        (e.uplink.sequence_id, e.opt_out) for e in result.stored if isinstance(e, StoredUplink)
    ]
    assert flags == [(7, True), (8, False)]
    assert await store.suppressions.suppressed("A", ["18600000007", "18600000008"]) == {
        "18600000007"
    }
    [stored] = [e for e in await store.events.read(Stream.UPLINKS, 0, 10) if e.cursor == 1]
    assert isinstance(stored, StoredUplink) and stored.opt_out
    # Lifted by an operator; the same uplink pulled again does not re-suppress.
    await store.suppressions.remove_suppression("A", "18600000007")
    await store.events.append_uplinks(
        [opt_out], Source.PULL, opt_out_keys=frozenset({opt_out.dedup_key()})
    )
    assert await store.suppressions.suppressed("A", ["18600000007"]) == set()


async def test_an_opt_out_without_a_sign_applies_to_every_sign(store: Backend) -> None:
    opt_out = uplink(9, "18600000009", "退订", sign="")
    await store.events.append_uplinks(
        [opt_out], Source.PULL, opt_out_keys=frozenset({opt_out.dedup_key()})
    )
    assert await store.suppressions.suppressed("anything", ["18600000009"]) == {"18600000009"}


# -- dead letters --------------------------------------------------------------


async def test_dead_letters_are_kept_and_counted(harness: Any) -> None:
    store = await harness.open()
    await store.dead_letters.add_dead_letter(Stream.REPORTS, b"[{oops", "not JSON")
    await store.dead_letters.add_dead_letter(Stream.UPLINKS, b"{}", "not an array")
    assert await store.dead_letters.dead_letter_count() == 2
    await store.close()
    store = await harness.open()
    assert await store.dead_letters.dead_letter_count() == 2


async def test_prune_by_age_drops_old_dead_letters_and_sends(store: Backend, harness: Any) -> None:
    await store.dead_letters.add_dead_letter(Stream.REPORTS, b"[", "not JSON")
    await store.send_log.record_sends(
        [SentBatch("OLD", ["13900000001"], "S", 2, harness.clock.datetime())]
    )
    harness.clock.advance(3600)
    await store.dead_letters.add_dead_letter(Stream.REPORTS, b"{", "not JSON")
    await store.send_log.record_sends(
        [SentBatch("NEW", ["13900000001"], "S", 2, harness.clock.datetime())]
    )
    await store.events.prune(Retention(max_age_seconds=1800, max_events=1000))
    assert await store.dead_letters.dead_letter_count() == 1
    assert await store.send_log.sent_batch("OLD") is None
    assert await store.send_log.sent_batch("NEW") is not None


async def test_keys_with_a_nul_are_de_duplicated_exactly(store: Backend) -> None:
    nul = report(biz_id="B\x00NUL")
    assert len((await store.events.append_reports([nul], Source.PUSH)).stored) == 1
    again = await store.events.append_reports([nul], Source.PULL)
    assert (len(again.stored), again.duplicates) == (0, 1)
