"""SendSms / SendTemplateSms / GetBalance through a real gRPC server and the sandbox over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import grpc
import pytest

from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.rich_status import details_of

NOTICE = pb.SMS_KIND_NOTICE


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # One provider call at a time, so that partial failures are deterministic.
    return {"max_concurrent_calls": 1}


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"138{start + i:08d}" for i in range(n)]


def send_request(**fields: object) -> pb.SendSmsRequest:
    values: dict[str, object] = {
        "phone_numbers": ["13651688564"],
        "sign": "圆通快递",
        "content": "你的快件56682551825已签收，谢谢使用",
        "kind": NOTICE,
    }
    values.update(fields)
    return pb.SendSmsRequest(**values)  # type: ignore[arg-type]


async def test_send_returns_biz_id_and_prefixes_sign(gateway) -> None:
    response = await gateway.stub.SendSms(send_request(request_id=str(uuid.uuid4())))

    assert len(response.calls) == 1
    call = response.calls[0]
    assert call.outcome == pb.CALL_OUTCOME_ACCEPTED
    assert len(call.biz_id) == 20 and call.biz_id.isdigit()
    assert list(call.phone_numbers) == ["13651688564"]
    assert response.content == "【圆通快递】你的快件56682551825已签收，谢谢使用"
    assert response.accepted_count == 1 and response.failed_count == 0
    assert response.segments_per_message == 1
    assert not response.replayed
    sent = gateway.sandbox.batches[0]
    assert sent.biz_id == call.biz_id
    assert sent.content == response.content
    assert sent.kind == "2"


async def test_numbers_are_normalised_and_deduplicated(gateway) -> None:
    response = await gateway.stub.SendSms(
        send_request(
            phone_numbers=["+86 136-5168-8564", "8613651688564", "13651688564，13568988547"]
        )
    )
    assert response.recipient_count == 2
    assert list(response.calls[0].phone_numbers) == ["13651688564", "13568988547"]


async def test_300_numbers_make_exactly_3_upstream_calls(gateway) -> None:
    response = await gateway.stub.SendSms(send_request(phone_numbers=numbers(300)))

    assert [len(c.phone_numbers) for c in response.calls] == [125, 125, 50]
    assert gateway.sandbox.requests["/sms/send"] == 3
    sent = [n for batch in gateway.sandbox.batches for n in batch.phone_numbers]
    assert sorted(sent) == sorted(numbers(300))
    assert response.accepted_count == 300


async def test_idempotent_retry_makes_no_second_upstream_call(gateway) -> None:
    request = send_request(request_id=str(uuid.uuid4()), phone_numbers=numbers(2))
    first = await gateway.stub.SendSms(request)
    second = await gateway.stub.SendSms(request)

    assert gateway.sandbox.requests["/sms/send"] == 1
    assert second.replayed and not first.replayed
    assert [c.biz_id for c in second.calls] == [c.biz_id for c in first.calls]


async def test_same_request_id_with_another_request_is_already_exists(gateway) -> None:
    request_id = str(uuid.uuid4())
    await gateway.stub.SendSms(send_request(request_id=request_id))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendSms(send_request(request_id=request_id, content="another text"))

    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.ALREADY_EXISTS
    assert details.reason == "REQUEST_ID_REUSED" and details.domain == "smsgateway"
    assert gateway.sandbox.requests["/sms/send"] == 1


async def test_concurrent_duplicates_execute_once(gateway) -> None:
    gateway.sandbox.set_faults(latency_seconds=0.2, paths=frozenset({"/sms/send"}))
    request = send_request(request_id=str(uuid.uuid4()))
    responses = await asyncio.gather(*(gateway.stub.SendSms(request) for _ in range(10)))

    assert gateway.sandbox.requests["/sms/send"] == 1
    assert len({r.calls[0].biz_id for r in responses}) == 1
    assert sum(not r.replayed for r in responses) == 1


async def test_retry_after_partial_failure_sends_only_what_did_not_go_out(gateway) -> None:
    # Enough balance for the first call (125 recipients x 1 segment x 0.05) only.
    gateway.sandbox.balance = Decimal("6.25")
    request = send_request(request_id=str(uuid.uuid4()), phone_numbers=numbers(250))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendSms(request)

    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.FAILED_PRECONDITION
    assert details.reason == "UPSTREAM_REJECTED"
    assert details.metadata["provider_code"] == "10004"
    partial = details.partial
    assert isinstance(partial, pb.SendFailure)  # bounded: counts and the first failures
    assert [(f.index, f.outcome) for f in partial.first_failures] == [(1, pb.CALL_OUTCOME_REJECTED)]
    assert partial.accepted_count == 125 and partial.failed_count == 125
    stored = await gateway.stub.GetSend(pb.GetSendRequest(request_id=request.request_id))
    outcomes = [c.call.outcome for c in stored.calls]
    assert outcomes == [pb.CALL_OUTCOME_ACCEPTED, pb.CALL_OUTCOME_REJECTED]
    first_biz_id = stored.calls[0].call.biz_id

    gateway.sandbox.balance = Decimal("1000.00")
    response = await gateway.stub.SendSms(request)

    assert [c.outcome for c in response.calls] == [pb.CALL_OUTCOME_ACCEPTED] * 2
    assert response.calls[0].biz_id == first_biz_id
    assert len(gateway.sandbox.batches) == 2
    assert list(gateway.sandbox.batches[1].phone_numbers) == numbers(125, start=125)


async def test_send_template(gateway) -> None:
    response = await gateway.stub.SendTemplateSms(
        pb.SendTemplateSmsRequest(
            phone_numbers=["13651688564"],
            sign="圆通快递",
            template_id="1192360392260608",
            template_params_json='{"code": "1234"}',
            content="你的验证码是1234",
        )
    )
    assert response.calls[0].outcome == pb.CALL_OUTCOME_ACCEPTED
    sent = gateway.sandbox.batches[0]
    assert sent.template_id == "1192360392260608"
    assert sent.param_json == '{"code":"1234"}'
    assert sent.content == "【圆通快递】你的验证码是1234"


async def test_unapproved_template_is_failed_precondition_with_provider_code(gateway) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendTemplateSms(
            pb.SendTemplateSmsRequest(
                phone_numbers=["13651688564"],
                sign="圆通快递",
                template_id="999",
                template_params_json="[]",
                content="x",
            )
        )
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.FAILED_PRECONDITION
    assert details.metadata["provider_code"] == "10003"
    assert isinstance(details.partial, pb.SendFailure)


async def test_balance_is_exact_decimal(gateway) -> None:
    gateway.sandbox.balance = Decimal("100.10")
    response = await gateway.stub.GetBalance(pb.GetBalanceRequest())
    assert response.balance == "100.10"
    assert response.fetch_time.seconds > 0


async def test_balance_falls_with_billed_segments(gateway) -> None:
    before = Decimal((await gateway.stub.GetBalance(pb.GetBalanceRequest())).balance)
    await gateway.stub.SendSms(send_request(phone_numbers=numbers(3), content="长" * 100))
    after = Decimal((await gateway.stub.GetBalance(pb.GetBalanceRequest())).balance)
    assert before - after == Decimal("0.05") * 2 * 3


async def test_request_id_of_a_plain_send_cannot_be_reused_for_a_template_send(gateway) -> None:
    request_id = str(uuid.uuid4())
    await gateway.stub.SendSms(send_request(request_id=request_id))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gateway.stub.SendTemplateSms(
            pb.SendTemplateSmsRequest(
                phone_numbers=["13651688564"],
                sign="圆通快递",
                template_id="1192360392260608",
                template_params_json="{}",
                content="你的快件56682551825已签收，谢谢使用",
                request_id=request_id,
            )
        )
    assert details_of(caught.value).code == grpc.StatusCode.ALREADY_EXISTS
    assert gateway.sandbox.requests["/sms/sendTemplate"] == 0
