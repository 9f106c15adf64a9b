"""Events across three replicas on one Redis: a push to one replica reaches subscribers
on another; a consumer group shares its events between members on different replicas and
hands a dead member's unacknowledged events to the other; a replica SIGKILLed right after
answering a push loses nothing."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

from ha_cluster import REPORT_PATH, Cluster, list_reports, report_item
from ha_streams import Subscriber

from smsgateway.v1 import smsgateway_pb2 as pb

OK_BODY = {"code": 10000, "msg": "操作成功"}


def reports(prefix: int, n: int, biz_id: str | None = None) -> list[dict[str, object]]:
    """`n` distinct reports (phone numbers 139<prefix><i>), one bizId unless given."""
    biz_id = biz_id or str(uuid.uuid4().int)[:20]
    return [report_item(f"139{prefix:04d}{i:04d}", biz_id) for i in range(n)]


async def test_a_push_to_one_replica_reaches_a_live_subscriber_on_another(make_cluster) -> None:
    cluster: Cluster = await make_cluster()
    a, b = cluster.gateways[0], cluster.gateways[1]
    subscriber = Subscriber.of(b.stub).start()
    try:
        # The stream is live once a first push has come through.
        for attempt in range(50):
            assert await a.push(REPORT_PATH, reports(9000 + attempt, 1)) == (200, OK_BODY)
            try:
                await subscriber.wait_count(1, 0.5)
                break
            except AssertionError:
                continue
        await subscriber.wait_count(1, 1)
        latencies = []
        for n in range(20):
            seen = len(subscriber.received)
            pushed = time.monotonic()
            status = await a.push(REPORT_PATH, reports(n, 1))
            assert status == (200, OK_BODY)
            await subscriber.wait_count(seen + 1, 5)
            arrived, report = subscriber.received[seen]
            assert report.phone_number == f"139{n:04d}0000"
            latencies.append(arrived - pushed)
    finally:
        await subscriber.close()
    print(
        f"\npush to A → subscriber on B: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms over {len(latencies)} pushes"
    )
    assert max(latencies) < 3.0
    assert statistics.median(latencies) < 1.0


async def test_a_group_shares_events_and_a_killed_members_events_go_to_the_other(
    make_cluster,
) -> None:
    cluster: Cluster = await make_cluster()
    a, b, c = cluster.gateways
    deadline = 2  # seconds: a held event goes to another member this long after delivery
    on_a = Subscriber.of(a.stub, group="billing", ack_deadline_seconds=deadline).start()
    on_c = Subscriber.of(c.stub, group="billing", ack_deadline_seconds=deadline).start()
    try:
        # Both members acknowledge everything: each event reaches exactly one of them.
        shared = 60
        for batch in range(6):
            assert await b.push(REPORT_PATH, reports(batch, 10)) == (200, OK_BODY)
        await _wait_total([on_a, on_c], shared, 15)
        await asyncio.sleep(deadline + 1)  # any redelivery would show up by now
        first = on_a.cursors + on_c.cursors
        print(f"\ngroup of A and C: A got {len(on_a.cursors)}, C got {len(on_c.cursors)}")
        assert len(first) == shared and len(set(first)) == shared, (on_a.cursors, on_c.cursors)

        # C stops acknowledging, then its process dies holding events.
        on_c.ack = False
        for batch in range(10, 40):
            assert await b.push(REPORT_PATH, reports(batch, 2)) == (200, OK_BODY)
            if len(on_c.held) >= 3:
                break
            await asyncio.sleep(0.05)
        assert on_c.held, "C received none of the events pushed after it stopped acknowledging"
        pushed_total = shared + 2 * (batch - 10 + 1)
        c.process.kill()
        killed = time.monotonic()
        await asyncio.sleep(0.2)  # C's stream ends; what it delivered until then is known
        held = list(on_c.held)
        acked_by_c = set(on_c.cursors) - set(held)
        await _wait_total([on_a], pushed_total - len(acked_by_c), 20)
        redelivered = [t for t, r in on_a.received if r.cursor in held]
        print(
            f"C SIGKILLed holding {len(held)} events; A got them "
            f"{min(redelivered) - killed:.2f}-{max(redelivered) - killed:.2f} s later "
            f"(ack deadline {deadline} s)"
        )
    finally:
        await on_a.close()
        await on_c.close()
    everything = set(on_a.cursors) | acked_by_c
    assert len(everything) == pushed_total
    assert set(held) <= set(on_a.cursors)
    assert not acked_by_c & set(on_a.cursors), "an acknowledged event was delivered again"
    assert len(on_a.cursors) == len(set(on_a.cursors)), "A got an event twice"


async def _wait_total(subscribers: list[Subscriber], n: int, within: float) -> None:
    deadline = time.monotonic() + within
    while sum(len({*s.cursors}) for s in subscribers) < n:
        got = [len(s.cursors) for s in subscribers]
        assert time.monotonic() < deadline, f"{got} of {n} events within {within} s"
        for s in subscribers:
            assert s.error is None or not s.ack, f"stream ended: {s.error}"
        await asyncio.sleep(0.05)


async def test_a_replica_killed_right_after_answering_a_push_loses_nothing(make_cluster) -> None:
    cluster: Cluster = await make_cluster()
    a, b = cluster.gateways[0], cluster.gateways[1]
    biz_id = "77700000000000000001"
    pushes = [reports(100 + n, 50, biz_id) for n in range(8)]
    answered: list[list[dict[str, object]]] = []

    async def push(items: list[dict[str, object]]) -> None:
        try:
            status = await a.push(REPORT_PATH, items)
        except Exception:  # the connection died with the process
            return
        if status == (200, OK_BODY):
            answered.append(items)
            a.process.kill()  # at once: nothing can be flushed after the answer

    await asyncio.gather(*(push(items) for items in pushes))
    a.process.kill()
    assert answered, "no push was answered before the kill"
    stored = await list_reports(b.stub, pb.DeliveryReportFilter(biz_ids=[biz_id]))
    stored_numbers = {r.phone_number for r in stored}
    expected = {str(item["phoneNumber"]) for items in answered for item in items}
    print(
        f"\n{len(answered)} of {len(pushes)} concurrent pushes answered 200 before A was "
        f"SIGKILLed; {len(stored)} reports on B (answered: {len(expected)})"
    )
    assert expected <= stored_numbers, f"lost: {sorted(expected - stored_numbers)[:5]}"
    assert len(stored) == len(stored_numbers), "a report stored twice"
