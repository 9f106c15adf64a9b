"""The auth matrix against a real gateway: no key, wrong key, missing permission, foreign
sign, and tenant isolation on every read RPC (status, lists, streams, groups, suppressions)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from smsgateway.events.model import Stream
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.callers import SIGN_A, SIGN_B, SIGN_C
from testkit.rich_status import details_of
from testkit.secure_gateway import SecureGateway, bearer, report, uplink

PHONE = "13651688564"
OTHER_PHONE = "13568988547"


def send(
    sign: str = SIGN_A, phones: tuple[str, ...] = (PHONE,), **fields: object
) -> pb.SendSmsRequest:
    values: dict[str, object] = {
        "phone_numbers": list(phones),
        "sign": sign,
        "content": "您的快件已签收",
        "kind": pb.SMS_KIND_NOTICE,
    }
    values.update(fields)
    return pb.SendSmsRequest(**values)  # type: ignore[arg-type]


# One call of every SmsGateway RPC, and the permission it needs.
CALLS: dict[str, tuple[str, object]] = {
    "SendSms": ("send", send()),
    "SendTemplateSms": (
        "send",
        pb.SendTemplateSmsRequest(
            phone_numbers=[PHONE],
            sign=SIGN_A,
            template_id="1192360392260608",
            template_params_json='{"code":"1234"}',
            content="您的验证码是1234",
        ),
    ),
    "GetBalance": ("send", pb.GetBalanceRequest()),
    "GetSend": ("read_events", pb.GetSendRequest(request_id="nope")),
    "GetSendStatus": ("read_events", pb.GetSendStatusRequest(biz_id="1" * 20)),
    "ListDeliveryReports": ("read_events", pb.ListDeliveryReportsRequest()),
    "ListUplinks": ("read_events", pb.ListUplinksRequest()),
    "AcknowledgeEvents": (
        "read_events",
        pb.AcknowledgeEventsRequest(
            stream=pb.EVENT_STREAM_DELIVERY_REPORTS, consumer_group="g", cursors=[1]
        ),
    ),
    "DeleteConsumerGroup": (
        "read_events",
        pb.DeleteConsumerGroupRequest(stream=pb.EVENT_STREAM_UPLINKS, consumer_group="g"),
    ),
    "ListSuppressions": ("manage_suppressions", pb.ListSuppressionsRequest(sign=SIGN_A)),
    "AddSuppression": (
        "manage_suppressions",
        pb.AddSuppressionRequest(sign=SIGN_A, phone_number=PHONE),
    ),
    "RemoveSuppression": (
        "manage_suppressions",
        pb.RemoveSuppressionRequest(sign=SIGN_A, phone_number=PHONE),
    ),
}
STREAMS = {
    "StreamDeliveryReports": pb.StreamDeliveryReportsRequest(),
    "StreamUplinks": pb.StreamUplinksRequest(),
}


async def _call(stub: object, method: str, request: object, key: str | None) -> object:
    return await getattr(stub, method)(request, metadata=bearer(key), timeout=10)


async def _first_stream_status(
    stub: object, method: str, request: object, key: str | None
) -> grpc.aio.AioRpcError:
    call = getattr(stub, method)(request, metadata=bearer(key), timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in call:
            pass
    return caught.value


@pytest.mark.parametrize("method", [*CALLS, *STREAMS])
@pytest.mark.parametrize("key_kind", ["none", "wrong", "not_bearer"])
async def test_no_key_or_a_wrong_key_is_unauthenticated(
    secure_gw: SecureGateway, method: str, key_kind: str
) -> None:
    stub = secure_gw.stub()
    metadata = {
        "none": (),
        "wrong": bearer("smsgw_" + "x" * 43),
        "not_bearer": (("authorization", "Basic dXNlcjpwYXNz"),),
    }[key_kind]
    if method in STREAMS:
        call = getattr(stub, method)(STREAMS[method], metadata=metadata, timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in call:
                pass
    else:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await getattr(stub, method)(CALLS[method][1], metadata=metadata, timeout=10)
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.UNAUTHENTICATED
    assert details.reason == ("MISSING_KEY" if key_kind != "wrong" else "INVALID_KEY")
    assert details.domain == "smsgateway"
    assert secure_gw.sandbox.requests["/sms/send"] == 0


# Which callers lack the permission each call needs.
LACKING = {
    "send": ["reader_a", "anysign"],
    "read_events": ["sender_a", "limited"],
    "manage_suppressions": ["sender_a", "reader_a", "anysign"],
}


@pytest.mark.parametrize("method", [*CALLS, *STREAMS])
async def test_a_missing_permission_is_permission_denied_naming_it(
    secure_gw: SecureGateway, keys: dict[str, str], method: str
) -> None:
    permission = CALLS[method][0] if method in CALLS else "read_events"
    stub = secure_gw.stub()
    for caller in LACKING[permission]:
        if method in STREAMS:
            error = await _first_stream_status(stub, method, STREAMS[method], keys[caller])
        else:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await _call(stub, method, CALLS[method][1], keys[caller])
            error = caught.value
        details = details_of(error)
        assert details.code == grpc.StatusCode.PERMISSION_DENIED, (caller, method)
        assert details.reason == "PERMISSION_MISSING"
        assert details.metadata == {"caller": caller, "missing": f"permission:{permission}"}


async def test_health_and_reflection_need_no_key(secure_gw: SecureGateway) -> None:
    channel = grpc.aio.insecure_channel(secure_gw.target)
    try:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        async for reply in replies:
            names = {s.name for s in reply.list_services_response.service}
            assert "smsgateway.v1.SmsGateway" in names
            break
    finally:
        await channel.close()


async def test_a_foreign_sign_is_permission_denied_and_nothing_is_sent(
    secure_gw: SecureGateway, keys: dict[str, str]
) -> None:
    stub = secure_gw.stub()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SendSms(send(sign=SIGN_B), metadata=bearer(keys["tenant_a"]), timeout=10)
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.PERMISSION_DENIED
    assert details.reason == "SIGN_NOT_ALLOWED"
    assert details.metadata == {"caller": "tenant_a", "missing": f"sign:{SIGN_B}"}
    assert secure_gw.sandbox.requests["/sms/send"] == 0
    for method, request in (
        ("AddSuppression", pb.AddSuppressionRequest(sign=SIGN_B, phone_number=PHONE)),
        ("RemoveSuppression", pb.RemoveSuppressionRequest(sign=SIGN_B, phone_number=PHONE)),
        ("ListSuppressions", pb.ListSuppressionsRequest(sign=SIGN_B)),
        ("ListDeliveryReports", pb.ListDeliveryReportsRequest(filter={"sign": SIGN_B})),
        ("ListUplinks", pb.ListUplinksRequest(filter={"sign": SIGN_B})),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _call(stub, method, request, keys["tenant_a"])
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED, method
        assert details_of(caught.value).reason == "SIGN_NOT_ALLOWED"
    error = await _first_stream_status(
        stub,
        "StreamDeliveryReports",
        pb.StreamDeliveryReportsRequest(filter={"sign": SIGN_B}),
        keys["tenant_a"],
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def _two_tenants(secure_gw: SecureGateway, keys: dict[str, str]) -> tuple[str, str]:
    """One send per tenant, each with a report, plus one uplink per sign; the bizIds."""
    stub = secure_gw.stub()
    a = await stub.SendSms(send(SIGN_A), metadata=bearer(keys["tenant_a"]), timeout=10)
    b = await stub.SendSms(
        send(SIGN_B, (OTHER_PHONE,)), metadata=bearer(keys["tenant_b"]), timeout=10
    )
    biz_a, biz_b = a.calls[0].biz_id, b.calls[0].biz_id
    for _ in range(200):  # the send log is written just behind the answer
        if await secure_gw.backend.send_log.sent_batch(biz_b) is not None:
            break
        await asyncio.sleep(0.01)
    await secure_gw.add_reports([report(biz_a, PHONE), report(biz_b, OTHER_PHONE)])
    await secure_gw.add_uplinks([uplink(PHONE, SIGN_A, 1), uplink(OTHER_PHONE, SIGN_B, 2)])
    return biz_a, biz_b


async def test_tenant_isolation_on_status_and_lists(
    secure_gw: SecureGateway, keys: dict[str, str]
) -> None:
    biz_a, biz_b = await _two_tenants(secure_gw, keys)
    stub = secure_gw.stub()
    a, b = bearer(keys["tenant_a"]), bearer(keys["tenant_b"])

    status = await stub.GetSendStatus(pb.GetSendStatusRequest(biz_id=biz_a), metadata=a)
    assert [r.phone_number for r in status.recipients] == [PHONE]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetSendStatus(pb.GetSendStatusRequest(biz_id=biz_a), metadata=b)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND  # no hint that it exists

    reports_a = await stub.ListDeliveryReports(pb.ListDeliveryReportsRequest(), metadata=a)
    assert [r.biz_id for r in reports_a.reports] == [biz_a]
    reports_b = await stub.ListDeliveryReports(pb.ListDeliveryReportsRequest(), metadata=b)
    assert [r.biz_id for r in reports_b.reports] == [biz_b]
    uplinks_a = await stub.ListUplinks(pb.ListUplinksRequest(), metadata=a)
    assert [u.sign for u in uplinks_a.uplinks] == [SIGN_A]

    admin = bearer(keys["admin"])
    everything = await stub.ListDeliveryReports(pb.ListDeliveryReportsRequest(), metadata=admin)
    assert {r.biz_id for r in everything.reports} == {biz_a, biz_b}
    anysign = bearer(keys["anysign"])
    assert len((await stub.ListUplinks(pb.ListUplinksRequest(), metadata=anysign)).uplinks) == 2
    status_admin = await stub.GetSendStatus(pb.GetSendStatusRequest(biz_id=biz_b), metadata=admin)
    assert status_admin.total_count == 1

    # A caller of several signs names the one it reads.
    multi = bearer(keys["multi"])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListDeliveryReports(pb.ListDeliveryReportsRequest(), metadata=multi)
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "filter.sign" in details.violations
    only_c = await stub.ListDeliveryReports(
        pb.ListDeliveryReportsRequest(filter={"sign": SIGN_C}), metadata=multi
    )
    assert list(only_c.reports) == []


async def test_tenant_isolation_on_streams_and_groups(
    secure_gw: SecureGateway, keys: dict[str, str]
) -> None:
    biz_a, biz_b = await _two_tenants(secure_gw, keys)
    stub = secure_gw.stub()
    start = pb.StreamStart(position=pb.START_POSITION_EARLIEST)

    async def first(method: str, request: object, key: str) -> list[object]:
        call = getattr(stub, method)(request, metadata=bearer(key), timeout=10)
        got = []
        async for item in call:
            got.append(item)
            break
        call.cancel()
        return got

    [a] = await first(
        "StreamDeliveryReports", pb.StreamDeliveryReportsRequest(start=start), keys["tenant_a"]
    )
    assert a.report.biz_id == biz_a
    [b] = await first("StreamUplinks", pb.StreamUplinksRequest(start=start), keys["tenant_b"])
    assert b.uplink.sign == SIGN_B

    # Same group name, two tenants: two groups, each with its own events.
    group = pb.ConsumerGroupOptions(name="billing")
    [ga] = await first(
        "StreamDeliveryReports",
        pb.StreamDeliveryReportsRequest(start=start, consumer_group=group),
        keys["tenant_a"],
    )
    [gb] = await first(
        "StreamDeliveryReports",
        pb.StreamDeliveryReportsRequest(start=start, consumer_group=group),
        keys["tenant_b"],
    )
    assert (ga.report.biz_id, gb.report.biz_id) == (biz_a, biz_b)
    # tenant_b can neither ack nor delete tenant_a's group.
    acked = await stub.AcknowledgeEvents(
        pb.AcknowledgeEventsRequest(
            stream=pb.EVENT_STREAM_DELIVERY_REPORTS,
            consumer_group="billing",
            cursors=[ga.report.cursor],
        ),
        metadata=bearer(keys["tenant_b"]),
    )
    assert acked.acknowledged_count == 0
    deleted = await stub.DeleteConsumerGroup(
        pb.DeleteConsumerGroupRequest(
            stream=pb.EVENT_STREAM_DELIVERY_REPORTS, consumer_group="billing"
        ),
        metadata=bearer(keys["tenant_a"]),
    )
    assert deleted.deleted
    groups = {g.name for g in await secure_gw.backend.groups.groups(Stream.REPORTS)}
    assert groups == {"tenant_b:billing"}


async def test_status_answers_who_sent_it(secure_gw: SecureGateway, keys: dict[str, str]) -> None:
    biz_a, _ = await _two_tenants(secure_gw, keys)
    batch = await secure_gw.backend.send_log.sent_batch(biz_a)
    assert batch is not None
    status = await secure_gw.stub().GetSendStatus(
        pb.GetSendStatusRequest(biz_id=biz_a), metadata=bearer(keys["admin"])
    )
    assert status.caller == "tenant_a"


async def test_get_send_shows_a_send_only_to_callers_of_its_sign(
    secure_gw: SecureGateway, keys: dict[str, str]
) -> None:
    stub = secure_gw.stub()
    sent = await stub.SendSms(
        send(SIGN_A, request_id="rid-tenant-a-1"), metadata=bearer(keys["tenant_a"])
    )
    request = pb.GetSendRequest(request_id=sent.request_id)
    for caller in ("tenant_a", "admin", "anysign", "multi"):
        got = await stub.GetSend(request, metadata=bearer(keys[caller]))
        assert got.request_id == "rid-tenant-a-1", caller
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetSend(request, metadata=bearer(keys["tenant_b"]))
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.GetSend(
            pb.GetSendRequest(request_id="rid-nobody"), metadata=bearer(keys["tenant_b"])
        )
    # Indistinguishable from an id that does not exist.
    assert caught.value.code() == unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert details_of(caught.value).reason == details_of(unknown.value).reason == "SEND_NOT_FOUND"
