"""Failures of the shared parts: the poller's leader SIGKILLed (another replica takes over
within two leases, nothing lost or stored twice), and Redis SIGKILLed and restarted with
AOF `appendfsync always` (nothing acknowledged lost, nothing acknowledged during the
outage, every replica recovers by itself)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import grpc
import pytest
from ha_cluster import (
    NOT_SERVING,
    REPORT_PATH,
    SERVING,
    Cluster,
    Gateway,
    list_reports,
    report_item,
)

from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.rich_status import details_of

LEASE_S = 2.0
CHECK_S = 0.5
OK_BODY = {"code": 10000, "msg": "操作成功"}


def send_request(phone: int, request_id: str | None = None) -> pb.SendSmsRequest:
    return pb.SendSmsRequest(
        phone_numbers=[f"137{phone:08d}"],
        sign="HA",
        content=f"poll {phone}",
        kind=pb.SMS_KIND_NOTICE,
        request_id=request_id or uuid.uuid4().hex,
    )


async def _one_leader(cluster: Cluster, within: float) -> tuple[Gateway, float]:
    started = time.monotonic()
    while True:
        leaders = await cluster.leaders()
        if len(leaders) == 1:
            return leaders[0], time.monotonic() - started
        assert time.monotonic() - started < within, (
            f"{len(leaders)} leaders after {within} s\n{cluster.context()}"
        )
        await asyncio.sleep(0.05)


async def _listed(cluster: Cluster, biz_ids: set[str], within: float) -> list[pb.DeliveryReport]:
    """Wait until every bizId has its report (reading through a live replica)."""
    live = next(g for g in cluster.gateways if g.process.alive)
    deadline = time.monotonic() + within
    while True:
        stored = await list_reports(live.stub)
        missing = biz_ids - {r.biz_id for r in stored}
        if not missing:
            return stored
        assert time.monotonic() < deadline, f"{len(missing)} bizIds without a report"
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_the_pollers_leader_killed_another_polls_within_two_leases(make_cluster) -> None:
    # No push URL: reports arrive only by polling. `--pull-repeat`: every pull hands out
    # every report again, so a leader killed mid-pull loses nothing and duplicates
    # must be recognised across replicas.
    cluster: Cluster = await make_cluster(
        env={
            "SMSGW_LEADER_LEASE_SECONDS": str(LEASE_S),
            "SMSGW_POLL_ENABLED": "true",
            "SMSGW_POLL_SIGN": "HA",
            "SMSGW_POLL_INTERVAL_SECONDS": "0.25",
        },
        sandbox_args=("--pull-repeat",),
    )
    leader, _ = await _one_leader(cluster, 3 * LEASE_S)
    others = [g for g in cluster.gateways if g is not leader]
    sent: set[str] = set()

    async def send_batch(first: int) -> None:
        answers = await asyncio.gather(
            *(others[i % 2].stub.SendSms(send_request(first + i), timeout=30) for i in range(20))
        )
        sent.update(a.calls[0].biz_id for a in answers)

    await send_batch(0)
    await _listed(cluster, sent, 15)

    leader.process.kill()
    killed = time.monotonic()
    await asyncio.sleep(0.2)  # a pull the dead leader had sent is counted by now
    pulls_before = (await cluster.sandbox_state())["requests"].get("/sms/deliver", 0)
    await send_batch(100)
    successor, _ = await _one_leader(cluster, 3 * LEASE_S)
    took_over = time.monotonic() - killed

    async def polled() -> bool:
        state = await cluster.sandbox_state()
        return bool(state["requests"].get("/sms/deliver", 0) > pulls_before)

    deadline = killed + 3 * LEASE_S
    while not await polled():
        assert time.monotonic() < deadline, "nobody polls after the leader died"
        await asyncio.sleep(0.05)
    first_poll = time.monotonic() - killed
    stored = await _listed(cluster, sent, 15)
    await asyncio.sleep(1.0)  # more polls of the same reports (pull-repeat) change nothing
    stored = await list_reports(successor.stub)
    print(
        f"\nleader {leader.name} SIGKILLed; {successor.name} leads after "
        f"{took_over:.2f} s and polls after {first_poll:.2f} s (lease {LEASE_S:g} s); "
        f"{len(stored)} reports stored for {len(sent)} sends"
    )
    assert first_poll <= 2 * LEASE_S + 0.5
    keys = Counter((r.biz_id, r.phone_number) for r in stored)
    assert {biz for biz, _ in keys} == sent, "a report is missing"
    assert max(keys.values()) == 1, f"stored twice: {[k for k, n in keys.items() if n > 1][:3]}"
    assert len(stored) == len(sent)


@pytest.mark.slow
async def test_redis_killed_and_restarted_loses_nothing_acknowledged(make_cluster) -> None:
    cluster: Cluster = await make_cluster(env={"SMSGW_STORE_CHECK_SECONDS": str(CHECK_S)})
    gateways = cluster.gateways
    acknowledged_pushes: list[str] = []
    acknowledged_sends: list[str] = []
    # (what, started, answered) of every acknowledged push and send.
    answered: list[tuple[str, float, float]] = []
    stop = asyncio.Event()

    async def pusher(index: int) -> None:
        n = 0
        while not stop.is_set():
            phone = f"136{index:02d}{n:06d}"
            n += 1
            started = time.monotonic()
            try:
                status, _ = await gateways[index % 3].push(
                    REPORT_PATH, [report_item(phone, "55500000000000000001")]
                )
            except Exception:
                status = 0
            if status == 200:
                acknowledged_pushes.append(phone)
                answered.append((f"push {phone}", started, time.monotonic()))
            await asyncio.sleep(0.02)

    async def sender(index: int) -> None:
        n = 0
        while not stop.is_set():
            request_id = f"redis-kill-{index}-{n}"
            request = send_request(index * 10_000 + n, request_id)
            n += 1
            started = time.monotonic()
            try:
                await gateways[index % 3].stub.SendSms(request, timeout=10)
            except grpc.aio.AioRpcError:
                pass
            else:
                acknowledged_sends.append(request_id)
                answered.append((f"send {request_id}", started, time.monotonic()))
            await asyncio.sleep(0.02)

    load = [asyncio.create_task(pusher(i)) for i in range(3)]
    load += [asyncio.create_task(sender(i)) for i in range(3)]
    try:
        await asyncio.sleep(1.5)
        assert acknowledged_pushes and acknowledged_sends, cluster.context()
        cluster.redis.kill()
        killed = time.monotonic()  # what starts from here must not be acknowledged
        down = await asyncio.gather(*(g.wait_health(NOT_SERVING, 6 * CHECK_S) for g in gateways))
        print(
            "\nRedis SIGKILLed: NOT_SERVING after "
            + ", ".join(f"{g.name} {t:.2f} s" for g, t in zip(gateways, down, strict=True))
            + f" (store check every {CHECK_S:g} s)"
        )
        for g in gateways:
            status, _ = await g.push(REPORT_PATH, [report_item("13699999999", "1")])
            assert status == 503, f"{g.name}: push answered {status} with Redis down"
            try:
                await g.stub.SendSms(send_request(99_999_999), timeout=10)
            except grpc.aio.AioRpcError as exc:
                details = details_of(exc)
                assert exc.code() == grpc.StatusCode.UNAVAILABLE, (g.name, details)
                assert details.retry_delay, f"{g.name}: no RetryInfo in {details}"
            else:
                raise AssertionError(f"{g.name}: a send succeeded with Redis down")
        outage_seconds = time.monotonic() - killed
        restarting = time.monotonic()  # what is answered from here may be acknowledged
        await asyncio.to_thread(cluster.redis.start)  # same port, same AOF
        restarted = time.monotonic()
        up = await asyncio.gather(*(g.wait_health(SERVING, 20) for g in gateways))
        print(
            f"Redis down {outage_seconds:.2f} s; SERVING again after restart: "
            + ", ".join(f"{g.name} {t:.2f} s" for g, t in zip(gateways, up, strict=True))
        )
        await asyncio.sleep(1.0)  # the load runs on the recovered store
    finally:
        stop.set()
        await asyncio.gather(*load, return_exceptions=True)
    during_outage = [what for what, t0, t1 in answered if t0 > killed and t1 < restarting]
    assert not during_outage, f"acknowledged while Redis was down: {during_outage[:5]}"

    # Every replica serves again: pushes 200, sends OK.
    for n, g in enumerate(gateways):
        assert await g.push(REPORT_PATH, [report_item(f"1359999000{n}", "2")]) == (200, OK_BODY)
        sent = await g.stub.SendSms(send_request(88_000_000 + n), timeout=10)
        assert sent.accepted_count == 1
    recovered = time.monotonic() - restarted
    # Nothing acknowledged was lost: every push answered 200 is stored, once; every send
    # answered OK is remembered (its retry is a replay, not a new provider call).
    stored = await list_reports(
        gateways[1].stub, pb.DeliveryReportFilter(biz_ids=["55500000000000000001"])
    )
    numbers = Counter(r.phone_number for r in stored)
    lost = set(acknowledged_pushes) - set(numbers)
    assert not lost, f"{len(lost)} acknowledged pushes lost, e.g. {sorted(lost)[:3]}"
    assert max(numbers.values()) == 1
    provider_sends = (await cluster.sandbox_state())["requests"].get("/sms/send", 0)
    for request_id in acknowledged_sends:
        index, n = (int(x) for x in request_id.rsplit("-", 2)[1:])
        # On another replica: the record is shared. A send answered just before the kill
        # had its outcome written after the restart (it waited in its replica's queue).
        replay = await gateways[(index + 1) % 3].stub.SendSms(
            send_request(index * 10_000 + n, request_id), timeout=10
        )
        assert replay.replayed, f"{request_id} was forgotten"
    assert (await cluster.sandbox_state())["requests"].get("/sms/send", 0) == provider_sends
    print(
        f"{len(acknowledged_pushes)} pushes and {len(acknowledged_sends)} sends acknowledged, "
        f"none lost; every replica pushes and sends again {recovered:.2f} s after the restart"
    )
