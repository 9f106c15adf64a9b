"""SmsGatewayClient against a real grpc.aio server running the scripted fake gateway."""

from __future__ import annotations

import random
import uuid
from contextlib import aclosing
from datetime import UTC, datetime
from decimal import Decimal

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway_client import GatewayError, RetryPolicy, SmsGatewayClient


class Sleeps:
    """An injected `sleep` that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def unavailable(status_factory, **kw):
    return status_factory(grpc.StatusCode.UNAVAILABLE, "provider unreachable", **kw)


async def test_send_maps_request_and_generates_uuid4_request_id(gateway):
    async with SmsGatewayClient(gateway.target, metadata=[("x-caller", "billing")]) as client:
        sent = await client.send_sms(
            ["13800000000", "13800000001"], "Acme", "Hello", kind="verification-code"
        )
    (request,) = gateway.fake.of("SendSms")
    assert list(request.phone_numbers) == ["13800000000", "13800000001"]
    assert (request.sign, request.content) == ("Acme", "Hello")
    assert request.kind == pb.SMS_KIND_VERIFICATION_CODE
    assert uuid.UUID(request.request_id).version == 4
    assert sent.request_id == request.request_id
    assert sent.accepted_count == 2 and sent.calls[0].biz_id
    assert gateway.fake.metadata[0]["x-caller"] == "billing"


async def test_send_keeps_caller_request_id_and_one_string_is_one_entry(gateway):
    async with SmsGatewayClient(gateway.target) as client:
        await client.send_sms("13800000000,13800000001", "Acme", "Hi", request_id="order-42")
    (request,) = gateway.fake.of("SendSms")
    assert list(request.phone_numbers) == ["13800000000,13800000001"]
    assert request.request_id == "order-42"
    assert request.kind == pb.SMS_KIND_UNSPECIFIED


async def test_send_template_encodes_params_compactly(gateway):
    async with SmsGatewayClient(gateway.target) as client:
        sent = await client.send_template_sms(
            ["13800000000"], "Acme", "T1", {"code": "123456", "名": "张"}, "Your code", "notice"
        )
    (request,) = gateway.fake.of("SendTemplateSms")
    assert request.template_params_json == '{"code":"123456","名":"张"}'
    assert request.template_id == "T1" and request.kind == pb.SMS_KIND_NOTICE
    assert sent.content == "【Acme】Your code"


async def test_unknown_kind_is_refused_before_any_call(gateway):
    async with SmsGatewayClient(gateway.target) as client:
        with pytest.raises(ValueError, match="unknown kind"):
            await client.send_sms(["13800000000"], "Acme", "Hi", kind="spam")
    assert gateway.fake.requests == []


async def test_retry_on_unavailable_reuses_request_id_with_jittered_backoff(
    gateway, status_factory
):
    gateway.fake.script["SendSms"] = [unavailable(status_factory)] * 3
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=4, initial_backoff=0.2, max_backoff=5.0, multiplier=2.0)
    async with SmsGatewayClient(
        gateway.target, retry=policy, sleep=sleeps, rng=random.Random(7)
    ) as client:
        sent = await client.send_sms(["13800000000"], "Acme", "Hi")
    requests = gateway.fake.of("SendSms")
    assert len(requests) == 4
    assert {r.request_id for r in requests} == {sent.request_id}
    # Equal jitter: attempt n waits within [ceiling/2, ceiling], ceiling = 0.2 * 2**(n-1).
    assert len(sleeps.delays) == 3
    for n, delay in enumerate(sleeps.delays, start=1):
        ceiling = 0.2 * 2 ** (n - 1)
        assert ceiling / 2 <= delay <= ceiling
    assert sleeps.delays != [0.1, 0.2, 0.4]  # jittered, not the bare exponential
    # Another seed, other waits: clients failing together do not come back together.
    rng = random.Random(8)
    assert [policy.backoff(n, rng) for n in (1, 2, 3)] != sleeps.delays


async def test_retry_gives_up_after_max_attempts(gateway, status_factory):
    gateway.fake.script["GetBalance"] = [unavailable(status_factory)] * 10
    sleeps = Sleeps()
    async with SmsGatewayClient(
        gateway.target, retry=RetryPolicy(max_attempts=3), sleep=sleeps
    ) as client:
        with pytest.raises(GatewayError) as caught:
            await client.get_balance()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert len(gateway.fake.of("GetBalance")) == 3
    assert len(sleeps.delays) == 2


async def test_retry_waits_at_least_what_retry_info_asks(gateway, status_factory):
    gateway.fake.script["GetBalance"] = [unavailable(status_factory, retry_delay=1.5)]
    sleeps = Sleeps()
    async with SmsGatewayClient(gateway.target, sleep=sleeps) as client:
        assert await client.get_balance() == Decimal("1234.50")
    assert len(sleeps.delays) == 1 and sleeps.delays[0] >= 1.5


async def test_no_retry_when_the_wait_would_pass_the_deadline(gateway, status_factory):
    gateway.fake.script["SendSms"] = [unavailable(status_factory, retry_delay=10.0)]
    sleeps = Sleeps()
    async with SmsGatewayClient(gateway.target, timeout=2.0, sleep=sleeps) as client:
        with pytest.raises(GatewayError) as caught:
            await client.send_sms(["13800000000"], "Acme", "Hi")
    assert caught.value.retry_delay == 10.0
    assert len(gateway.fake.of("SendSms")) == 1 and sleeps.delays == []


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNKNOWN,  # outcome unknown: never repeated
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
    ],
)
async def test_other_errors_are_not_retried(gateway, status_factory, code):
    gateway.fake.script["SendSms"] = [status_factory(code, "no", reason="X")]
    sleeps = Sleeps()
    async with SmsGatewayClient(gateway.target, sleep=sleeps) as client:
        with pytest.raises(GatewayError) as caught:
            await client.send_sms(["13800000000"], "Acme", "Hi")
    assert caught.value.code == code
    assert len(gateway.fake.of("SendSms")) == 1 and sleeps.delays == []


async def test_deadline_exceeded_is_reported_not_retried(gateway):
    gateway.fake.script["GetSendStatus"] = [5.0]  # the fake waits 5 s before answering
    sleeps = Sleeps()
    async with SmsGatewayClient(gateway.target, timeout=0.3, sleep=sleeps) as client:
        with pytest.raises(GatewayError) as caught:
            await client.get_send_status("20260101000000000000")
    assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert sleeps.delays == []


async def test_partial_send_is_exposed_on_the_error(gateway, status_factory):
    partial = pb.SendFailure(
        request_id="r-1",
        call_count=2,
        recipient_count=2,
        accepted_count=1,
        failed_count=1,
        first_failures=[
            pb.FailedCall(
                index=1,
                outcome=pb.CALL_OUTCOME_REJECTED,
                recipient_count=1,
                provider_code="10004",
                message="余额不足",
            )
        ],
    )
    gateway.fake.script["SendSms"] = [
        status_factory(
            grpc.StatusCode.FAILED_PRECONDITION,
            "1 of 2 provider calls rejected",
            reason="UPSTREAM_REJECTED",
            metadata={"provider_code": "10004"},
            extra=[partial],
        )
    ]
    async with SmsGatewayClient(gateway.target) as client:
        with pytest.raises(GatewayError) as caught:
            await client.send_sms(["13800000000", "13800000001"], "Acme", "Hi")
    error = caught.value
    assert error.reason == "UPSTREAM_REJECTED" and error.domain == "smsgateway"
    assert error.metadata["provider_code"] == "10004"
    assert error.send_failure == partial
    # The request_id the client made before the first attempt, in the error.
    (request,) = gateway.fake.of("SendSms")
    assert error.request_id == request.request_id and request.request_id in str(error)
    assert "call #1: REJECTED, 1 numbers (10004: 余额不足)" in error.render()


async def test_balance_is_an_exact_decimal(gateway):
    gateway.fake.script["GetBalance"] = [pb.GetBalanceResponse(balance="0.10")]
    async with SmsGatewayClient(gateway.target) as client:
        balance = await client.get_balance()
    assert balance == Decimal("0.10") and str(balance) == "0.10"


async def test_balance_that_is_not_a_decimal_is_an_error(gateway):
    gateway.fake.script["GetBalance"] = [pb.GetBalanceResponse(balance="lots")]
    async with SmsGatewayClient(gateway.target) as client:
        with pytest.raises(ValueError, match="not a decimal"):
            await client.get_balance()


async def test_list_pages_follow_the_token(gateway, events):
    gateway.fake.reports = [events.report(c) for c in range(1, 6)]
    async with SmsGatewayClient(gateway.target) as client:
        pages = [
            [r.cursor for r in page.reports]
            async for page in client.list_delivery_reports(
                sign="Acme", statuses=["delivered"], page_size=2
            )
        ]
    assert pages == [[1, 2], [3, 4], [5]]
    requests = gateway.fake.of("ListDeliveryReports")
    assert [r.page_token for r in requests] == ["", "2", "4"]
    assert list(requests[0].filter.statuses) == [pb.DELIVERY_STATUS_DELIVERED]


async def test_stream_maps_start_filter_and_group(gateway, events):
    gateway.fake.reports = [events.report(c) for c in range(1, 4)]
    async with SmsGatewayClient(gateway.target) as client:
        got = [
            r.cursor
            async for r in client.stream_delivery_reports(
                start_time=datetime(2026, 1, 1, tzinfo=UTC),
                biz_ids=["b1"],
                phone_numbers=["+86 138 0000 0000"],
                statuses=["rate-limited", pb.DELIVERY_STATUS_FAILED],
                group="billing",
                ack_deadline=12.5,
                max_outstanding=7,
            )
        ]
    assert got == [1, 2, 3]
    (request,) = gateway.fake.of("StreamDeliveryReports")
    assert request.start.start_time.seconds == 1_767_225_600
    assert list(request.filter.biz_ids) == ["b1"]
    assert list(request.filter.statuses) == [
        pb.DELIVERY_STATUS_RATE_LIMITED,
        pb.DELIVERY_STATUS_FAILED,
    ]
    group = request.consumer_group
    assert (group.name, group.max_outstanding) == ("billing", 7)
    assert group.ack_deadline.ToNanoseconds() == 12_500_000_000


async def test_stream_reconnects_after_the_last_event_it_yielded(gateway, events):
    gateway.fake.uplinks = [events.uplink(c) for c in range(1, 6)]
    gateway.fake.break_after = [2, 1]  # first connection: 2 events, second: 1, then all
    sleeps = Sleeps()
    async with SmsGatewayClient(gateway.target, sleep=sleeps) as client:
        got = [u.cursor async for u in client.stream_uplinks(start="earliest", sign="Acme")]
    assert got == [1, 2, 3, 4, 5]  # no gap, no duplicate
    requests = gateway.fake.of("StreamUplinks")
    assert requests[0].start.position == pb.START_POSITION_EARLIEST
    assert [r.start.after_cursor for r in requests[1:]] == [2, 3]
    assert all(r.filter.sign == "Acme" for r in requests)
    assert len(sleeps.delays) == 2


async def test_group_stream_reconnects_from_the_group_position(gateway, events):
    gateway.fake.uplinks = [events.uplink(c) for c in range(1, 4)]
    gateway.fake.break_after = [1]
    async with SmsGatewayClient(gateway.target, sleep=Sleeps()) as client:
        got = [u.cursor async for u in client.stream_uplinks(after_cursor=0, group="g")]
    assert got == [1, 1, 2, 3]  # the group's position: the unacked event comes again
    requests = gateway.fake.of("StreamUplinks")
    assert [r.start.after_cursor for r in requests] == [0, 0]


async def test_stream_without_reconnect_raises(gateway, events):
    gateway.fake.uplinks = [events.uplink(1), events.uplink(2)]
    gateway.fake.break_after = [1]
    async with SmsGatewayClient(gateway.target) as client:
        got = []
        with pytest.raises(GatewayError) as caught:
            async for u in client.stream_uplinks(reconnect=False):
                got.append(u.cursor)
    assert got == [1] and caught.value.code == grpc.StatusCode.UNAVAILABLE


async def test_stream_out_of_range_carries_the_oldest_cursor(gateway, status_factory):
    gateway.fake.script["StreamDeliveryReports"] = [
        status_factory(
            grpc.StatusCode.OUT_OF_RANGE,
            "cursor 3 is older than the retained history",
            reason="CURSOR_OUT_OF_RANGE",
            metadata={"oldest_cursor": "120"},
        )
    ]
    async with SmsGatewayClient(gateway.target, sleep=Sleeps()) as client:
        with pytest.raises(GatewayError) as caught:
            async for _ in client.stream_delivery_reports(after_cursor=3):
                pass
    assert caught.value.code == grpc.StatusCode.OUT_OF_RANGE
    assert caught.value.metadata["oldest_cursor"] == "120"


async def test_closing_a_stream_early_ends_the_call(gateway, events):
    gateway.fake.reports = [events.report(1), events.report(2)]
    gateway.fake.hold_streams = True
    async with SmsGatewayClient(gateway.target) as client:
        async with aclosing(client.stream_delivery_reports()) as stream:
            async for r in stream:
                assert r.cursor == 1
                break
        # The channel still serves other calls after the stream was cancelled.
        assert await client.get_balance() == Decimal("1234.50")


async def test_acknowledge_counts_and_splits_large_batches(gateway, events):
    gateway.fake.unacked = {1, 2, 3}
    async with SmsGatewayClient(gateway.target) as client:
        assert await client.acknowledge("reports", "g", [1, 2, 99]) == 2
        assert await client.acknowledge("uplinks", "g", range(1, 25_001)) == 1
    requests = gateway.fake.of("AcknowledgeEvents")
    assert requests[0].stream == pb.EVENT_STREAM_DELIVERY_REPORTS
    assert requests[0].consumer_group == "g" and list(requests[0].cursors) == [1, 2, 99]
    assert [len(r.cursors) for r in requests[1:]] == [10_000, 10_000, 5_000]
    assert all(r.stream == pb.EVENT_STREAM_UPLINKS for r in requests[1:])


async def test_suppressions_round_trip(gateway):
    async with SmsGatewayClient(gateway.target) as client:
        added = await client.add_suppression("Acme", "13800000005", "asked by phone")
        removed = await client.remove_suppression("Acme", "13800000009")
        pages = [p async for p in client.list_suppressions(sign="Acme")]
    assert added.phone_number == "13800000005" and added.reason == "asked by phone"
    assert removed is True
    assert pages[0].suppressions[0].reason == "uplink"
    assert gateway.fake.of("ListSuppressions")[0].sign == "Acme"


async def test_bad_stream_arguments_are_refused():
    async with SmsGatewayClient("127.0.0.1:1") as client:
        with pytest.raises(ValueError, match="at most one"):
            client.stream_uplinks(start="earliest", after_cursor=3)
        with pytest.raises(ValueError, match="timezone-aware"):
            client.stream_uplinks(start_time=datetime(2026, 1, 1))
        with pytest.raises(ValueError, match="need a consumer group"):
            client.stream_uplinks(ack_deadline=5)
        with pytest.raises(ValueError, match="unknown delivery status"):
            client.stream_delivery_reports(statuses=["lost"])
        with pytest.raises(ValueError, match="unknown stream"):
            await client.acknowledge("events", "g", [1])  # type: ignore[arg-type]


async def test_unreachable_gateway_fails_with_unavailable_after_retries():
    sleeps = Sleeps()
    async with SmsGatewayClient(
        "127.0.0.1:1", retry=RetryPolicy(max_attempts=2), sleep=sleeps
    ) as client:
        with pytest.raises(GatewayError) as caught:
            await client.get_balance()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert len(sleeps.delays) == 1


async def test_calls_carry_the_callers_trace_context(gateway):
    tracer = TracerProvider().get_tracer("test")
    async with SmsGatewayClient(gateway.target) as client:
        await client.get_balance()  # no active span: no traceparent
        with tracer.start_as_current_span("checkout") as span:
            await client.get_balance()
            trace_id = f"{span.get_span_context().trace_id:032x}"
    async with SmsGatewayClient(gateway.target, propagate_trace=False) as client:
        with tracer.start_as_current_span("quiet"):
            await client.get_balance()
    without, within, disabled = gateway.fake.metadata
    assert "traceparent" not in without
    assert within["traceparent"].split("-")[1] == trace_id
    assert "traceparent" not in disabled
