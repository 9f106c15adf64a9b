"""Where the CPU of one large SendSms goes, piece by piece, in this process.

Used by ``bench_soak.py --mode large`` (which also measures the whole gateway process
from /proc); runnable alone:

    .venv/bin/python bench/large_breakdown.py [--backend sqlite|redis|both]
        [--recipients 100000] [--runs 3] [--no-provider]

Each piece is the gateway's own code, called the way a send calls it, timed with
`time.process_time` (every thread of this process: the SQLite writer threads count,
a redis-server does not, its CPU is printed apart), best of `--runs`:

* parse: the request's bytes to a `SendSmsRequest` (what the gRPC server does).
* validate: `plan_send` without its fingerprint (numbers, sign, content, kind, id).
* fingerprint: `SendPlan.fingerprint_of` (the idempotency identity of the request).
* split: `plan_batches` and the planned `SendSmsResponse` with one call per batch.
* claim: `IdempotencyStore.claim` of that response, the first 8 calls in flight.
* take calls: `take_calls` for every other call, 32 at a time (one durable write per
  group, as sends do when a call of a new group starts), interleaved with
  `record_outcome` of the finished ones.
* outcomes: `record_outcome` of the last calls, flushed by one `update_call`.
* send log: `SendLog.record_sends` of every call as accepted.
* response: totals and `SerializeToString` of the final response.
* provider calls: `ProviderClient.send` per batch against an in-process sandbox on
  another thread, 8 at a time, counted with `time.thread_time` on the client thread
  (the sandbox's CPU is excluded); not part of the goal's budget.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_backends import chosen, cpu_seconds, open_store

from smsgateway.api.validation import plan_send
from smsgateway.events.model import SentBatch
from smsgateway.messaging import plan_batches
from smsgateway.sending.service import SendPlan
from smsgateway.v1 import smsgateway_pb2 as pb

IN_FLIGHT_AT_ONCE = 8
"""`max_concurrent_calls`' default: calls premarked in flight by the claim."""


def large_request(recipients: int) -> pb.SendSmsRequest:
    return pb.SendSmsRequest(
        phone_numbers=[f"139{i:08d}" for i in range(recipients)],
        sign="Bench",
        content="benchmark message",
        kind=pb.SMS_KIND_NOTICE,
        request_id=str(uuid.uuid4()),
    )


def planned_response(plan: SendPlan) -> pb.SendSmsResponse:
    """The response `SendService` plans before the claim (no limits, no suppressions)."""
    response = pb.SendSmsResponse(
        request_id=plan.request_id,
        recipient_count=len(plan.phone_numbers),
        segments_per_message=plan.segments,
        content=plan.content,
    )
    for index, batch in enumerate(plan_batches(plan.phone_numbers)):
        response.calls.add(index=index, phone_numbers=batch, outcome=pb.CALL_OUTCOME_NOT_SENT)
    return response


def cpu_of(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


async def acpu_of(work: Callable[[], Awaitable[object]]) -> float:
    start = time.process_time()
    await work()
    return time.process_time() - start


def _in_flight(call: pb.UpstreamCall) -> None:
    call.outcome = pb.CALL_OUTCOME_UNKNOWN
    call.message = "in flight"


def _accepted(call: pb.UpstreamCall) -> None:
    call.outcome = pb.CALL_OUTCOME_ACCEPTED
    call.biz_id = f"biz-{uuid.uuid4().hex[:16]}"
    call.provider_code = "10000"
    call.message = "ok"


TAKE_GROUP = 32
"""Calls taken per store operation (as `sending.service` does)."""


async def one_run(store: Any, recipients: int) -> dict[str, float]:
    """CPU seconds of each piece for one send of `recipients` numbers."""
    times: dict[str, float] = {}
    request = large_request(recipients)
    blob = request.SerializeToString()
    times["parse"] = cpu_of(lambda: pb.SendSmsRequest.FromString(blob))
    request = pb.SendSmsRequest.FromString(blob)
    plans: list[SendPlan] = []
    both = cpu_of(lambda: plans.append(plan_send(request)))
    times["fingerprint"] = cpu_of(lambda: SendPlan.fingerprint_of(request))
    times["validate"] = max(0.0, both - times["fingerprint"])
    plan = plans[0]
    responses: list[pb.SendSmsResponse] = []
    times["split"] = cpu_of(lambda: responses.append(planned_response(plan)))
    response = responses[0]
    calls = list(response.calls)
    for call in calls[:IN_FLIGHT_AT_ONCE]:
        _in_flight(call)
    idem = store.idempotency
    times["claim"] = await acpu_of(lambda: idem.claim(plan.request_id, plan.fingerprint, response))

    progress = {"finished": 0}  # calls before this one have their outcome recorded

    async def take_calls() -> None:
        rest = calls[IN_FLIGHT_AT_ONCE:]
        finished = progress["finished"]
        for start in range(0, len(rest), TAKE_GROUP):
            group = rest[start : start + TAKE_GROUP]
            # When a group starts, the calls before the last 8 have finished.
            for call in calls[finished:start]:
                _accepted(call)
                idem.record_outcome(plan.request_id, call)
            finished = progress["finished"] = start
            for call in group:
                _in_flight(call)
            if len(await idem.take_calls(plan.request_id, group)) != len(group):
                raise RuntimeError("take_calls refused a free call")

    times["take calls"] = await acpu_of(take_calls)

    async def outcomes() -> None:
        rest = calls[progress["finished"] :]
        for call in rest:
            _accepted(call)
        for call in rest[:-1]:
            idem.record_outcome(plan.request_id, call)
        await idem.update_call(plan.request_id, rest[-1])  # also writes the pending ones

    times["outcomes"] = await acpu_of(outcomes)
    now = datetime.now(UTC)
    batches = [
        SentBatch(c.biz_id, tuple(c.phone_numbers), plan.sign, plan.kind, now, "bench")
        for c in calls
    ]
    times["send log"] = await acpu_of(lambda: store.send_log.record_sends(batches))

    def finish() -> bytes:
        accepted = sum(len(c.phone_numbers) for c in response.calls)
        response.accepted_count = accepted
        return response.SerializeToString()

    times["response"] = cpu_of(finish)
    return times


async def provider_cpu(recipients: int) -> tuple[float, int]:
    """Client-side CPU (this thread) of the provider calls of one send, and their count."""
    from bench_upstream import SandboxThread

    from smsgateway.upstream import ProviderClient, UpstreamConfig, new_pool

    numbers = [f"139{i:08d}" for i in range(recipients)]
    batches = plan_batches(numbers)
    sandbox_thread = SandboxThread()
    url, sandbox = sandbox_thread.start()
    config = UpstreamConfig(
        base_url=url, app_id=sandbox.config.app_id, secret=sandbox.config.secret
    )
    try:
        session = new_pool(config)  # the HTTP client the gateway uses
        client = ProviderClient(session, config)
        await client.tokens.get()
        limit = asyncio.Semaphore(IN_FLIGHT_AT_ONCE)

        async def call(batch: tuple[str, ...]) -> None:
            async with limit:
                await client.send(
                    phone_numbers=batch, sign="Bench", content="【Bench】benchmark message", kind=2
                )

        await asyncio.gather(*(call(b) for b in batches[:50]))  # warm-up
        start = time.thread_time()
        await asyncio.gather(*(call(b) for b in batches))
        cpu = time.thread_time() - start
        await client.close()
        await session.close()
    finally:
        sandbox_thread.stop()
    return cpu, len(batches)


PIECES = ("parse", "validate", "fingerprint", "split")
RECORDS = ("claim", "take calls", "outcomes", "send log")


async def breakdown(backend: str, recipients: int, runs: int, provider: bool) -> None:
    """Print the best-of-`runs` CPU of every piece of one `recipients`-number send."""
    with tempfile.TemporaryDirectory(prefix=f"smsgw-large-{backend}-") as tmp:
        async with open_store(backend, Path(tmp)) as (store, redis_pid):
            best: dict[str, float] = {}
            redis_cpu = float("inf")
            for _ in range(runs):
                before = cpu_seconds(redis_pid) if redis_pid else 0.0
                for name, seconds in (await one_run(store, recipients)).items():
                    best[name] = min(best.get(name, float("inf")), seconds)
                if redis_pid:
                    redis_cpu = min(redis_cpu, cpu_seconds(redis_pid) - before)
    ms = {name: seconds * 1e3 for name, seconds in best.items()}
    validate_split = sum(ms[n] for n in PIECES)
    records = sum(ms[n] for n in RECORDS)
    print(f"  in-process breakdown, {recipients:,} recipients, best of {runs} (CPU ms):")
    print("    " + ", ".join(f"{n} {ms[n]:.1f}" for n in PIECES))
    print(f"    = validate+split {validate_split:.1f} ms")
    print("    " + ", ".join(f"{n} {ms[n]:.1f}" for n in RECORDS))
    print(
        f"    = records {records:.1f} ms"
        + (f" (redis-server {redis_cpu * 1e3:.0f} ms apart)" if redis_cpu != float("inf") else "")
    )
    print(f"    response {ms['response']:.1f} ms")
    print(
        f"    total without provider calls {validate_split + records + ms['response']:.1f} ms"
        " (goal: < 500)"
    )
    if provider:
        cpu, count = await provider_cpu(recipients)
        print(
            f"    provider calls (client side, not in the goal): {cpu * 1e3:.0f} ms"
            f" for {count} calls ({cpu / count * 1e6:.0f} µs/call)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="both", choices=["sqlite", "redis", "both"])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-provider", action="store_true")
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    for backend in chosen(args.backend):
        print(f"{backend}:", flush=True)
        asyncio.run(breakdown(backend, args.recipients, args.runs, not args.no_provider))


if __name__ == "__main__":
    main()
