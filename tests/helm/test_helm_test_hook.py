"""The chart's `helm test` pod really checks grpc.health.v1 and fails when the service is down.

The pod's command is taken from the rendered chart and run here, with this interpreter (the
image carries the same grpcio), against a real grpc.aio health server.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


@pytest.fixture
async def health_server() -> AsyncIterator[tuple[str, health.aio.HealthServicer]]:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        await server.stop(None)


def _hook_command(render: Any) -> list[str]:
    pod = render({"auth": {"allowUnauthenticated": True}}).one("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    command: list[str] = container["command"]
    assert command[:2] == ["python", "-c"]
    assert command[3] == "smsgw-smsgateway:50051"  # the Service's gRPC port
    return command


async def _run(command: list[str], target: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *command[1:3],
        target,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_hook_passes_when_serving(
    render: Any, health_server: tuple[str, health.aio.HealthServicer]
) -> None:
    target, servicer = health_server
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    code, output = await _run(_hook_command(render), target)
    assert code == 0, output
    assert f"{target}: SERVING" in output


async def test_hook_fails_when_not_serving(
    render: Any, health_server: tuple[str, health.aio.HealthServicer]
) -> None:
    target, servicer = health_server
    await servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    code, output = await _run(_hook_command(render), target)
    assert code == 1, output
    assert "NOT_SERVING" in output


async def test_hook_fails_when_nothing_listens(render: Any) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    code, output = await _run(_hook_command(render), f"127.0.0.1:{dead_port}")
    assert code != 0
    assert "UNAVAILABLE" in output
