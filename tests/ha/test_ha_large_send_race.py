"""A send of many provider calls, its request_id sent again to the other replicas while the
first one is still sending: every call goes out exactly once, and every answer is the same.

Each replica runs one provider call at a time (SMSGW_MAX_CONCURRENT_CALLS=1) and the
sandbox answers /sms/send slowly. The duplicates arrive on B and C while A has its second
call in flight (only A's first call was recorded "in flight" with the claim), wait the
longest a duplicate waits for calls in flight, and then, A still sending, find calls not
sent yet: A is about to send them too, and each must be sent by exactly one replica. (A
duplicate that polls the record between two of A's calls, with nothing in flight, joins
earlier; the same holds then.)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import grpc
import pytest
from ha_cluster import APP_ID, Cluster, wait_for

from smsgateway.messaging.batching import plan_batches
from smsgateway.sending.service import _IN_FLIGHT_WAIT_SECONDS
from smsgateway.v1 import smsgateway_pb2 as pb

CALLS = 12
"""Provider calls of the send: more than the 8 a claim records "in flight"."""
LATENCY_S = 2.0
"""Added by the sandbox to every /sms/send: A is still sending when the duplicates stop
waiting for its calls in flight."""


async def _sandbox(cluster: Cluster, method: str, path: str, **kwargs: Any) -> Any:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        http.request(method, f"{cluster.sandbox_url}{path}", **kwargs) as reply,
    ):
        assert reply.status == 200, await reply.text()
        return await reply.json(content_type=None)


async def _pull_reports(cluster: Cluster, expected: int) -> list[dict[str, Any]]:
    """Pull delivery reports from the sandbox (as the provider's client would) until
    `expected` arrived and one more pull brings nothing new."""
    token = (
        await _sandbox(
            cluster,
            "GET",
            "/api/token",
            params={"appId": APP_ID, "secret": cluster._secret},  # the test's own secret
        )
    )["token"]
    reports: list[dict[str, Any]] = []

    async def pulled_all() -> bool:
        page = await _sandbox(cluster, "GET", "/sms/deliver", params={"token": token})
        reports.extend(page)
        return len(reports) >= expected and not page

    await wait_for(f"{expected} delivery reports", pulled_all, within=30, interval=0.2)
    return reports


@pytest.mark.slow
async def test_a_large_send_duplicated_on_other_replicas_sends_each_call_once(
    make_cluster: Callable[..., Awaitable[Cluster]],
) -> None:
    assert CALLS * LATENCY_S > _IN_FLIGHT_WAIT_SECONDS + 3 * LATENCY_S
    cluster: Cluster = await make_cluster(env={"SMSGW_MAX_CONCURRENT_CALLS": "1"})
    a, b, c = cluster.gateways
    # Warm up each replica's channel and the shared token.
    for n, gateway in enumerate(cluster.gateways):
        warm = pb.SendSmsRequest(
            phone_numbers=[f"1370000{n:04d}"], sign="HA", content="warm", kind=pb.SMS_KIND_NOTICE
        )
        await gateway.stub.SendSms(warm, timeout=30)
    await _sandbox(
        cluster,
        "POST",
        "/admin/faults",
        json={"latency_seconds": LATENCY_S, "paths": ["/sms/send"]},
    )
    before = await cluster.sandbox_state()

    numbers = [f"139{i:08d}" for i in range(125 * CALLS)]
    assert len(plan_batches(numbers)) == CALLS
    request = pb.SendSmsRequest(
        phone_numbers=numbers,
        sign="HA",
        content="big",
        kind=pb.SMS_KIND_NOTICE,
        request_id=f"ha-big-{uuid.uuid4().hex}",
    )
    started = time.monotonic()
    first = asyncio.ensure_future(a.stub.SendSms(request, timeout=60))

    async def a_is_sending() -> bool:
        state = await cluster.sandbox_state()
        return bool(state["requests"].get("/sms/send", 0) - before["requests"]["/sms/send"] >= 2)

    # A has its second call out; ten are still to go.
    await wait_for("A sends its second call", a_is_sending, within=30, context=cluster.context)
    duplicates = [g.stub.SendSms(request, timeout=60) for g in (b, c)]
    results = await asyncio.gather(first, *duplicates, return_exceptions=True)
    elapsed = time.monotonic() - started

    described = [
        f"{g.name}: OK replayed={r.replayed} bizIds={[x.biz_id for x in r.calls]}"
        if isinstance(r, pb.SendSmsResponse)
        else f"{g.name}: {r.code().name} {r.details()}"
        if isinstance(r, grpc.aio.AioRpcError)
        else f"{g.name}: {r!r}"
        for g, r in zip(cluster.gateways, results, strict=True)
    ]
    state = await cluster.sandbox_state()
    sent = state["requests"]["/sms/send"] - before["requests"]["/sms/send"]
    print(f"\n{CALLS} calls, duplicates on B and C: {sent} provider calls in {elapsed:.2f} s")
    print("\n".join(described))
    assert sent == CALLS, described  # before the fix: 18, three calls sent by B and C again
    # The first send succeeds. A duplicate whose wait for calls in flight elsewhere ran out
    # may answer UNKNOWN ("in flight": it did not learn the outcome), never anything else,
    # and never by sending a call itself (checked above and below).
    assert isinstance(results[0], pb.SendSmsResponse), f"{described}\n{cluster.context()}"
    for r in results[1:]:
        if isinstance(r, BaseException):
            assert isinstance(r, grpc.aio.AioRpcError), described
            assert r.code() == grpc.StatusCode.UNKNOWN, described
            assert "in flight" in (r.details() or ""), described
    assert state["batches"] - before["batches"] == CALLS, described

    answers = [r for r in results if isinstance(r, pb.SendSmsResponse)]
    biz_ids = {tuple(call.biz_id for call in r.calls) for r in answers}
    assert len(biz_ids) == 1, described
    (call_ids,) = biz_ids
    assert len(set(call_ids)) == CALLS and all(call_ids), described
    assert all(r.accepted_count == len(numbers) for r in answers), described

    # Every recipient got exactly one message, from the call that the answers name.
    reports = [
        r
        for r in await _pull_reports(cluster, len(numbers) + len(cluster.gateways))
        if r["phoneNumber"].startswith("139")
    ]
    per_number = Counter(r["phoneNumber"] for r in reports)
    assert set(per_number) == set(numbers)
    assert set(per_number.values()) == {1}
    call_of = {n: call.biz_id for call in answers[0].calls for n in call.phone_numbers}
    assert all(r["bizId"] == call_of[r["phoneNumber"]] for r in reports)
