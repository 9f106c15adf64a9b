"""Whole flows on the embedded default: send → sandbox report push → store → stream/status;
uplink opt-out → suppression → marketing send; SIGKILL after a push was answered."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import grpc

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc
from testkit.ports import free_port


async def first(stream, n: int, within: float = 15.0) -> list:
    out = []

    async def take() -> None:
        async for item in stream:
            out.append(item)
            if len(out) == n:
                return

    await asyncio.wait_for(take(), within)
    stream.cancel()
    return out


async def test_reports_of_a_send_reach_subscribers_and_status(gateway) -> None:
    gateway.sandbox.configure(report_outcomes={"10000": 0.5, "4": 0.5})
    response = await gateway.stub.SendSms(
        pb.SendSmsRequest(
            phone_numbers=["13800000001", "13800000002", "13800000003"],
            sign="Demo",
            content="hello",
            kind=pb.SMS_KIND_NOTICE,
        )
    )
    biz_id = response.calls[0].biz_id
    stream = gateway.stub.StreamDeliveryReports(
        pb.StreamDeliveryReportsRequest(
            start=pb.StreamStart(position=pb.START_POSITION_EARLIEST),
            filter=pb.DeliveryReportFilter(biz_ids=[biz_id]),
        )
    )
    reports = [r.report for r in await first(stream, 3)]
    assert sorted(r.phone_number for r in reports) == ["13800000001", "13800000002", "13800000003"]
    assert all(r.biz_id == biz_id and r.source == pb.INGEST_SOURCE_PUSH for r in reports)
    assert [r.cursor for r in reports] == sorted(r.cursor for r in reports)

    status = await gateway.stub.GetSendStatus(pb.GetSendStatusRequest(biz_id=biz_id))
    assert status.total_count == 3 and status.pending_count == 0
    assert status.delivered_count + status.failed_count == 3
    by_number = {r.phone_number: r.status for r in status.recipients}
    for report in reports:
        assert by_number[report.phone_number] == report.status


async def test_opt_out_uplink_suppresses_marketing_only(gateway) -> None:
    gateway.sandbox.inject_uplink("13800000001", " td ", sign="Demo")
    for _ in range(100):
        listed = await gateway.stub.ListSuppressions(pb.ListSuppressionsRequest(sign="Demo"))
        if listed.suppressions:
            break
        await asyncio.sleep(0.05)
    assert [s.phone_number for s in listed.suppressions] == ["13800000001"]

    both = ["13800000001", "13800000002"]
    marketing = await gateway.stub.SendSms(
        pb.SendSmsRequest(
            phone_numbers=both, sign="Demo", content="sale", kind=pb.SMS_KIND_MARKETING
        )
    )
    assert list(marketing.suppressed_phone_numbers) == ["13800000001"]
    assert [list(c.phone_numbers) for c in marketing.calls] == [["13800000002"]]
    assert marketing.recipient_count == 2 and marketing.accepted_count == 1

    notice = await gateway.stub.SendSms(
        pb.SendSmsRequest(phone_numbers=both, sign="Demo", content="info", kind=pb.SMS_KIND_NOTICE)
    )
    assert list(notice.calls[0].phone_numbers) == both

    uplinks = gateway.stub.StreamUplinks(
        pb.StreamUplinksRequest(start=pb.StreamStart(position=pb.START_POSITION_EARLIEST))
    )
    (uplink,) = [u.uplink for u in await first(uplinks, 1)]
    assert uplink.opt_out and uplink.sign == "Demo" and uplink.phone_number == "13800000001"


def start_server(data_dir: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SMSGW_BIND_HOST": "127.0.0.1",
        "SMSGW_GRPC_PORT": str(ports["grpc"]),
        "SMSGW_HTTP_PORT": str(ports["http"]),
        "SMSGW_METRICS_PORT": str(ports["metrics"]),
        "SMSGW_SANDBOX_PORT": str(ports["sandbox"]),
        "SMSGW_DATA_DIR": str(data_dir),
        "SMSGW_BALANCE_REFRESH_SECONDS": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "smsgateway", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_http(url: str) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, f"{url} did not come up"
            await asyncio.sleep(0.1)


def report_item(i: int) -> dict[str, object]:
    return {
        "phoneNumber": f"139{i:08d}",
        "sendTime": "2026-11-25 10:00:00",
        "reportTime": "2026-11-25 10:00:05",
        "success": True,
        "code": "10000",
        "message": "ok",
        "smsSize": "1",
        "bizId": "39036632588910887018",
    }


async def test_sigkill_right_after_answering_a_push_loses_nothing(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("grpc", "http", "metrics", "sandbox")}
    data_dir = tmp_path / "data"
    proc = start_server(data_dir, ports)
    callback = f"http://127.0.0.1:{ports['http']}/callbacks/delivery-reports"
    answered: list[int] = []
    try:
        await wait_http(f"http://127.0.0.1:{ports['http']}/healthz")
        async with aiohttp.ClientSession() as http:
            for batch in range(5):
                items = [report_item(batch * 100 + i) for i in range(100)]
                async with http.post(callback, json=items) as resp:
                    body = await resp.json()
                assert resp.status == 200 and body == {"code": 10000, "msg": "操作成功"}
                answered += [batch * 100 + i for i in range(100)]
        proc.send_signal(signal.SIGKILL)  # no chance to flush anything
        proc.wait(timeout=10)

        proc = start_server(data_dir, ports)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{ports['grpc']}") as channel:
            stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)
            stream = stub.StreamDeliveryReports(
                pb.StreamDeliveryReportsRequest(
                    start=pb.StreamStart(position=pb.START_POSITION_EARLIEST)
                ),
                wait_for_ready=True,
            )
            got = [r.report.phone_number for r in await first(stream, len(answered), 30)]
        assert got == [f"139{i:08d}" for i in answered]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
