"""Settings from the environment: defaults, every problem named at once, no secret echoed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smsgateway.config import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_run_the_embedded_sandbox() -> None:
    settings = Settings.from_env({})
    assert settings.uses_sandbox
    assert (settings.grpc_port, settings.http_port, settings.metrics_port) == (50051, 8080, 9090)


def test_every_problem_is_reported_at_once_without_the_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {
                "SMSGW_UPSTREAM_URL": "ftp://x",
                "SMSGW_SECRET": "s3cr3t-value-that-is-way-too-long-" + "x" * 256,
                "SMSGW_GRPC_PORT": "seventy",
                "SMSGW_HTTP_PORT": "70000",
                "SMSGW_LOG_LEVEL": "loud",
                "SMSGW_POLL_ENABLED": "maybe",
                "SMSGW_CALLBACK_ALLOWED_NETWORKS": "10.0.0.0/8,not-a-net",
            }
        )
    text = str(caught.value)
    for name in (
        "SMSGW_UPSTREAM_URL",
        "SMSGW_APP_ID",
        "SMSGW_GRPC_PORT",
        "SMSGW_HTTP_PORT",
        "SMSGW_LOG_LEVEL",
        "SMSGW_POLL_ENABLED",
        "SMSGW_CALLBACK_ALLOWED_NETWORKS",
        "SMSGW_SECRET",
    ):
        assert name in text
    assert "s3cr3t" not in text


def test_secret_is_not_in_repr() -> None:
    settings = Settings.from_env(
        {"SMSGW_UPSTREAM_URL": "https://p.example/", "SMSGW_APP_ID": "a1", "SMSGW_SECRET": "hush"}
    )
    assert settings.upstream_url == "https://p.example"
    assert "hush" not in repr(settings)


def test_redis_settings_are_read_and_the_url_never_shown(tmp_path: Path) -> None:
    password = tmp_path / "redis-password"
    password.write_text("from-file\n")
    settings = Settings.from_env(
        {
            "SMSGW_REDIS_URL": "rediss://gw:hunter2@redis.example:6380/1",
            "SMSGW_REDIS_PASSWORD_FILE": str(password),
            "SMSGW_REDIS_KEY_PREFIX": "gw-eu",
            "SMSGW_REDIS_WAIT_REPLICAS": "1",
        }
    )
    assert settings.redis_url == "rediss://gw:hunter2@redis.example:6380/1"
    assert settings.redis_password_file == password
    assert (settings.redis_key_prefix, settings.redis_wait_replicas) == ("gw-eu", 1)
    assert "hunter2" not in repr(settings) and "redis.example" not in repr(settings)
    assert Settings.from_env({}).redis_url is None  # unset: the embedded SQLite store


def test_bad_redis_settings_are_named_without_echoing_the_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {
                "SMSGW_REDIS_URL": "http://gw:hunter2@redis.example:6379",
                "SMSGW_REDIS_PASSWORD_FILE": str(tmp_path / "missing"),
                "SMSGW_REDIS_KEY_PREFIX": "a{b}",
                "SMSGW_REDIS_WAIT_REPLICAS": "-1",
            }
        )
    text = str(caught.value)
    for name in (
        "SMSGW_REDIS_URL",
        "SMSGW_REDIS_PASSWORD_FILE",
        "SMSGW_REDIS_KEY_PREFIX",
        "SMSGW_REDIS_WAIT_REPLICAS",
    ):
        assert name in text
    assert "hunter2" not in text


def test_cli_reports_bad_config_with_exit_code_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "smsgateway", "check-config"],
        env={"SMSGW_GRPC_PORT": "x", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SMSGW_GRPC_PORT" in result.stderr


def test_generated_code_matches_the_proto() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
