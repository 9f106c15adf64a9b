"""The Ingestor on its own: normalisation, announcements, tracing, concurrency."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from smsgateway.backends import Backend
from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.backends.sqlite.database import SqliteDatabase
from smsgateway.events.ingest import Ingestor, StoreUnavailableError
from smsgateway.events.model import Source, StoredEvent, StoredReport, Stream
from smsgateway.events.optout import OptOutRules
from smsgateway.upstream.models import parse_report_item


def item(i: int, phone: str | None = None) -> dict[str, object]:
    return {
        "phoneNumber": phone or f"139{i:08d}",
        "reportTime": "2026-01-01 12:00:05",
        "success": True,
        "code": "10000",
        "bizId": "B1",
    }


@pytest.fixture
def store(sqlite_store: Backend) -> Backend:
    """SQLite only, here."""
    return sqlite_store


async def test_phone_numbers_are_normalised_before_de_duplication(store: Backend) -> None:
    ingestor = Ingestor(
        store.events, store.dead_letters, on_stored=lambda _s, _e: None, opt_out=OptOutRules()
    )
    forms = ["13900000001", "+8613900000001", "86 139 0000 0001", "+86-139-0000-0001"]
    for form in forms:
        await ingestor.ingest_reports([parse_report_item(item(0, form))], Source.PUSH)
    [stored] = await store.events.read(Stream.REPORTS, 0, 10)
    assert isinstance(stored, StoredReport)
    assert stored.report.phone_number == "13900000001"
    # What is not a mainland mobile is kept as sent, not dropped.
    result = await ingestor.ingest_reports([parse_report_item(item(0, "85291234567"))], Source.PUSH)
    assert [s.report.phone_number for s in result.stored if isinstance(s, StoredReport)] == [
        "85291234567"
    ]


async def test_a_failing_subscriber_callback_does_not_fail_the_ingest(
    store: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_stream: Stream, _events: Sequence[StoredEvent]) -> None:
        raise RuntimeError("hub bug")

    ingestor = Ingestor(store.events, store.dead_letters, on_stored=broken, opt_out=OptOutRules())
    outcome = await ingestor.ingest_body(
        Stream.REPORTS, json.dumps([item(1)]).encode(), Source.PUSH
    )
    assert outcome.accepted
    assert len(await store.events.read(Stream.REPORTS, 0, 10)) == 1
    assert "hub bug" in caplog.text


async def test_the_ingesting_span_is_stored_as_traceparent(store: Backend) -> None:
    ingestor = Ingestor(
        store.events, store.dead_letters, on_stored=lambda _s, _e: None, opt_out=OptOutRules()
    )
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("push") as span:
        await ingestor.ingest_reports([parse_report_item(item(1))], Source.PUSH)
        context = span.get_span_context()
    await ingestor.ingest_reports([parse_report_item(item(2))], Source.PUSH)
    first, second = await store.events.read(Stream.REPORTS, 0, 10)
    flags = int(context.trace_flags)
    assert flags & 1  # sampled
    assert first.traceparent == f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"
    assert second.traceparent == ""


async def test_concurrent_identical_pushes_store_once_and_announce_once(
    store: Backend,
) -> None:
    announced: list[StoredEvent] = []
    ingestor = Ingestor(
        store.events,
        store.dead_letters,
        on_stored=lambda _s, events: announced.extend(events),
        opt_out=OptOutRules(),
    )
    body = json.dumps([item(i) for i in range(200)]).encode()  # parsed off the loop
    outcomes = await asyncio.gather(
        *(ingestor.ingest_body(Stream.REPORTS, body, Source.PUSH) for _ in range(5))
    )
    assert all(o.accepted for o in outcomes)
    assert sorted(len(o.result.stored) for o in outcomes if o.result) == [0, 0, 0, 0, 200]
    assert len(announced) == 200
    assert [e.cursor for e in announced] == list(range(1, 201))


async def test_store_failure_raises_store_unavailable(store: Backend) -> None:
    ingestor = Ingestor(
        store.events, store.dead_letters, on_stored=lambda _s, _e: None, opt_out=OptOutRules()
    )
    await store.close()
    with pytest.raises(StoreUnavailableError):
        await ingestor.ingest_reports([parse_report_item(item(1))], Source.PULL)


async def test_the_sqlite_file_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    import sqlite3

    store = SqliteDatabase(tmp_path / "deep" / "dir" / "events.db")
    await store.open()
    try:
        sync = await store.write(lambda: store.conn.execute("PRAGMA synchronous").fetchone()[0])
        assert sync == 2  # FULL
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "deep" / "dir" / "events.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    import sqlite3

    store = SqliteDatabase(tmp_path / "events.db")
    await store.open()
    await store.close()
    with sqlite3.connect(tmp_path / "events.db") as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(RuntimeError, match="newer"):
        await SqliteDatabase(tmp_path / "events.db").open()


def test_one_store_unavailable_error_for_every_backend() -> None:
    from smsgateway import store_errors

    assert StoreUnavailableError is store_errors.StoreUnavailableError


@pytest.mark.parametrize(
    "poison",
    [
        {"sms_size": 2**63},  # SQLite INTEGER is 64-bit: OverflowError
        {"message": "\ud800"},  # cannot be encoded to UTF-8: UnicodeEncodeError
    ],
)
async def test_items_the_store_refuses_are_isolated_and_dead_lettered(
    store: Backend, caplog: pytest.LogCaptureFixture, poison: dict[str, object]
) -> None:
    """Typed items (a pull) that skipped validation: the batch is split, never blocked."""
    import dataclasses

    announced: list[StoredEvent] = []
    ingestor = Ingestor(
        store.events,
        store.dead_letters,
        on_stored=lambda _s, events: announced.extend(events),
        opt_out=OptOutRules(),
    )
    reports = [parse_report_item({**item(i), "bizId": f"B{i}"}) for i in range(7)]
    reports[5] = dataclasses.replace(reports[5], **poison)  # type: ignore[arg-type]
    result = await ingestor.ingest_reports(reports, Source.PULL)
    assert [s.report.biz_id for s in result.stored if isinstance(s, StoredReport)] == [
        f"B{i}" for i in (0, 1, 2, 3, 4, 6)
    ]
    assert [e.cursor for e in announced] == [s.cursor for s in result.stored]
    [letter] = await store.dead_letters.dead_letters()
    assert letter.error.startswith("the store refused the item (")
    assert json.loads(letter.body)["biz_id"] == "B5"
    assert ingestor.counters.bad_items[Stream.REPORTS] == 1
    assert "splitting it to isolate the items" in caplog.text


async def test_dead_letters_failing_is_store_unavailable(store: Backend) -> None:
    ingestor = Ingestor(
        store.events, store.dead_letters, on_stored=lambda _s, _e: None, opt_out=OptOutRules()
    )
    await store.close()
    with pytest.raises(StoreUnavailableError):
        await ingestor.ingest_body(Stream.REPORTS, b"[{}]", Source.PUSH)
    with pytest.raises(StoreUnavailableError):
        await ingestor.ingest_body(Stream.REPORTS, b"not json", Source.PUSH)


async def test_close_stops_the_parse_thread(store: Backend) -> None:
    import threading

    ingestor = Ingestor(
        store.events, store.dead_letters, on_stored=lambda _s, _e: None, opt_out=OptOutRules()
    )
    body = json.dumps([{**item(i), "bizId": f"B{i}"} for i in range(300)]).encode()
    assert len(body) > 16 * 1024  # parsed in the worker
    assert (await ingestor.ingest_body(Stream.REPORTS, body, Source.PUSH)).accepted
    assert any(t.name.startswith("push-parse") for t in threading.enumerate())
    ingestor.close()
    ingestor.close()  # idempotent
    # A later body starts a new worker rather than failing.
    assert (await ingestor.ingest_body(Stream.REPORTS, body, Source.PUSH)).accepted
    ingestor.close()


async def test_a_version_2_file_keeps_its_send_log_readable(tmp_path: Path) -> None:
    """Sends recorded by a version-2 gateway (the WITHOUT ROWID `sends` table) still give
    GetSendStatus its batch and new reports their sign, next to records of `send_log`,
    until retention removes them."""
    import sqlite3
    from datetime import UTC, datetime, timedelta, timezone

    from smsgateway.events.model import DeliveryReportIn, ReportFilter, SentBatch

    first = await sqlite_backend.open_backend(sqlite_backend.SqliteOptions(data_dir=tmp_path))
    await first.close()
    sent_at = datetime(2026, 1, 1, 4, 0, tzinfo=UTC)
    with sqlite3.connect(tmp_path / "events.db") as conn:  # as a version-2 gateway left it
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        conn.execute(
            "INSERT INTO sends VALUES (?, ?, ?, ?, ?, ?)",
            ("OLD1", "Old", 2, sent_at.timestamp(), "13900000001,13900000002", "team-a"),
        )

    store = await sqlite_backend.open_backend(sqlite_backend.SqliteOptions(data_dir=tmp_path))
    try:
        await store.send_log.record_sends(
            [SentBatch("NEW1", ("13900000003",), "New", 2, datetime.now(UTC), "team-b")]
        )
        old = await store.send_log.sent_batch("OLD1")
        assert old is not None and old.sign == "Old" and old.caller == "team-a"
        assert old.phone_numbers == ("13900000001", "13900000002")
        new = await store.send_log.sent_batch("NEW1")
        assert new is not None and new.sign == "New"
        assert await store.send_log.sent_batch("NONE") is None

        cst = timezone(timedelta(hours=8))
        reports = [
            DeliveryReportIn(
                biz_id=biz,
                phone_number=phone,
                provider_code="10000",
                success=True,
                message="ok",
                sms_size=1,
                send_time=datetime(2026, 1, 1, 12, 0, tzinfo=cst),
                report_time=datetime(2026, 1, 1, 12, 0, 5, tzinfo=cst),
            )
            for biz, phone in (("OLD1", "13900000001"), ("NEW1", "13900000003"))
        ]
        result = await store.events.append_reports(reports, Source.PUSH)
        assert [r.sign for r in result.stored if isinstance(r, StoredReport)] == ["Old", "New"]
        old_only = await store.events.read(Stream.REPORTS, 0, 10, ReportFilter(sign="Old"))
        assert [r.report.biz_id for r in old_only if isinstance(r, StoredReport)] == ["OLD1"]
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "events.db") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "3",
        )
