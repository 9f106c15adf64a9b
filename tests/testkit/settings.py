"""Settings of a test gateway."""

from __future__ import annotations

from pathlib import Path

from smsgateway.config import Settings


def gateway_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test gateway: loopback, free ports, the in-process sandbox."""
    values: dict[str, object] = {
        "bind_host": "127.0.0.1",
        "grpc_port": 0,
        "http_port": 0,
        "metrics_port": 0,
        "sandbox_port": 0,
        "data_dir": data_dir,
        "shutdown_grace_seconds": 1.0,
        "balance_refresh_seconds": 0.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
