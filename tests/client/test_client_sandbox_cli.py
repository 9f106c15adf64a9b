"""`smsctl sandbox ...` against the real sandbox provider (aiohttp, real sockets)."""

from __future__ import annotations

import json
import socket

import pytest

from smsgateway.sandbox import SandboxProvider


@pytest.fixture
async def sandbox():
    async with SandboxProvider() as provider:
        yield provider


async def test_inject_uplink_posts_the_uplink_and_prints_what_was_stored(sandbox, run_cli):
    result = await run_cli(
        "sandbox", "inject-uplink", "--sandbox-url", sandbox.url,
        "--phone", "13800000000", "--content", "TD", "--sign", "Acme",
        "--send-time", "2026-01-01 08:00:00",
    )  # fmt: skip
    assert result.code == 0, result.err
    stored = json.loads(result.out)
    assert stored["phoneNumber"] == "13800000000"
    assert (stored["content"], stored["sign"]) == ("TD", "Acme")
    assert stored["sendTime"] == "2026-01-01 08:00:00"
    assert sandbox.state()["pendingUplinks"] == 1


async def test_sandbox_url_from_the_environment(sandbox, run_cli, monkeypatch):
    monkeypatch.setenv("SMSCTL_SANDBOX_URL", sandbox.url + "/")
    result = await run_cli("sandbox", "state")
    assert result.code == 0, result.err
    assert json.loads(result.out)["url"] == sandbox.url


async def test_sandbox_refusal_exits_1_with_its_message(sandbox, run_cli):
    result = await run_cli(
        "sandbox", "inject-uplink", "--sandbox-url", sandbox.url,
        "--phone", "not-a-number", "--content", "TD", "--sign", "Acme",
    )  # fmt: skip
    assert result.code == 1
    assert "HTTP 400" in result.err and "phone_number must be 5..20 digits" in result.err
    assert sandbox.state()["pendingUplinks"] == 0


async def test_faults_replace_and_clear(sandbox, run_cli):
    result = await run_cli(
        "sandbox", "faults", "--sandbox-url", sandbox.url, "--latency", "0.2",
        "--error-rate", "0.5", "--http-5xx-rate", "0.25", "--malformed-rate", "0.1",
        "--drop-rate", "0.05", "--drop-after-processing", "--path", "/sms/send",
    )  # fmt: skip
    assert result.code == 0, result.err
    faults = sandbox.faults
    assert faults.latency_seconds == 0.2 and faults.error_rate == 0.5
    assert faults.http_5xx_rate == 0.25 and faults.malformed_rate == 0.1
    assert faults.drop_rate == 0.05 and faults.drop_after_processing
    assert faults.paths == frozenset({"/sms/send"})
    assert json.loads(result.out)["faults"]["error_rate"] == 0.5

    result = await run_cli("sandbox", "faults", "--sandbox-url", sandbox.url, "--clear")
    assert result.code == 0, result.err
    assert sandbox.faults.error_rate == 0.0 and sandbox.faults.paths is None


async def test_fault_rates_are_checked_before_sending(sandbox, run_cli):
    result = await run_cli("sandbox", "faults", "--sandbox-url", sandbox.url, "--drop-rate", "2")
    assert result.code == 2 and "within 0..1" in result.err
    assert sandbox.requests == {}


async def test_reset_secret_does_not_print_it_unless_asked(sandbox, run_cli):
    before = sandbox.config.secret
    result = await run_cli("sandbox", "reset-secret", "--sandbox-url", sandbox.url)
    assert result.code == 0, result.err
    assert sandbox.config.secret != before
    assert sandbox.config.secret not in result.out + result.err
    assert "secret reset" in result.out

    result = await run_cli(
        "sandbox", "reset-secret", "--sandbox-url", sandbox.url, "--secret", "s3cr3t-x",
        "--show-secret",
    )  # fmt: skip
    assert sandbox.config.secret == "s3cr3t-x"
    assert json.loads(result.out) == {"secret": "s3cr3t-x"}


async def test_config_sets_typed_values(sandbox, run_cli):
    result = await run_cli(
        "sandbox", "config", "--sandbox-url", sandbox.url, "balance=\"12.34\"",
        "report_delay_seconds=0", "field_style=snake",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert str(sandbox.balance) == "12.34"
    assert sandbox.config.report_delay_seconds == 0
    assert sandbox.config.field_style == "snake"


async def test_unreachable_sandbox_exits_1(run_cli):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await run_cli(
        "sandbox", "inject-uplink", "--sandbox-url", f"http://127.0.0.1:{port}",
        "--phone", "13800000000", "--content", "hi", "--sign", "Acme",
    )  # fmt: skip
    assert result.code == 1
    assert result.err.startswith(f"smsctl: sandbox: POST http://127.0.0.1:{port}/admin/uplinks")
