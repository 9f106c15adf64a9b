"""Shared fixtures: a whole gateway (real gRPC server, in-process sandbox over HTTP, SQLite)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from smsgateway.sandbox import SandboxConfig, SandboxProvider
from smsgateway.v1 import smsgateway_pb2_grpc
from testkit.redis_server import RedisServer
from testkit.settings import gateway_settings

if TYPE_CHECKING:
    from smsgateway.app import App


@dataclass
class Gateway:
    """A running gateway and what a test needs to drive it."""

    app: App
    channel: grpc.aio.Channel
    stub: smsgateway_pb2_grpc.SmsGatewayStub
    sandbox: SandboxProvider

    @property
    def target(self) -> str:
        assert self.app.ports is not None
        return f"127.0.0.1:{self.app.ports.grpc}"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Override in a test module to shape the sandbox."""
    return SandboxConfig(report_delay_seconds=0.05, seed=7)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to change the gateway's settings."""
    return {}


@pytest.fixture
async def gateway(
    tmp_path: Path, sandbox_config: SandboxConfig, settings_overrides: dict[str, object]
) -> AsyncIterator[Gateway]:
    from smsgateway.app import App  # imported here: only these tests need the whole app

    app = App(
        gateway_settings(tmp_path / "data", **settings_overrides), sandbox_config=sandbox_config
    )
    ports = await app.start()
    assert app.sandbox is not None
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{ports.grpc}")
    try:
        yield Gateway(app, channel, smsgateway_pb2_grpc.SmsGatewayStub(channel), app.sandbox)
    finally:
        await channel.close()
        await app.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the whole session (tests isolate themselves by key prefix)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix of this test's own, so that tests sharing a Redis never see each other."""
    return f"t{uuid.uuid4().hex[:12]}"
