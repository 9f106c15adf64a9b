"""Fixtures: a sandbox on a real port and a thin aiohttp client for its wire protocol."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

# Test modules import `sandbox_helpers` by name (a unique name: no clash with other areas).
sys.path.insert(0, str(Path(__file__).parent))

from sandbox_helpers import StartSandbox, Wire, fast_config

from smsgateway.sandbox import SandboxConfig, SandboxProvider


@pytest.fixture
async def start_sandbox() -> AsyncIterator[StartSandbox]:
    """Factory: start_sandbox(config=None, clock=None) -> Wire; everything stops at teardown."""
    providers: list[SandboxProvider] = []
    session = aiohttp.ClientSession()

    async def start(
        config: SandboxConfig | None = None, clock: Callable[[], float] | None = None
    ) -> Wire:
        cfg = config or fast_config()
        provider = SandboxProvider(cfg) if clock is None else SandboxProvider(cfg, clock=clock)
        providers.append(provider)
        await provider.start()
        return Wire(session, provider)

    yield start
    for provider in providers:
        await provider.stop()
    await session.close()


@pytest.fixture
async def wire(start_sandbox: StartSandbox) -> Wire:
    return await start_sandbox()
