"""Fixtures for the event streams: a real grpc.aio server on 127.0.0.1:0 serving the
event RPCs through `EventsApi`, a real SQLite store in tmp_path, and a real
Ingestor that wakes the hub after each commit (as app.py wires them)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# Test modules import `events_stream_helpers` by name (unique across areas).
sys.path.insert(0, str(Path(__file__).parent))

from events_stream_helpers import EventsServer, ShiftableClock, config

from smsgateway.api.events_api import EventsApiConfig


@pytest.fixture
def server_config() -> EventsApiConfig:
    return config()


@pytest.fixture
async def events(tmp_path: Path, server_config: EventsApiConfig) -> AsyncIterator[EventsServer]:
    server = EventsServer(tmp_path / "events.db", server_config, ShiftableClock())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
