"""Admin API, run-time configuration and the standalone entry point."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from decimal import Decimal

import aiohttp
import pytest
from sandbox_helpers import Wire, fast_config

from smsgateway.sandbox import SandboxConfig, SandboxProvider, serve_standalone
from smsgateway.sandbox.standalone import add_arguments, config_from_args


async def test_state_counts_and_hides_the_secret(wire: Wire) -> None:
    await wire.send(phoneNumbers="13900000001,13900000002")
    status, state, text = await wire.call("GET", "/admin/state")

    assert status == 200
    assert state["requests"]["/sms/send"] == 1 and state["requests"]["/api/token"] == 1
    assert state["tokensIssued"] == 1
    assert state["balance"] == "999.90"
    assert state["batches"] == 1
    assert state["pendingReports"] == 2
    assert "sandbox-secret" not in text and "secret" not in state["config"]
    assert "sandbox-secret" not in repr(wire.provider.config)


async def test_config_at_run_time(wire: Wire) -> None:
    status, body, _ = await wire.call(
        "POST",
        "/admin/config",
        json_body={
            "balance": "5.00",
            "price_per_segment": 0.1,
            "approved_templates": ["42"],
            "report_outcomes": {"4": 1},
            "report_delay_seconds": 0,
        },
    )
    assert status == 200 and body["config"]["approved_templates"] == ["42"]
    assert wire.provider.balance == Decimal("5.00")
    assert wire.provider.config.price_per_segment == Decimal("0.1")

    _, answer = await wire.send_template(templateId="42")
    assert answer["code"] == "10000"
    [report] = await wire.pull("/sms/deliver")
    assert (report["code"], report["success"], report["message"]) == ("4", False, "失败")
    assert wire.provider.balance == Decimal("4.90")


@pytest.mark.parametrize(
    "body",
    [
        {"no_such_setting": 1},
        {"field_style": "kebab"},
        {"report_outcomes": {"x": 1}},
        {"report_outcomes": {"10000": 0}},
        {"balance": "lots"},
        {"push_batch_size": 0},
        {"push_interval_seconds": 0},
        {"pull_repeat": "yes"},
        {"report_delay_seconds": True},
        {"report_push_url": "ftp://x"},
        {"approved_templates": "1192360392260608"},
        {"seed": 1.5},
    ],
)
async def test_bad_config_is_refused(wire: Wire, body: dict[str, object]) -> None:
    before = wire.provider.config
    status, answer, _ = await wire.call("POST", "/admin/config", json_body=body)
    assert status == 400 and answer["error"]
    assert wire.provider.config == before


async def test_bad_admin_bodies(wire: Wire) -> None:
    status, _, _ = await wire.call(
        "POST", "/admin/uplinks", json_body={"phoneNumber": "13900000001", "content": "x"}
    )
    assert status == 400  # sign missing
    status, _, _ = await wire.call(
        "POST",
        "/admin/uplinks",
        json_body={"phoneNumber": "not-a-phone", "content": "x", "sign": "s"},
    )
    assert status == 400
    status, _, _ = await wire.call("POST", "/admin/config", json_body=[1, 2])
    assert status == 400
    async with wire.session.post(wire.url + "/admin/faults", data=b"{not json") as resp:
        assert resp.status == 400


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SandboxConfig(token_ttl_seconds=0)
    with pytest.raises(ValueError):
        SandboxConfig(report_outcomes={"10000": -1})
    cfg = SandboxConfig(balance=12.3, report_outcomes={10000: 1})  # type: ignore[arg-type]
    assert cfg.balance == Decimal("12.3") and dict(cfg.report_outcomes) == {"10000": 1.0}


async def test_async_context_manager_and_url() -> None:
    provider = SandboxProvider(fast_config())
    with pytest.raises(RuntimeError):
        _ = provider.url
    async with provider as running:
        assert running.url.startswith("http://127.0.0.1:")
        async with (
            aiohttp.ClientSession() as session,
            session.get(running.url + "/admin/state") as resp,
        ):
            assert resp.status == 200


async def test_serve_standalone(capsys: pytest.CaptureFixture[str]) -> None:
    task = asyncio.create_task(serve_standalone("127.0.0.1", 0, fast_config()))
    url = ""
    async with asyncio.timeout(5):
        while not url:
            await asyncio.sleep(0.01)
            for line in capsys.readouterr().out.splitlines():
                if "listening on " in line:
                    url = line.split("listening on ")[1].strip()
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            url + "/api/token", params={"appId": "sandbox-app", "secret": "sandbox-secret"}
        ) as resp,
    ):
        assert (await resp.json())["code"] == "10000"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_command_line_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSGW_SANDBOX_SECRET", "from-env")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--port",
            "0",
            "--single-kind",
            "--field-style",
            "snake",
            "--report-outcome",
            "10000=3",
            "--report-outcome",
            "4=1",
            "--balance",
            "2.50",
            "--seed",
            "1",
        ]
    )
    cfg = config_from_args(args)
    assert (args.port, cfg.require_kind, cfg.field_style, cfg.seed) == (0, False, "snake", 1)
    assert dict(cfg.report_outcomes) == {"10000": 3.0, "4": 1.0}
    assert cfg.balance == Decimal("2.50") and cfg.secret == "from-env"
    with pytest.raises(ValueError):
        config_from_args(parser.parse_args(["--report-outcome", "10000"]))
    json.dumps(vars(args), default=str)  # plain values only


async def test_standalone_process_stops_cleanly_on_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smsgateway.sandbox",
        "--port",
        "0",
        "--single-kind",
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "SMSGW_SANDBOX_SECRET": "from-env"},
    )
    try:
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        url = first.decode().split("listening on ")[1].strip()
        params = {"appId": "sandbox-app", "secret": "from-env"}
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/api/token", params=params) as resp:
                assert (await resp.json())["code"] == "10000"
            async with session.get(url + "/admin/state") as resp:
                assert (await resp.json())["config"]["require_kind"] is False
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stdout.read(), timeout=10)
        assert await proc.wait() == 0
        assert b"sandbox provider stopped" in rest
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
