"""The poller against the real sandbox provider, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from smsgateway.backends.sqlite.database import SqliteDatabase
from smsgateway.backends.sqlite.dead_letters import SqliteDeadLetters
from smsgateway.backends.sqlite.event_log import SqliteEventLog
from smsgateway.backends.sqlite.suppressions import SqliteSuppressions
from smsgateway.events.ingest import Ingestor
from smsgateway.events.model import Source, StoredEvent, StoredReport, StoredUplink, Stream
from smsgateway.events.optout import OptOutRules
from smsgateway.events.poller import Poller, PollerConfig
from smsgateway.events.webhooks import WebhookConfig, WebhookServer
from smsgateway.sandbox import SandboxConfig, SandboxProvider
from smsgateway.upstream.client import ProviderClient
from smsgateway.upstream.config import UpstreamConfig

SIGN = "圆通快递"
NUMBERS = ["13900000001", "13900000002", "13900000003"]


@dataclass
class Rig:
    sandbox: SandboxProvider
    client: ProviderClient
    db: SqliteDatabase
    store: SqliteEventLog
    suppressions: SqliteSuppressions
    ingestor: Ingestor
    announced: list[StoredEvent]
    webhook_url: str

    async def send(self) -> str:
        receipt = await self.client.send(
            phone_numbers=NUMBERS, sign=SIGN, content=f"【{SIGN}】您的快件已签收", kind=2
        )
        return receipt.biz_id


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = SqliteDatabase(tmp_path / "events.db")
    await db.open()
    store = SqliteEventLog(db)
    announced: list[StoredEvent] = []

    def on_stored(_stream: Stream, events: Sequence[StoredEvent]) -> None:
        announced.extend(events)

    ingestor = Ingestor(store, SqliteDeadLetters(db), on_stored=on_stored, opt_out=OptOutRules())
    webhooks = WebhookServer(ingestor, WebhookConfig(), host="127.0.0.1", port=0)
    await webhooks.start()
    sandbox = SandboxProvider(
        SandboxConfig(report_delay_seconds=0.0, report_outcomes={"10000": 1.0}, seed=7)
    )
    url = await sandbox.start("127.0.0.1", 0)
    session = aiohttp.ClientSession()
    client = ProviderClient(
        session,
        UpstreamConfig(
            base_url=url,
            app_id=sandbox.config.app_id,
            secret=sandbox.config.secret,
            max_attempts=1,
            request_timeout_seconds=5,
        ),
    )
    yield Rig(
        sandbox,
        client,
        db,
        store,
        SqliteSuppressions(db),
        ingestor,
        announced,
        f"http://127.0.0.1:{webhooks.port}",
    )
    await client.close()
    await session.close()
    await sandbox.stop()
    await webhooks.stop()
    await db.close()


async def test_a_poll_stores_reports_and_uplinks(rig: Rig) -> None:
    biz_id = await rig.send()
    rig.sandbox.inject_uplink("18612345678", "退订", SIGN)
    rig.sandbox.inject_uplink("18600000000", "谢谢", SIGN)
    poller = Poller(rig.client, rig.ingestor, PollerConfig(enabled=True, sign=SIGN))
    assert await poller.poll_once() is True
    reports = await rig.store.read(Stream.REPORTS, 0, 100)
    assert sorted(
        (r.report.biz_id, r.report.phone_number, r.source)
        for r in reports
        if isinstance(r, StoredReport)
    ) == [(biz_id, n, Source.PULL) for n in NUMBERS]
    uplinks = [
        u for u in await rig.store.read(Stream.UPLINKS, 0, 100) if isinstance(u, StoredUplink)
    ]
    assert sorted((u.uplink.phone_number, u.uplink.sign, u.opt_out) for u in uplinks) == [
        ("18600000000", SIGN, False),
        ("18612345678", SIGN, True),
    ]
    assert await rig.suppressions.suppressed(SIGN, ["18612345678"]) == {"18612345678"}
    assert len(rig.announced) == 5
    # Nothing new: a second round stores nothing.
    assert await poller.poll_once() is True
    assert len(rig.announced) == 5


async def test_the_same_reports_by_push_and_by_repeated_pulls_are_stored_once(rig: Rig) -> None:
    rig.sandbox.configure(
        pull_repeat=True,
        push_interval_seconds=0.01,
        report_push_url=f"{rig.webhook_url}/callbacks/delivery-reports",
    )
    await rig.send()
    await rig.sandbox.wait_pushes_idle(timeout=10)
    assert len(await rig.store.read(Stream.REPORTS, 0, 100)) == 3
    poller = Poller(rig.client, rig.ingestor, PollerConfig(enabled=True))
    assert await poller.poll_once() is True
    assert await poller.poll_once() is True
    stored = await rig.store.read(Stream.REPORTS, 0, 100)
    assert [s.source for s in stored] == [Source.PUSH] * 3
    assert rig.ingestor.counters.duplicates[Stream.REPORTS] == 6


async def test_without_a_sign_only_reports_are_polled(rig: Rig) -> None:
    await rig.send()
    rig.sandbox.inject_uplink("18612345678", "hi", SIGN)
    poller = Poller(rig.client, rig.ingestor, PollerConfig(enabled=True))
    assert await poller.poll_once() is True
    assert len(await rig.store.read(Stream.REPORTS, 0, 100)) == 3
    assert await rig.store.read(Stream.UPLINKS, 0, 100) == []


async def test_failures_back_off_and_never_end_the_loop(rig: Rig) -> None:
    delays: list[float] = []
    progressed = asyncio.Event()

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)
        progressed.set()
        await asyncio.sleep(0)

    async def rounds(n: int) -> None:
        while len(delays) < n:
            progressed.clear()
            await progressed.wait()

    config = PollerConfig(enabled=True, interval_seconds=1.0, sign=SIGN, max_backoff_seconds=5.0)
    poller = Poller(rig.client, rig.ingestor, config, sleep=fake_sleep)
    rig.sandbox.set_faults(error_rate=1.0)
    poller.start()
    try:
        await asyncio.wait_for(rounds(4), 10)
        assert delays[:4] == [2.0, 4.0, 5.0, 5.0]
        rig.sandbox.clear_faults()
        await rig.send()
        await asyncio.wait_for(rounds(len(delays) + 2), 10)
        assert delays[-1] == 1.0
        assert poller.failures == 0
        assert len(await rig.store.read(Stream.REPORTS, 0, 100)) == 3
    finally:
        await poller.stop()
    assert poller.polls >= 6


async def test_pulled_items_the_store_refused_are_stored_next_round(rig: Rig) -> None:
    await rig.send()
    poller = Poller(rig.client, rig.ingestor, PollerConfig(enabled=True))
    await rig.db.close()  # the store is down while the pull hands the reports out
    assert await poller.poll_once() is False
    await rig.db.open()
    assert await rig.store.read(Stream.REPORTS, 0, 100) == []
    assert await poller.poll_once() is True  # the sandbox has nothing new to hand out
    assert len(await rig.store.read(Stream.REPORTS, 0, 100)) == 3


async def test_disabled_poller_does_nothing(rig: Rig) -> None:
    poller = Poller(rig.client, rig.ingestor, PollerConfig())
    poller.start()
    await poller.stop()
    assert poller.polls == 0
    assert rig.sandbox.requests["/sms/deliver"] == 0


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        PollerConfig(interval_seconds=0)
    with pytest.raises(ValueError):
        PollerConfig(interval_seconds=10, max_backoff_seconds=5)
