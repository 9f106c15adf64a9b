"""The request_id records: durable progress, conservative after a crash, forgotten after the TTL."""

from __future__ import annotations

from pathlib import Path

from smsgateway.backends.sqlite.idempotency import SqliteIdempotencyStore as IdempotencyStore
from smsgateway.v1 import smsgateway_pb2 as pb


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def planned(n_calls: int) -> pb.SendSmsResponse:
    response = pb.SendSmsResponse(request_id="r1", recipient_count=n_calls, content="【s】x")
    for i in range(n_calls):
        response.calls.add(
            index=i, phone_numbers=[f"1380000000{i}"], outcome=pb.CALL_OUTCOME_NOT_SENT
        )
    return response


async def test_progress_survives_a_restart_and_in_flight_stays_unknown(tmp_path: Path) -> None:
    path = tmp_path / "idem.db"
    store = IdempotencyStore(path, ttl_seconds=60)
    await store.open()
    response = planned(3)
    assert await store.claim("r1", b"fp", response) is None
    accepted = pb.UpstreamCall(
        index=0,
        phone_numbers=["13800000000"],
        outcome=pb.CALL_OUTCOME_ACCEPTED,
        biz_id="1" * 20,
        provider_code="10000",
    )
    await store.update_call("r1", accepted)
    in_flight = pb.UpstreamCall(index=1, outcome=pb.CALL_OUTCOME_UNKNOWN, message="in flight")
    await store.update_call("r1", in_flight)
    await store.close()  # the process "dies" here, before call 1's answer was recorded

    reopened = IdempotencyStore(path, ttl_seconds=60)
    await reopened.open()
    record = await reopened.get("r1")
    await reopened.close()

    assert record is not None and record.fingerprint == b"fp"
    outcomes = [c.outcome for c in record.response.calls]
    assert outcomes == [pb.CALL_OUTCOME_ACCEPTED, pb.CALL_OUTCOME_UNKNOWN, pb.CALL_OUTCOME_NOT_SENT]
    assert record.response.calls[0].biz_id == "1" * 20
    assert list(record.response.calls[2].phone_numbers) == ["13800000002"]
    assert record.response.content == "【s】x"


async def test_records_expire_after_the_ttl(tmp_path: Path) -> None:
    clock = Clock()
    store = IdempotencyStore(tmp_path / "idem.db", ttl_seconds=60, clock=clock)
    await store.open()
    assert await store.claim("r1", b"fp", planned(1)) is None
    clock.now += 59
    assert await store.get("r1") is not None
    clock.now += 2
    assert await store.get("r1") is None
    assert await store.prune() == 1
    # An expired id can be used again from scratch.
    assert await store.claim("r1", b"other", planned(2)) is None
    record = await store.get("r1")
    assert record is not None and len(record.response.calls) == 2
    await store.close()
