"""Pushes of reports and uplinks to a real receiver: batching, retries, acknowledgement."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from sandbox_helpers import SIGN, StartSandbox, fast_config

NUMBERS = [f"139{i:08d}" for i in range(7)]
ACK_REPORT = {"code": 10000, "msg": "操作成功"}  # as documented for reports (a number)
ACK_UPLINK = {"code": "10000", "msg": "请求成功"}  # as documented for uplinks (a string)


class Receiver:
    """Our side of the push: records every attempt, answers from a scripted plan."""

    def __init__(self) -> None:
        self.attempts: dict[str, list[Any]] = {"/reports": [], "/uplinks": []}
        self.plan: dict[str, list[web.Response]] = {"/reports": [], "/uplinks": []}
        self.url = ""
        self.attempted = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/json"
        self.attempts[request.path].append(json.loads(await request.text()))
        self.attempted.set()
        if self.plan[request.path]:
            return self.plan[request.path].pop(0)
        return web.json_response(ACK_REPORT if request.path == "/reports" else ACK_UPLINK)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/reports", self._handle)
        app.router.add_post("/uplinks", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    await recv.start()
    yield recv
    await recv.stop()


async def test_reports_pushed_in_batches_then_not_pulled(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    wire = await start_sandbox(
        fast_config(report_push_url=receiver.url + "/reports", push_batch_size=3)
    )
    _, body = await wire.send(phoneNumbers=",".join(NUMBERS))

    await wire.provider.wait_pushes_idle()

    batches = receiver.attempts["/reports"]
    assert all(1 <= len(batch) <= 3 for batch in batches)
    items = [item for batch in batches for item in batch]
    assert sorted(item["phoneNumber"] for item in items) == NUMBERS
    assert {item["bizId"] for item in items} == {body["bizId"]}
    assert all(item["code"] == "10000" and item["success"] is True for item in items)
    assert await wire.pull("/sms/deliver") == []  # pushed: not served by pull again
    assert wire.provider.state()["reportsPushed"] == 7


async def test_push_retried_until_acknowledged(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    receiver.plan["/reports"] = [
        web.Response(status=500, text="boom"),
        web.json_response({"code": "99", "msg": "try later"}),
        web.Response(status=200, text="ok"),  # not JSON
        web.json_response({"code": True}),
    ]
    wire = await start_sandbox(fast_config(report_push_url=receiver.url + "/reports"))
    await wire.send(phoneNumbers="13900000001,13900000002")

    await wire.provider.wait_pushes_idle()

    attempts = receiver.attempts["/reports"]
    assert len(attempts) == 5  # four refusals, then the acknowledged one
    phones = [sorted(item["phoneNumber"] for item in batch) for batch in attempts]
    assert phones == [["13900000001", "13900000002"]] * 5  # the same reports every time
    state = wire.provider.state()
    assert (state["reportPushFailures"], state["reportsPushed"]) == (4, 2)


async def test_push_to_an_unreachable_url_is_retried(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    wire = await start_sandbox(fast_config())
    await receiver.stop()  # nothing listens on this port any more
    dead_url = receiver.url + "/reports"
    await receiver.start()
    wire.provider.configure(report_push_url=dead_url)
    await wire.send(phoneNumbers="13900000001")
    async with asyncio.timeout(10):
        # Polls a counter of the sandbox (refused, retried, refused again).
        while wire.provider.state()["reportPushFailures"] < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    with pytest.raises(TimeoutError):
        await wire.provider.wait_pushes_idle(timeout=0.05)

    wire.provider.configure(report_push_url=receiver.url + "/reports")
    await wire.provider.wait_pushes_idle()
    [[item]] = receiver.attempts["/reports"]
    assert item["phoneNumber"] == "13900000001"


async def test_pulled_reports_are_still_pushed_and_pull_repeat_keeps_pushed_ones(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    wire = await start_sandbox(fast_config(report_delay_seconds=0, pull_repeat=True))
    await wire.send(phoneNumbers="13900000001")
    [pulled] = await wire.pull("/sms/deliver")
    wire.provider.configure(report_push_url=receiver.url + "/reports")

    await wire.provider.wait_pushes_idle()

    [[pushed]] = receiver.attempts["/reports"]
    assert pushed == pulled  # the same report by both routes: the client de-duplicates
    assert await wire.pull("/sms/deliver") == [pulled]


async def test_snake_case_push(start_sandbox: StartSandbox, receiver: Receiver) -> None:
    wire = await start_sandbox(
        fast_config(
            field_style="snake",
            code_as_number=True,
            report_push_url=receiver.url + "/reports",
            uplink_push_url=receiver.url + "/uplinks",
        )
    )
    await wire.send(phoneNumbers="13900000001")
    wire.provider.inject_uplink("13900000001", "TD", SIGN)
    await wire.provider.wait_pushes_idle()

    [[report]] = receiver.attempts["/reports"]
    assert set(report) >= {"phone_number", "biz_id", "sms_size", "report_time", "send_time"}
    assert report["code"] == 10000
    [[uplink]] = receiver.attempts["/uplinks"]
    assert set(uplink) == {"phone_number", "send_time", "content", "sign", "sequence_id"}


async def test_uplink_injected_over_admin_is_pushed(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    wire = await start_sandbox()
    status, _, _ = await wire.call(
        "POST", "/admin/config", json_body={"uplink_push_url": receiver.url + "/uplinks"}
    )
    assert status == 200
    receiver.plan["/uplinks"] = [web.json_response({"code": "10001", "msg": "no"})]
    _, stored, _ = await wire.call(
        "POST",
        "/admin/uplinks",
        json_body={"phoneNumber": "13900000001", "content": "退订", "sign": SIGN},
    )

    await wire.provider.wait_pushes_idle()

    assert receiver.attempts["/uplinks"] == [[stored], [stored]]  # refused once, then acked
    assert stored["content"] == "退订" and stored["sign"] == SIGN
    assert await wire.pull("/sms/smsUp", sign=SIGN) == []


async def test_stop_while_a_push_is_being_retried(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    receiver.plan["/reports"] = [web.Response(status=503)] * 1000
    wire = await start_sandbox(
        fast_config(report_push_url=receiver.url + "/reports", push_retry_seconds=10)
    )
    await wire.send(phoneNumbers="13900000001")
    await asyncio.wait_for(receiver.attempted.wait(), timeout=5)
    await asyncio.wait_for(wire.provider.stop(), timeout=5)  # does not wait out the retry
    await wire.provider.stop()  # idempotent
