"""Secure by default: loopback without callers, refusal beyond it unless explicitly allowed
(then a warning and a metric); the anonymous demo keeps working without any key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from smsgateway.config import ConfigError, Settings, is_loopback_host
from smsgateway.observability import metrics, metrics_server
from smsgateway.security.ports import Window
from smsgateway.security.setup import build_security
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.secure_gateway import secure_settings, start_secure_gateway


def test_without_callers_the_default_is_loopback() -> None:
    assert Settings.from_env({}).bind_host == "127.0.0.1"
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback_host(host)
        Settings.from_env({"SMSGW_BIND_HOST": host})
    for host in ("0.0.0.0", "::", "10.0.0.5", "gateway.internal"):
        assert not is_loopback_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_beyond_loopback_without_callers_it_refuses_to_start(host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SMSGW_BIND_HOST": host})
    [problem] = [p for p in caught.value.problems if "SMSGW_CALLERS_FILE" in p]
    assert "SMSGW_ALLOW_UNAUTHENTICATED=true" in problem


def test_beyond_loopback_with_callers_or_explicitly_allowed(tmp_path: Path) -> None:
    callers = tmp_path / "callers.yaml"
    callers.write_text("callers: []\n")
    push = {"SMSGW_CALLBACK_TOKEN": "t0k3n-for-pushes"}  # the push endpoints' own rule
    settings = Settings.from_env(
        {**push, "SMSGW_BIND_HOST": "0.0.0.0", "SMSGW_CALLERS_FILE": str(callers)}
    )
    assert settings.callers_file == callers
    allowed = Settings.from_env(
        {**push, "SMSGW_BIND_HOST": "0.0.0.0", "SMSGW_ALLOW_UNAUTHENTICATED": "true"}
    )
    assert allowed.allow_unauthenticated
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SMSGW_CALLERS_FILE": str(tmp_path / "missing.yaml")})
    assert "SMSGW_CALLERS_FILE" in caught.value.problems[0]


def test_a_bad_callers_file_fails_the_start_naming_every_problem(tmp_path: Path) -> None:
    callers = tmp_path / "callers.yaml"
    callers.write_text("callers:\n  - {name: a, permissions: [fly]}\n")
    settings = secure_settings(tmp_path / "d", callers_file=callers)
    with pytest.raises(ConfigError) as caught:
        build_security(settings, limit_store=None)  # type: ignore[arg-type]
    text = str(caught.value)
    assert "key_sha256 must be 64 hex" in text and "'fly' is not one of" in text


async def test_explicitly_unauthenticated_warns_and_sets_the_gauge(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = secure_settings(tmp_path / "d", bind_host="0.0.0.0", allow_unauthenticated=True)
    with caplog.at_level(logging.WARNING):
        gateway = await start_secure_gateway(settings, address="127.0.0.1:0")
    try:
        assert "WITHOUT authentication" in caplog.text
        assert metrics.UNAUTHENTICATED_MODE._value.get() == 1
        assert "smsgateway_unauthenticated_mode 1.0" in metrics_server.render().decode()
    finally:
        await gateway.stop()
    loopback = await start_secure_gateway(secure_settings(tmp_path / "e"))
    try:
        assert metrics.UNAUTHENTICATED_MODE._value.get() == 0
    finally:
        await loopback.stop()


async def test_without_callers_every_call_is_the_anonymous_admin(tmp_path: Path) -> None:
    gateway = await start_secure_gateway(secure_settings(tmp_path / "d"))
    try:
        stub = gateway.stub()
        sent = await stub.SendSms(
            pb.SendSmsRequest(
                phone_numbers=["13800000000"], sign="Demo", content="hello", kind=pb.SMS_KIND_NOTICE
            ),
            timeout=10,
        )
        assert sent.accepted_count == 1
        assert (await stub.ListSuppressions(pb.ListSuppressionsRequest(), timeout=5)) is not None
    finally:
        await gateway.stop()


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("1/60s,5/1h,10/1d", (Window(1, 60), Window(5, 3600), Window(10, 86400))),
        ("3/30s", (Window(3, 30),)),
        ("20/d", (Window(20, 86400),)),
        ("off", ()),
    ],
)
def test_verification_code_limits_are_configurable(text: str, windows: tuple[Window, ...]) -> None:
    settings = Settings.from_env({"SMSGW_VERIFICATION_CODE_LIMITS": text})
    assert settings.verification_code_limits == windows


@pytest.mark.parametrize("text", ["1/60", "x", "0/1h", "5/8d", "1/0s"])
def test_bad_verification_code_limits_are_refused(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SMSGW_VERIFICATION_CODE_LIMITS": text})
    assert "SMSGW_VERIFICATION_CODE_LIMITS" in caught.value.problems[0]
