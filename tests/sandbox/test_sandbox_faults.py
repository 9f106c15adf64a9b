"""Fault knobs: latency, error code, HTTP 5xx, malformed body, dropped connection."""

from __future__ import annotations

import json

import aiohttp
import pytest
from sandbox_helpers import StartSandbox, Wire, fast_config

NUMBER = "13900000001"


async def test_latency(wire: Wire) -> None:
    token = await wire.token()
    wire.provider.set_faults(latency_seconds=0.5, paths={"/sms/balance"})
    with pytest.raises(TimeoutError):
        async with wire.session.get(
            wire.url + "/sms/balance",
            params={"token": token},
            timeout=aiohttp.ClientTimeout(total=0.05),
        ):
            pass
    await wire.token()  # other paths are not delayed
    wire.provider.clear_faults()
    status, body, _ = await wire.call("GET", "/sms/balance", params={"token": token})
    assert (status, body["code"]) == (200, "10000")


async def test_error_rate_answers_the_error_code_without_doing_the_work(wire: Wire) -> None:
    token = await wire.token()
    wire.provider.set_faults(error_rate=1.0, error_code="10099", paths={"/sms/send"})
    status, body = await wire.send(token=token, phoneNumbers=NUMBER)
    assert (status, body["code"]) == (200, "10099")
    assert wire.provider.batches == []
    assert await wire.token() == token  # /api/token not affected
    assert wire.provider.requests["/sms/send"] == 1  # failed requests are counted


async def test_http_5xx(wire: Wire) -> None:
    token = await wire.token()
    wire.provider.set_faults(http_5xx_rate=1.0)
    status, body = await wire.send(token=token, phoneNumbers=NUMBER)
    assert status == 503 and body is None  # an HTML page, not the provider's JSON
    wire.provider.set_faults(http_5xx_rate=1.0, http_5xx_status=502)
    status, _, _ = await wire.call("GET", "/sms/balance", params={"token": token})
    assert status == 502
    assert wire.provider.batches == []


async def test_malformed_body_after_doing_the_work(wire: Wire) -> None:
    token = await wire.token()
    wire.provider.set_faults(malformed_rate=1.0, paths={"/sms/send", "/sms/deliver"})
    status, body, text = await wire.call(
        "POST",
        "/sms/send",
        data={
            "token": token,
            "phoneNumbers": NUMBER,
            "sign": "圆通快递",
            "kind": "2",
            "content": "【圆通快递】hi",
        },
    )
    assert status == 200 and body is None
    with pytest.raises(ValueError):
        json.loads(text)
    assert len(wire.provider.batches) == 1  # accepted although the answer is garbage
    status, body, text = await wire.call("GET", "/sms/deliver", params={"token": token})
    assert status == 200 and body is None and text == "["


async def test_drop_before_processing(wire: Wire) -> None:
    token = await wire.token()
    wire.provider.set_faults(drop_rate=1.0, paths={"/sms/send"})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await wire.send(token=token, phoneNumbers=NUMBER)
    assert wire.provider.batches == []
    assert wire.provider.requests["/sms/send"] == 1


async def test_drop_after_processing_leaves_the_outcome_unknown(wire: Wire) -> None:
    token = await wire.token()
    wire.provider.set_faults(drop_rate=1.0, drop_after_processing=True, paths={"/sms/send"})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await wire.send(token=token, phoneNumbers=NUMBER)
    assert len(wire.provider.batches) == 1  # the client cannot know it was accepted


async def test_partial_rates_are_reproducible_with_a_seed(start_sandbox: StartSandbox) -> None:
    runs = []
    for _ in range(2):
        wire = await start_sandbox(fast_config(seed=11))
        token = await wire.token()
        wire.provider.set_faults(error_rate=0.5, paths={"/sms/balance"})
        codes = []
        for _ in range(20):
            _, body, _ = await wire.call("GET", "/sms/balance", params={"token": token})
            codes.append(body["code"])
        runs.append(codes)
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"10000", "10500"}


async def test_faults_over_the_admin_api(wire: Wire) -> None:
    token = await wire.token()
    status, body, _ = await wire.call(
        "POST", "/admin/faults", json_body={"error_rate": 1, "paths": ["/sms/balance"]}
    )
    assert status == 200 and body["faults"]["paths"] == ["/sms/balance"]
    _, body, _ = await wire.call("GET", "/sms/balance", params={"token": token})
    assert body["code"] == "10500"
    _, state, _ = await wire.call("GET", "/admin/state")  # admin paths never faulted
    assert state["faults"]["error_rate"] == 1.0

    status, _, _ = await wire.call("POST", "/admin/faults", json_body={})
    assert status == 200
    _, body, _ = await wire.call("GET", "/sms/balance", params={"token": token})
    assert body["code"] == "10000"


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"nonsense": 1},
        {"http_5xx_status": 404},
        {"paths": ["/send"]},
        {"error_code": ""},
        {"drop_after_processing": 1},
        {"latency_seconds": "1"},
    ],
)
async def test_bad_fault_settings_are_refused(wire: Wire, body: dict[str, object]) -> None:
    status, answer, _ = await wire.call("POST", "/admin/faults", json_body=body)
    assert status == 400 and answer["error"]
    assert wire.provider.faults.error_rate == 0.0
