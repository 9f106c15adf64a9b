"""The subscribers of bench_stream.py: grpc.aio clients streaming `StreamDeliveryReports`,
in the bench's process (`inline`) or in a child process (`process`, the default), each
recording when it received every cursor (perf_counter: CLOCK_MONOTONIC, comparable
across processes on one machine). They read both response shapes: one report in
`report`, or several in `reports` (`max_events_per_response` > 1).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass, field
from typing import Any

import grpc

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc


@dataclass
class _Subscriber:
    received: dict[int, float] = field(default_factory=dict)
    count: int = 0
    target: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def _follow(
    stub: smsgateway_pb2_grpc.SmsGatewayStub, sub: _Subscriber, per_response: int
) -> None:
    call = stub.StreamDeliveryReports(
        pb.StreamDeliveryReportsRequest(max_events_per_response=per_response)
    )
    try:
        async for message in call:
            now = time.perf_counter()
            reports = message.reports or [message.report]
            for report in reports:
                sub.received[report.cursor] = now
            sub.count += len(reports)
            if sub.target and sub.count >= sub.target:
                sub.done.set()
    finally:
        call.cancel()


class Clients:
    """Subscribers, in this process or in a child one (same questions, same answers)."""

    def __init__(self, port: int, subscribers: int, mode: str, per_response: int) -> None:
        self.subscribers = subscribers
        self._inline: _Followers | None = None
        self._pipe: Any = None
        self._proc: Any = None
        if mode == "inline":
            self._inline = _Followers(port, subscribers, per_response)
        else:
            ctx = multiprocessing.get_context("spawn")
            self._pipe, child = ctx.Pipe()
            self._proc = ctx.Process(
                target=_child_main, args=(port, subscribers, per_response, child)
            )
            self._proc.start()

    async def _ask(self, *command: Any) -> Any:
        if self._inline is not None:
            return await self._inline.answer(command)
        self._pipe.send(command)
        return await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)

    async def start(self) -> None:
        if self._inline is not None:
            self._inline.start()

    async def received(self, count: int) -> list[dict[int, float]]:
        """Each subscriber's {cursor: receive time}, once it has `count` messages (or 5 s)."""
        result: list[dict[int, float]] = await self._ask("collect", count)
        return result

    async def expect(self, count: int) -> float:
        """Wait until every subscriber has `count` more messages; the child's CPU seconds."""
        result: float = await self._ask("expect", count)
        return result

    async def close(self) -> None:
        await self._ask("stop")
        if self._proc is not None:
            self._proc.join(30)


class _Followers:
    def __init__(self, port: int, subscribers: int, per_response: int) -> None:
        self._port = port
        self._per_response = per_response
        self._subs = [_Subscriber() for _ in range(subscribers)]
        self._tasks: list[asyncio.Task[None]] = []
        self._channels: list[grpc.aio.Channel] = []

    def start(self) -> None:
        # A few connections, as many client processes would open.
        self._channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{self._port}")
            for _ in range(min(len(self._subs), 4))
        ]
        stubs = [smsgateway_pb2_grpc.SmsGatewayStub(c) for c in self._channels]
        self._tasks = [
            asyncio.create_task(_follow(stubs[i % len(stubs)], s, self._per_response))
            for i, s in enumerate(self._subs)
        ]

    async def answer(self, command: tuple[Any, ...]) -> Any:
        if command[0] == "collect":
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(  # noqa: ASYNC110
                len(s.received) < command[1] for s in self._subs
            ):
                await asyncio.sleep(0.05)
            out = [dict(s.received) for s in self._subs]
            for s in self._subs:
                s.received.clear()
            return out
        if command[0] == "expect":
            cpu = time.process_time()
            for sub in self._subs:
                sub.target = sub.count + command[1]
                sub.done.clear()
            await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in self._subs)), 600)
            return time.process_time() - cpu
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self._channels:
            await channel.close()
        return None


def _child_main(port: int, subscribers: int, per_response: int, pipe: Any) -> None:
    async def serve() -> None:
        followers = _Followers(port, subscribers, per_response)
        followers.start()
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command[0] == "expect":
                # Answered when done; the parent ingests meanwhile.
                pipe.send(await followers.answer(command))
                continue
            pipe.send(await followers.answer(command))
            if command[0] == "stop":
                return

    asyncio.run(serve())
