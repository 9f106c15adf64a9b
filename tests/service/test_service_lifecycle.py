"""Health, reflection (and `buf curl` through it), and graceful shutdown of `smsgateway serve`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc
from testkit.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "node_modules" / ".bin" / "buf"


async def test_health_serving(gateway) -> None:
    stub = health_pb2_grpc.HealthStub(gateway.channel)
    for service in ("", "smsgateway.v1.SmsGateway"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_service(gateway) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(gateway.channel)
    call = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = set()
    async for reply in call:
        names |= {s.name for s in reply.list_services_response.service}
    assert {"smsgateway.v1.SmsGateway", "grpc.health.v1.Health"} <= names


@pytest.mark.skipif(not BUF.exists(), reason="buf is installed by `make setup` (npm)")
async def test_buf_curl_lists_and_calls_through_reflection(gateway) -> None:
    url = f"http://{gateway.target}"
    listed = await asyncio.to_thread(
        subprocess.run,
        [str(BUF), "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "smsgateway.v1.SmsGateway/SendSms" in listed.stdout
    body = json.dumps(
        {
            "phoneNumbers": ["13651688564"],
            "sign": "Demo",
            "content": "hi",
            "kind": "SMS_KIND_NOTICE",
        }
    )
    called = await asyncio.to_thread(
        subprocess.run,
        [
            str(BUF),
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "-d",
            body,
            f"{url}/smsgateway.v1.SmsGateway/SendSms",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert called.returncode == 0, called.stderr
    reply = json.loads(called.stdout)
    assert reply["calls"][0]["outcome"] == "CALL_OUTCOME_ACCEPTED"
    assert len(reply["calls"][0]["bizId"]) == 20


def test_sigterm_drains_in_flight_calls_then_exits(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("grpc", "http", "metrics", "sandbox")}
    env = {
        **os.environ,
        "SMSGW_BIND_HOST": "127.0.0.1",
        "SMSGW_GRPC_PORT": str(ports["grpc"]),
        "SMSGW_HTTP_PORT": str(ports["http"]),
        "SMSGW_METRICS_PORT": str(ports["metrics"]),
        "SMSGW_SANDBOX_PORT": str(ports["sandbox"]),
        "SMSGW_DATA_DIR": str(tmp_path / "data"),
        "SMSGW_SHUTDOWN_GRACE_SECONDS": "10",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsgateway", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        asyncio.run(_drain_scenario(ports, proc))
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate()
    # Logs are JSON lines; the drain is announced.
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(line["message"] == "shutting down" for line in lines), err


async def _drain_scenario(ports: dict[str, int], proc: subprocess.Popen[str]) -> None:
    import aiohttp

    target = f"127.0.0.1:{ports['grpc']}"
    async with grpc.aio.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 30
        while True:
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.aio.AioRpcError:
                pass
            assert time.monotonic() < deadline, "server did not become SERVING"
            assert proc.poll() is None, "server exited early"
            await asyncio.sleep(0.2)

        async with aiohttp.ClientSession() as http:
            faults = {"latency_seconds": 1.5, "paths": ["/sms/send"]}
            admin = f"http://127.0.0.1:{ports['sandbox']}/admin/faults"
            async with http.post(admin, json=faults) as resp:
                assert resp.status == 200

        stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)
        in_flight = asyncio.ensure_future(
            stub.SendSms(
                pb.SendSmsRequest(
                    phone_numbers=["13651688564"],
                    sign="Demo",
                    content="drain me",
                    kind=pb.SMS_KIND_NOTICE,
                ),
                timeout=15,
            )
        )
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        # Draining: no new calls are taken (Kubernetes already routes elsewhere:
        # the pod is NOT_SERVING and its preStop delay has passed) ...
        async with grpc.aio.insecure_channel(target) as fresh:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await health_pb2_grpc.HealthStub(fresh).Check(
                    health_pb2.HealthCheckRequest(), timeout=1
                )
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        # ... but the call in flight completes.
        response = await in_flight
        assert response.calls[0].outcome == pb.CALL_OUTCOME_ACCEPTED
