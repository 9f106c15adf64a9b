"""The Node example (clients/node/send_sms.js) run with node against the fake gateway."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import grpc
import pytest

from smsgateway.v1 import smsgateway_pb2 as pb

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "clients" / "node" / "send_sms.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (ROOT / "node_modules" / "@grpc" / "grpc-js").is_dir(),
    reason="node or node_modules (npm install) missing",
)


async def run_node(*args: str) -> tuple[int, str, str]:
    assert NODE is not None
    proc = await asyncio.create_subprocess_exec(
        NODE,
        str(EXAMPLE),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_node_example_sends_and_prints_the_response(gateway):
    code, out, err = await run_node(
        "--target", gateway.target, "--to", "13800000000,13800000001", "--to", "13800000002",
        "--sign", "Acme", "--content", "Hello from Node", "--kind", "marketing",
    )  # fmt: skip
    assert code == 0, err
    (request,) = gateway.fake.of("SendSms")
    assert list(request.phone_numbers) == ["13800000000", "13800000001", "13800000002"]
    assert request.kind == pb.SMS_KIND_MARKETING and request.content == "Hello from Node"
    assert len(request.request_id) == 36  # a UUID per send
    response = json.loads(out)
    assert response["acceptedCount"] == 3 and response["requestId"] == request.request_id
    assert response["calls"][0]["outcome"] == "CALL_OUTCOME_ACCEPTED"


async def test_node_example_prints_violations_and_the_partial_send(gateway, status_factory):
    gateway.fake.script["SendSms"] = [
        status_factory(
            grpc.StatusCode.INVALID_ARGUMENT,
            "invalid request: 1 violation(s) in phone_numbers",
            reason="INVALID_ARGUMENT",
            violations=[("phone_numbers[0]", "'12' is not a valid phone number")],
        ),
        status_factory(
            grpc.StatusCode.UNAVAILABLE,
            "provider unreachable",
            reason="UPSTREAM_UNREACHABLE",
            metadata={"endpoint": "/sms/send"},
            retry_delay=1.0,
            extra=[pb.SendSmsResponse(request_id="r-1", accepted_count=1)],
        ),
    ]
    code, out, err = await run_node(
        "--target", gateway.target, "--to", "12", "--sign", "Acme", "--content", "x"
    )
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: INVALID_ARGUMENT: invalid request: 1 violation(s) in phone_numbers "
        "[INVALID_ARGUMENT]",
        "  - phone_numbers[0]: '12' is not a valid phone number",
    ]

    code, out, err = await run_node(
        "--target", gateway.target, "--to", "13800000000", "--sign", "Acme", "--content", "x"
    )
    lines = err.splitlines()
    assert code == 1
    assert lines[0] == "error: UNAVAILABLE: provider unreachable [UPSTREAM_UNREACHABLE]"
    assert "  endpoint: /sms/send" in lines and "  retry after 1s" in lines
    partial = json.loads(lines[-1].removeprefix("  partial send: "))
    assert partial["requestId"] == "r-1" and partial["acceptedCount"] == 1


async def test_node_example_usage_error():
    code, _, err = await run_node("--sign", "Acme", "--content", "x")
    assert code == 2 and "--to is required" in err
