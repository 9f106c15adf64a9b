"""A send's outcome queued while Redis is down is written once Redis is back, not dropped:
the send was already answered, so its record must not stay "in flight"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smsgateway.backends.redis.connection import RedisSettings, connect
from smsgateway.backends.redis.idempotency import RedisIdempotencyStore
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.store_errors import StoreUnavailableError
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.redis_server import RedisServer


def planned() -> pb.SendSmsResponse:
    response = pb.SendSmsResponse(request_id="r1", recipient_count=1, content="【s】x")
    response.calls.add(
        index=0, phone_numbers=["13800000000"], outcome=pb.CALL_OUTCOME_UNKNOWN, message="in flight"
    )
    return response


async def test_an_outcome_recorded_during_an_outage_lands_after_the_restart(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis", appendonly=True, appendfsync="always").start()
    client = connect(RedisSettings(url=server.url))
    store = RedisIdempotencyStore(client, RedisKeys("outage"), ttl_seconds=60)
    try:
        assert await store.claim("r1", b"fp", planned()) is None
        server.kill()
        store.record_outcome(
            "r1",
            pb.UpstreamCall(
                index=0, outcome=pb.CALL_OUTCOME_ACCEPTED, biz_id="4" * 20, provider_code="10000"
            ),
        )
        await asyncio.sleep(0.5)  # the flush fails (Redis is down) and keeps the outcome
        with pytest.raises(StoreUnavailableError):
            await store.get("r1")
        await asyncio.to_thread(server.start)
        other_client = connect(RedisSettings(url=server.url))  # another replica reads
        other = RedisIdempotencyStore(other_client, RedisKeys("outage"), ttl_seconds=60)
        for _ in range(100):  # the flush retries with backoff (≤ 5 s between attempts)
            seen = await other.get("r1")
            assert seen is not None
            if seen.response.calls[0].outcome == pb.CALL_OUTCOME_ACCEPTED:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the outcome queued during the outage was never written")
        assert seen.response.calls[0].biz_id == "4" * 20
        await other_client.aclose()
    finally:
        await store.close()
        await client.aclose()
        server.stop()
