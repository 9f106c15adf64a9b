"""The store's health is the service's health (embedded SQLite backend).

A deleted or corrupt store file must never be answered with success: pushes get
503 (the provider retries), gRPC health goes NOT_SERVING, and a full disk gives
sends UNAVAILABLE with a clear message. The Redis backend has its own outage tests.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from smsgateway.v1 import smsgateway_pb2 as pb

REPORT = [
    {
        "phoneNumber": "13900000001",
        "code": "10000",
        "msg": "DELIVRD",
        "smsSize": 1,
        "sendTime": "2026-12-01 10:00:00",
        "reportTime": "2026-12-01 10:00:05",
        "bizId": "B1",
    }
]


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"store_check_seconds": 0.1}


async def _health(gateway) -> int:  # type: ignore[no-untyped-def]
    reply = await health_pb2_grpc.HealthStub(gateway.channel).Check(
        health_pb2.HealthCheckRequest(service="smsgateway.v1.SmsGateway"), timeout=5
    )
    return int(reply.status)


async def _wait_health(gateway, status: int) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(10):
        while await _health(gateway) != status:  # noqa: ASYNC110 (polling a remote status)
            await asyncio.sleep(0.05)


async def _push(gateway, body: object) -> int:  # type: ignore[no-untyped-def]
    port = gateway.app.ports.http
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/callbacks/delivery-reports",
            data=json.dumps(body),
            timeout=aiohttp.ClientTimeout(total=10),
        ) as resp,
    ):
        return resp.status


async def test_deleted_store_files_stop_acknowledging_and_serving(gateway, tmp_path: Path) -> None:
    assert await _push(gateway, REPORT) == 200
    assert await _health(gateway) == health_pb2.HealthCheckResponse.SERVING
    for name in os.listdir(tmp_path / "data"):
        if name.startswith("events.db"):
            os.unlink(tmp_path / "data" / name)
    # A push after the deletion is never answered with success ...
    assert await _push(gateway, [dict(REPORT[0], bizId="B2")]) == 503
    # ... and health follows the store.
    await _wait_health(gateway, health_pb2.HealthCheckResponse.NOT_SERVING)


async def test_a_replaced_corrupt_file_is_not_serving(gateway, tmp_path: Path) -> None:
    db = tmp_path / "data" / "events.db"
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"this is not a database" * 1000)
    os.replace(garbage, db)
    await _wait_health(gateway, health_pb2.HealthCheckResponse.NOT_SERVING)
    assert await _push(gateway, REPORT) == 503
    # The HTTP probe (used when the gRPC port speaks TLS) says the same.
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{gateway.app.ports.http}/healthz") as resp,
    ):
        assert resp.status == 503


async def test_a_full_disk_gives_sends_unavailable_with_a_clear_message(gateway) -> None:
    backend = gateway.app.backend
    assert backend is not None
    # SQLITE_FULL, as a full disk gives it: cap the idempotency file at its current size.
    idem = backend.idempotency._writer  # type: ignore[attr-defined]
    await idem.run(
        lambda conn: conn.execute(
            "PRAGMA max_page_count = " + str(conn.execute("PRAGMA page_count").fetchone()[0])
        )
    )
    request = pb.SendSmsRequest(
        phone_numbers=[f"138{i:08d}" for i in range(2000)],
        sign="圆通快递",
        content="你的快件56682551825已签收，谢谢使用",
        request_id="full-disk-1",
        kind=pb.SMS_KIND_NOTICE,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendSms(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "disk" in (caught.value.details() or "")
