"""Forged pushes: the process refuses to expose unprotected push endpoints, and the push
bounds are settings (SMSGW_*) that reach the endpoints."""

from __future__ import annotations

import ipaddress
import logging
import os
import subprocess
import sys

import pytest

from smsgateway.config import ConfigError, Settings
from smsgateway.events.webhooks import WebhookConfig, parse_limits_from_settings

# The gRPC side has its own secure-by-default check (SMSGW_CALLERS_FILE); these tests
# switch it off explicitly so that only the push endpoints' check is exercised.
GRPC_ALLOWED = {"SMSGW_ALLOW_UNAUTHENTICATED": "true"}
TOKEN = "cb-t0ken-do-not-print"


def test_a_public_bind_without_token_or_allowlist_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**GRPC_ALLOWED, "SMSGW_BIND_HOST": "0.0.0.0"})
    [problem] = [p for p in caught.value.problems if "push endpoints" in p]
    for name in (
        "SMSGW_CALLBACK_TOKEN",
        "SMSGW_CALLBACK_ALLOWED_NETWORKS",
        "SMSGW_ALLOW_UNAUTHENTICATED_PUSH=true",
    ):
        assert name in problem
    assert "'0.0.0.0'" in problem and "8080" in problem


@pytest.mark.parametrize(
    "env",
    [
        {"SMSGW_CALLBACK_TOKEN": TOKEN},
        {"SMSGW_CALLBACK_ALLOWED_NETWORKS": "10.0.0.0/8"},
        {"SMSGW_ALLOW_UNAUTHENTICATED_PUSH": "true"},
    ],
    ids=["token", "allowlist", "explicitly-allowed"],
)
def test_a_public_bind_with_protection_or_explicit_consent_starts(env: dict[str, str]) -> None:
    settings = Settings.from_env({**GRPC_ALLOWED, "SMSGW_BIND_HOST": "0.0.0.0", **env})
    assert settings.bind_host == "0.0.0.0"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"])
def test_loopback_needs_nothing(host: str) -> None:
    assert Settings.from_env({"SMSGW_BIND_HOST": host}).bind_host == host


def test_the_default_is_zero_config() -> None:
    settings = Settings.from_env({})
    assert settings.allow_unauthenticated_push is False
    assert settings.push_read_timeout_seconds == 10.0
    assert settings.max_concurrent_pushes == 16
    assert settings.push_lenient_max_bytes == 1024 * 1024
    assert settings.dead_letter_max_count == 10_000
    assert settings.dead_letter_max_bytes == 64 * 1024 * 1024


def test_the_process_refuses_to_start() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")},
        **GRPC_ALLOWED,
        "SMSGW_BIND_HOST": "0.0.0.0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "smsgateway", "check-config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "SMSGW_ALLOW_UNAUTHENTICATED_PUSH" in done.stderr


def test_push_settings_are_read_and_validated() -> None:
    settings = Settings.from_env(
        {
            "SMSGW_PUSH_READ_TIMEOUT_SECONDS": "2.5",
            "SMSGW_MAX_CONCURRENT_PUSHES": "4",
            "SMSGW_PUSH_LENIENT_MAX_BYTES": "0",
            "SMSGW_DEAD_LETTER_MAX_COUNT": "50",
            "SMSGW_DEAD_LETTER_MAX_BYTES": "1048576",
        }
    )
    assert (
        settings.push_read_timeout_seconds,
        settings.max_concurrent_pushes,
        settings.push_lenient_max_bytes,
        settings.dead_letter_max_count,
        settings.dead_letter_max_bytes,
    ) == (2.5, 4, 0, 50, 1_048_576)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {
                "SMSGW_PUSH_READ_TIMEOUT_SECONDS": "0",
                "SMSGW_MAX_CONCURRENT_PUSHES": "many",
                "SMSGW_PUSH_LENIENT_MAX_BYTES": "-1",
                "SMSGW_DEAD_LETTER_MAX_COUNT": "0",
                "SMSGW_ALLOW_UNAUTHENTICATED_PUSH": "perhaps",
            }
        )
    text = str(caught.value)
    for name in (
        "SMSGW_PUSH_READ_TIMEOUT_SECONDS",
        "SMSGW_MAX_CONCURRENT_PUSHES",
        "SMSGW_PUSH_LENIENT_MAX_BYTES",
        "SMSGW_DEAD_LETTER_MAX_COUNT",
        "SMSGW_ALLOW_UNAUTHENTICATED_PUSH",
    ):
        assert name in text


def test_settings_reach_the_endpoints(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.from_env(
        {
            "SMSGW_CALLBACK_TOKEN": TOKEN,
            "SMSGW_CALLBACK_ALLOWED_NETWORKS": "10.0.0.0/8",
            "SMSGW_PUSH_READ_TIMEOUT_SECONDS": "3",
            "SMSGW_MAX_CONCURRENT_PUSHES": "5",
            "SMSGW_MAX_PUSH_ITEMS": "77",
            "SMSGW_PUSH_LENIENT_MAX_BYTES": "1000",
        }
    )
    with caplog.at_level(logging.DEBUG):
        config = WebhookConfig.from_settings(settings)
    assert (config.read_timeout_seconds, config.max_concurrent, config.max_items) == (3.0, 5, 77)
    assert config.callback_token == TOKEN
    assert config.allowed_networks == (ipaddress.ip_network("10.0.0.0/8"),)
    limits = parse_limits_from_settings(settings)
    assert (limits.max_items, limits.lenient_max_bytes) == (77, 1000)
    assert TOKEN not in caplog.text and TOKEN not in repr(config) and TOKEN not in repr(settings)


def test_explicitly_unprotected_pushes_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.from_env(
        {**GRPC_ALLOWED, "SMSGW_BIND_HOST": "0.0.0.0", "SMSGW_ALLOW_UNAUTHENTICATED_PUSH": "1"}
    )
    with caplog.at_level(logging.WARNING):
        WebhookConfig.from_settings(settings)
    assert "accept pushes from anyone" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        WebhookConfig.from_settings(Settings.from_env({}))  # loopback: nothing to say
    assert "accept pushes from anyone" not in caplog.text
