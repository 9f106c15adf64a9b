"""Callers, keys and a secured gateway for the security tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smsgateway.security.keys import new_key
from testkit.callers import CALLERS, callers_yaml
from testkit.secure_gateway import SecureGateway, secure_settings, start_secure_gateway


@pytest.fixture
def keys() -> dict[str, str]:
    """A fresh key per caller of `CALLERS`."""
    return {name: new_key() for name in CALLERS}


@pytest.fixture
def callers_file(tmp_path: Path, keys: dict[str, str]) -> Path:
    path = tmp_path / "callers.yaml"
    path.write_text(callers_yaml(keys), encoding="utf-8")
    return path


@pytest.fixture
def gateway_overrides() -> dict[str, object]:
    """Override in a module to change the secured gateway's settings."""
    return {}


@pytest.fixture
async def secure_gw(
    tmp_path: Path, callers_file: Path, gateway_overrides: dict[str, object]
) -> AsyncIterator[SecureGateway]:
    settings = secure_settings(tmp_path / "data", callers_file=callers_file, **gateway_overrides)
    gateway = await start_secure_gateway(settings)
    try:
        yield gateway
    finally:
        await gateway.stop()
