"""Sends across three replicas on one Redis: one provider token for all of them, and one
provider call for a request_id sent to every replica at once."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import pytest
from ha_cluster import Cluster

from smsgateway.v1 import smsgateway_pb2 as pb


def send_request(i: int, request_id: str | None = None) -> pb.SendSmsRequest:
    return pb.SendSmsRequest(
        phone_numbers=[f"138{i:08d}"],
        sign="HA",
        content=f"hello {i}",
        kind=pb.SMS_KIND_NOTICE,
        request_id=request_id or uuid.uuid4().hex,
    )


@pytest.mark.slow
async def test_a_thousand_cold_sends_over_three_replicas_fetch_one_token(make_cluster) -> None:
    cluster: Cluster = await make_cluster()
    stubs = [g.stub for g in cluster.gateways]
    started = time.monotonic()
    results = await asyncio.gather(
        *(stubs[i % 3].SendSms(send_request(i), timeout=90) for i in range(1000)),
        return_exceptions=True,
    )
    elapsed = time.monotonic() - started
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, f"{len(failures)} sends failed, first: {failures[0]!r}"
    assert all(r.accepted_count == 1 for r in results)  # type: ignore[union-attr]

    state = await cluster.sandbox_state()
    print(
        f"\n1,000 cold sends over 3 replicas in {elapsed:.2f} s; "
        f"token requests {state['requests'].get('/api/token')}, "
        f"tokens issued {state['tokensIssued']}"
    )
    assert state["requests"].get("/api/token") == 1, state["requests"]
    assert state["tokensIssued"] == 1
    assert state["requests"].get("/sms/send") == 1000, state["requests"]


async def test_one_request_id_sent_to_every_replica_at_once_calls_the_provider_once(
    make_cluster,
) -> None:
    cluster: Cluster = await make_cluster()
    # Warm up each replica's channel and the shared token, so that the three duplicates
    # really arrive together.
    await asyncio.gather(
        *(g.stub.SendSms(send_request(900 + n), timeout=30) for n, g in enumerate(cluster.gateways))
    )
    before = (await cluster.sandbox_state())["requests"].get("/sms/send", 0)

    request = send_request(1, request_id=f"ha-dup-{uuid.uuid4().hex}")
    started = time.monotonic()
    results = await asyncio.gather(
        *(g.stub.SendSms(request, timeout=30) for g in cluster.gateways), return_exceptions=True
    )
    elapsed = time.monotonic() - started
    state = await cluster.sandbox_state()
    calls = state["requests"].get("/sms/send", 0) - before
    described = [
        f"{g.name}: {r.code().name} {r.details()}"
        if isinstance(r, grpc.aio.AioRpcError)
        else f"{g.name}: OK replayed={r.replayed} bizIds={[c.biz_id for c in r.calls]}"
        for g, r in zip(cluster.gateways, results, strict=True)
    ]
    print(f"\nsame request_id on A, B, C in {elapsed:.3f} s: {calls} provider call(s)")
    print("\n".join(described))
    assert calls == 1, described
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, described
    answers = [r for r in results if isinstance(r, pb.SendSmsResponse)]
    biz_ids = {tuple(c.biz_id for c in r.calls) for r in answers}
    assert len(biz_ids) == 1 and all(biz_ids.pop()), described
    assert sum(r.replayed for r in answers) == 2, described
