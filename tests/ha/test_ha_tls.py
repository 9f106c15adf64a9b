"""Two replicas on a Redis that serves TLS only (`rediss://`, a CA file): the send path's
pipelined scripts and the pooled commands (blocking stream reads) both go over TLS, so a
request_id sent to one replica is replayed by the other, and a push to one reaches a
subscriber on the other."""

from __future__ import annotations

import uuid

from ha_cluster import REPORT_PATH, Cluster, list_reports, report_item
from ha_streams import Subscriber

from smsgateway.v1 import smsgateway_pb2 as pb

OK_BODY = {"code": 10000, "msg": "操作成功"}


async def test_replicas_share_sends_and_events_over_a_tls_only_redis(make_cluster) -> None:
    cluster: Cluster = await make_cluster(replicas=2, redis_tls=True)
    a, b = cluster.gateways
    assert cluster.redis.url.startswith("rediss://")

    request = pb.SendSmsRequest(
        phone_numbers=["13800000001", "13800000002"],
        sign="HA",
        content="over TLS",
        kind=pb.SMS_KIND_NOTICE,
        request_id=f"tls-{uuid.uuid4().hex}",
    )
    first = await a.stub.SendSms(request, timeout=30)
    again = await b.stub.SendSms(request, timeout=30)
    assert first.accepted_count == 2 and not first.replayed
    assert again.replayed, "B did not find A's record of the request_id"
    assert [c.biz_id for c in again.calls] == [c.biz_id for c in first.calls]
    assert (await cluster.sandbox_state())["requests"].get("/sms/send") == 1

    subscriber = Subscriber.of(a.stub).start()
    try:
        for attempt in range(50):  # the stream is live once a first push came through
            phone = f"1390000{attempt:04d}"
            assert await b.push(REPORT_PATH, [report_item(phone, "1" * 20)]) == (200, OK_BODY)
            try:
                await subscriber.wait_count(1, 0.5)
                break
            except AssertionError:
                continue
        await subscriber.wait_count(1, 1)
        seen = len(subscriber.received)
        biz_id = first.calls[0].biz_id
        status = await b.push(REPORT_PATH, [report_item("13800000001", biz_id)])
        assert status == (200, OK_BODY)
        await subscriber.wait_count(seen + 1, 5)
        _, report = subscriber.received[seen]
        assert (report.biz_id, report.phone_number) == (biz_id, "13800000001")
        assert report.status == pb.DELIVERY_STATUS_DELIVERED
    finally:
        await subscriber.close()
    # The report got its send's sign from the send log A wrote: B's listing by sign has it.
    by_sign = await list_reports(b.stub, filter=pb.DeliveryReportFilter(sign="HA"))
    assert [(r.biz_id, r.phone_number) for r in by_sign] == [(biz_id, "13800000001")]
