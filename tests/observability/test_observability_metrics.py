"""Metrics: exposition format (promtool), bounded labels, the HTTP endpoint, observers."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families

from smsgateway.observability import metrics, metrics_server, upstream_metrics
from smsgateway.observability.balance import BalanceRefresher

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not on PATH (apt-get install prometheus)"
)


def _exercise_every_metric() -> None:
    """Give every labelled metric at least one series, as a busy gateway would."""
    metrics.GRPC_REQUESTS.labels("smsgateway.v1.SmsGateway/SendSms", "OK").inc()
    metrics.GRPC_LATENCY.labels("smsgateway.v1.SmsGateway/SendSms").observe(0.0004)
    observer = upstream_metrics.MetricsUpstreamObserver()
    observer.request_finished("send", "success", 0.05)
    observer.token_fetched("cold", "success")
    metrics.RECIPIENTS.labels("verification_code", "accepted").inc(3)
    metrics.BATCHES.labels("verification_code", "accepted").inc()
    metrics.SEGMENTS.labels("verification_code").inc(3)
    metrics.IDEMPOTENT_REPLAYS.labels("smsgateway.v1.SmsGateway/SendSms").inc()
    metrics.SUPPRESSED.inc()
    metrics.REPORTS.labels("push", "delivered").inc()
    metrics.UPLINKS.labels("pull").inc()
    metrics.OPT_OUTS.inc()
    metrics.DUPLICATES.labels("reports", "push").inc()
    metrics.DEAD_LETTERS.labels("uplinks").inc()
    metrics.INGEST_LATENCY.labels("reports").observe(0.002)
    metrics.SUBSCRIBERS.labels("reports").set(2)
    metrics.GROUP_BACKLOG.labels("reports", "billing").set(17)
    metrics.LAST_REPORT.labels("reports").set(1.7e9)


@needs_promtool
def test_exposition_passes_promtool_check_metrics() -> None:
    _exercise_every_metric()
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, "check", "metrics"],
        input=metrics_server.render(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    # promtool prints lint problems and exits non-zero on any of them.
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert done.stdout.strip() == b""


def test_every_metric_is_prefixed_and_typed() -> None:
    _exercise_every_metric()
    families = list(text_string_to_metric_families(metrics_server.render().decode()))
    ours = [f for f in families if not f.name.startswith(("process_", "python_"))]
    assert len(ours) >= 22
    for family in ours:
        assert family.name.startswith("smsgateway_"), family.name
        assert family.documentation, family.name
        if family.type == "counter":
            assert not family.samples or family.samples[0].name.endswith(("_total", "_created"))
    names = {f.name for f in families}
    # The process collector is on our registry too.
    assert "process_cpu_seconds" in names


_PHONE_LIKE = re.compile(r"\d{7,}")


def test_no_label_value_looks_like_a_phone_number_or_biz_id() -> None:
    _exercise_every_metric()
    for family in text_string_to_metric_families(metrics_server.render().decode()):
        for sample in family.samples:
            for key, value in sample.labels.items():
                assert not _PHONE_LIKE.search(value), (sample.name, key, value)


def test_observer_bounds_unexpected_labels() -> None:
    observer = upstream_metrics.MetricsUpstreamObserver()

    def count(endpoint: str, outcome: str) -> float:
        value = metrics.REGISTRY.get_sample_value(
            "smsgateway_upstream_requests_total", {"endpoint": endpoint, "outcome": outcome}
        )
        return value or 0.0

    before = count("other", "other")
    observer.request_finished("/sms/send?token=abc&phoneNumbers=13651688564", "weird", 0.1)
    assert count("other", "other") == before + 1
    assert b"13651688564" not in metrics_server.render()
    assert b"token=abc" not in metrics_server.render()

    before_to = count("deliver", "timeout")
    observer.request_finished("deliver", "timeout", 10.0)
    assert count("deliver", "timeout") == before_to + 1
    assert (
        metrics.REGISTRY.get_sample_value(
            "smsgateway_upstream_request_duration_seconds_bucket",
            {"endpoint": "deliver", "le": "+Inf"},
        )
        or 0
    ) >= 1


def test_closed_label_sets_exist_before_first_use() -> None:
    # Alerts divide error rates by totals; those series must read 0, not be absent.
    value = metrics.REGISTRY.get_sample_value(
        "smsgateway_upstream_requests_total", {"endpoint": "balance", "outcome": "http_error"}
    )
    assert value is not None
    assert (
        metrics.REGISTRY.get_sample_value(
            "smsgateway_token_fetches_total", {"reason": "rejected", "result": "failure"}
        )
        is not None
    )


@pytest.mark.parametrize(
    ("code", "label"),
    [(None, "OK"), (0, "OK"), (3, "INVALID_ARGUMENT"), (16, "UNAUTHENTICATED"), (99, "UNKNOWN")],
)
def test_status_label(code: object, label: str) -> None:
    assert metrics.status_label(code) == label


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("10000", "delivered"),
        (10000, "delivered"),
        (" 4 ", "failed"),
        ("8", "rate_limited"),
        ("9", "unknown"),
        ("13651688564", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_report_status_label(code: object, label: str) -> None:
    assert metrics.report_status_label(code) == label


def test_status_label_accepts_grpc_status_codes() -> None:
    import grpc

    assert metrics.status_label(grpc.StatusCode.RESOURCE_EXHAUSTED) == "RESOURCE_EXHAUSTED"
    assert metrics.status_label("13651688564") == "UNKNOWN"


def test_token_expiry_reads_the_cache_at_scrape_time() -> None:
    left: list[float | None] = [None]
    upstream_metrics.bind_token_expiry(lambda: left[0])
    assert metrics.REGISTRY.get_sample_value("smsgateway_token_expiry_seconds") == 0.0
    left[0] = 7100.5
    assert metrics.REGISTRY.get_sample_value("smsgateway_token_expiry_seconds") == 7100.5
    left[0] = -3.0
    assert metrics.REGISTRY.get_sample_value("smsgateway_token_expiry_seconds") == -3.0


async def test_metrics_endpoint_serves_the_registry_over_http() -> None:
    runner = await metrics_server.start_metrics_server("127.0.0.1", 0)
    try:
        port = runner.addresses[0][1]
        metrics.OPT_OUTS.inc()
        async with ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                body = await resp.text()
            async with session.get(f"http://127.0.0.1:{port}/other") as resp:
                assert resp.status == 404
        assert "smsgateway_opt_outs_total" in body
        assert "smsgateway_build_info{" in body
    finally:
        await runner.cleanup()


async def test_metrics_server_port_in_use_fails_loudly() -> None:
    runner = await metrics_server.start_metrics_server("127.0.0.1", 0)
    try:
        port = runner.addresses[0][1]
        with pytest.raises(OSError):
            await metrics_server.start_metrics_server("127.0.0.1", port)
    finally:
        await runner.cleanup()


async def test_balance_refresher_publishes_and_survives_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    results: list[Decimal | Exception] = [
        Decimal("123.45"),
        RuntimeError("GET http://gw/sms/balance?token=SECRETTOKEN failed"),
        Decimal("99.5"),
    ]
    calls = asyncio.Event()
    served = 0

    async def fetch() -> Decimal:
        nonlocal served
        item = results[min(served, len(results) - 1)]
        served += 1
        if served >= len(results):
            calls.set()
        if isinstance(item, Exception):
            raise item
        return item

    refresher = BalanceRefresher(fetch, interval_seconds=0.001, clock=lambda: 1_700_000_000.0)
    refresher.start()
    refresher.start()  # idempotent
    try:
        await asyncio.wait_for(refresher.wait_refreshed(), 5)
        await asyncio.wait_for(calls.wait(), 5)
    finally:
        await refresher.stop()
    await refresher.stop()  # idempotent
    assert metrics.REGISTRY.get_sample_value("smsgateway_balance") == 99.5
    assert (
        metrics.REGISTRY.get_sample_value("smsgateway_balance_last_update_timestamp_seconds")
        == 1_700_000_000.0
    )
    failures = [r for r in caplog.records if r.getMessage() == "balance refresh failed"]
    assert failures
    assert all("SECRETTOKEN" not in str(vars(r)) for r in caplog.records)


async def test_balance_refresh_failure_keeps_last_value() -> None:
    async def ok() -> Decimal:
        return Decimal("10")

    async def broken() -> Decimal:
        raise ConnectionError("down")

    assert await BalanceRefresher(ok, 60).refresh_once()
    assert not await BalanceRefresher(broken, 60).refresh_once()
    assert metrics.REGISTRY.get_sample_value("smsgateway_balance") == 10.0


def test_balance_refresher_rejects_bad_interval() -> None:
    async def ok() -> Decimal:
        return Decimal("1")

    with pytest.raises(ValueError):
        BalanceRefresher(ok, 0)
