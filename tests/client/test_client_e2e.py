"""smsctl against the real gateway (`smsgateway.app.App`) and its in-process sandbox:
the issue's walk-through — send, watch the reports, check the status, inject an uplink
and watch it, with a consumer group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

app_module = pytest.importorskip("smsgateway.app")
from smsgateway.config import Settings  # noqa: E402
from smsgateway.sandbox import SandboxConfig  # noqa: E402


@pytest.fixture
async def real_gateway(tmp_path: Path):
    settings = Settings(
        bind_host="127.0.0.1",
        grpc_port=0,
        http_port=0,
        metrics_port=0,
        sandbox_port=0,
        data_dir=tmp_path,
    )
    sandbox = SandboxConfig(seed=7, report_delay_seconds=0, push_interval_seconds=0.02)
    app = app_module.App(settings, sandbox_config=sandbox)
    ports = await app.start()
    try:
        yield f"127.0.0.1:{ports.grpc}", app.sandbox.url
    finally:
        await app.stop()


async def test_send_watch_status_and_uplinks_through_the_real_gateway(real_gateway, run_cli):
    target, sandbox_url = real_gateway
    gw = ("--target", target)

    sent = await run_cli(
        *gw, "--json", "send", "--to", "13800000000,+86 138-0000-0001",
        "--sign", "Acme", "--content", "Your parcel is here", "--kind", "notice",
    )  # fmt: skip
    assert sent.code == 0, sent.err
    response = json.loads(sent.out)
    assert response["acceptedCount"] == 2
    (call,) = response["calls"]
    assert call["phoneNumbers"] == ["13800000000", "13800000001"]
    biz_id = call["bizId"]

    watched = await run_cli(*gw, "watch", "reports", "--from-start", "--max-events", "2")
    assert watched.code == 0, watched.err
    lines = watched.out.splitlines()
    assert len(lines) == 2
    assert all(f"bizId={biz_id}" in line and "status=DELIVERED" in line for line in lines)

    status = await run_cli(*gw, "status", biz_id)
    assert status.code == 0, status.err
    assert status.out.splitlines()[-1] == "total 2: 2 delivered, 0 pending, 0 failed"

    injected = await run_cli(
        "sandbox", "inject-uplink", "--sandbox-url", sandbox_url,
        "--phone", "13800000001", "--content", "TD", "--sign", "Acme",
    )  # fmt: skip
    assert injected.code == 0, injected.err

    uplinks = await run_cli(
        *gw, "watch", "uplinks", "--from-start", "--group", "ops", "--max-events", "1"
    )
    assert uplinks.code == 0, uplinks.err
    assert uplinks.out.startswith("cursor=")
    assert 'phone=13800000001 sign="Acme"' in uplinks.out and 'content="TD"' in uplinks.out


async def test_unknown_biz_id_and_bad_numbers_are_reported(real_gateway, run_cli):
    target, _ = real_gateway
    missing = await run_cli("--target", target, "status", "99999999999999999999")
    assert missing.code == 1 and missing.err.startswith("error: NOT_FOUND")

    bad = await run_cli(
        "--target", target, "send", "--to", "13800000000,12345", "--sign", "Acme",
        "--content", "Hi",
    )  # fmt: skip
    assert bad.code == 1
    lines = bad.err.splitlines()
    assert lines[0].startswith("error: INVALID_ARGUMENT")
    assert any(line.startswith("  - phone_numbers[1]: ") for line in lines)
