"""The pipelined Redis connection of the hot path, against a real redis-server.

Many callers share one socket, so what matters is that every caller gets its own
reply (also when others gave up), that Redis errors keep redis-py's classes, that
a dead, restarted or frozen Redis fails the waiting commands promptly and is
reconnected to by itself, and that credentials and databases are honoured.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
import redis.exceptions as rex
import uvloop

from smsgateway.backends.redis.connection import LuaScript, RedisSettings, connect
from smsgateway.backends.redis.multiplex import Multiplexer
from smsgateway.store_errors import StoreUnavailableError
from testkit.redis_server import RedisServer

ECHO = "return ARGV[1]"


def mux(server: RedisServer, **kwargs: object) -> Multiplexer:
    options: dict[str, object] = {"command_timeout": 2.0, "connect_timeout": 1.0, **kwargs}
    return Multiplexer("127.0.0.1", server.port, **options)  # type: ignore[arg-type]


async def test_concurrent_callers_each_get_their_own_reply(redis_server: RedisServer) -> None:
    m = mux(redis_server)
    try:
        async with asyncio.timeout(20):
            replies = await asyncio.gather(
                *(m.execute("EVAL", ECHO, 0, f"caller-{i}") for i in range(2000))
            )
        assert replies == [f"caller-{i}".encode() for i in range(2000)]
    finally:
        await m.aclose()


async def test_callers_that_give_up_do_not_shift_the_others_replies(
    redis_server: RedisServer,
) -> None:
    m = mux(redis_server)
    try:
        slow = [
            asyncio.create_task(m.execute("EVAL", "redis.call('PING') return ARGV[1]", 0, i))
            for i in range(50)
        ]
        for task in slow[::2]:
            task.cancel()
        async with asyncio.timeout(10):
            done = await asyncio.gather(*slow, return_exceptions=True)
            after = await m.execute("EVAL", ECHO, 0, "after")
        assert after == b"after"
        for i, outcome in enumerate(done):
            if i % 2:
                assert outcome == str(i).encode()
            else:
                assert isinstance(outcome, asyncio.CancelledError)
    finally:
        await m.aclose()


async def test_redis_errors_keep_redis_py_classes(redis_server: RedisServer) -> None:
    m = mux(redis_server)
    try:
        async with asyncio.timeout(10):
            with pytest.raises(rex.NoScriptError):
                await m.execute("EVALSHA", "0" * 40, 0)
            with pytest.raises(rex.ResponseError, match="boom"):
                await m.execute("EVAL", "return redis.error_reply('boom')", 0)
            # The connection stays usable after error replies.
            assert await m.execute("EVAL", "return {1, 'two', false}", 0) == [1, b"two", None]
    finally:
        await m.aclose()


async def test_a_script_reloads_when_redis_lost_it(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    client = connect(RedisSettings(url=redis_server.url))
    assert client.multiplexer is not None
    script = LuaScript(f"return '{redis_prefix}' .. ARGV[1]", "test script")
    try:
        async with asyncio.timeout(10):
            await client.script_flush()
            assert await script.run(client, [], ["x"]) == f"{redis_prefix}x".encode()
            assert await script.run(client, [], ["y"]) == f"{redis_prefix}y".encode()
    finally:
        await client.aclose()


async def test_password_and_database_are_used(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", password="s3cret-pass").start()
    try:
        m = Multiplexer("127.0.0.1", server.port, db=3, password="s3cret-pass", command_timeout=2.0)
        async with asyncio.timeout(10):
            await m.execute("EVAL", "redis.call('SET', 'mux-db-probe', '1')", 0)
            client = connect(RedisSettings(url=f"redis://:s3cret-pass@127.0.0.1:{server.port}/3"))
            assert await client.get("mux-db-probe") == b"1"
            await client.aclose()
        await m.aclose()
        wrong = Multiplexer("127.0.0.1", server.port, password="wrong", retries=0)
        async with asyncio.timeout(10):
            with pytest.raises(rex.AuthenticationError):
                await wrong.execute("EVAL", ECHO, 0, "x")
        await wrong.aclose()
    finally:
        server.stop()


async def test_a_dead_redis_fails_fast_and_a_restarted_one_is_used_again(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    client = connect(RedisSettings(url=server.url, retries=1, connect_timeout_seconds=0.5))
    script = LuaScript("return ARGV[1]", "echo")
    try:
        async with asyncio.timeout(20):
            assert await script.run(client, [], ["before"]) == b"before"
            server.kill()
            with pytest.raises(StoreUnavailableError, match="echo"):
                await script.run(client, [], ["during"])
            server.start()
            assert await script.run(client, [], ["after"]) == b"after"
    finally:
        await client.aclose()
        server.stop()


async def test_a_frozen_redis_times_out_and_the_connection_recovers(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    assert server.process is not None
    m = mux(server, command_timeout=0.5, retries=0)
    try:
        async with asyncio.timeout(20):
            assert await m.execute("EVAL", ECHO, 0, "a") == b"a"
            os.kill(server.process.pid, signal.SIGSTOP)
            try:
                with pytest.raises(rex.TimeoutError):
                    await m.execute("EVAL", ECHO, 0, "frozen")
            finally:
                os.kill(server.process.pid, signal.SIGCONT)
            assert await m.execute("EVAL", ECHO, 0, "b") == b"b"
    finally:
        await m.aclose()
        server.stop()


async def test_commands_in_flight_are_bounded(redis_server: RedisServer) -> None:
    m = mux(redis_server, max_in_flight=10)
    try:
        async with asyncio.timeout(10):
            outcomes = await asyncio.gather(
                *(m.execute("EVAL", ECHO, 0, i) for i in range(30)), return_exceptions=True
            )
        refused = [o for o in outcomes if isinstance(o, rex.ConnectionError)]
        assert len(refused) == 20
        assert all("wait for replies" in str(o) for o in refused)
        assert [o for o in outcomes if isinstance(o, bytes)] == [str(i).encode() for i in range(10)]
    finally:
        await m.aclose()


def _count_writes(m: Multiplexer) -> list[int]:
    """The number of commands in each write of `m`'s current connection, in order."""
    connection = m._connection
    assert connection is not None
    sizes: list[int] = []
    write = connection._write

    def counted() -> None:
        if connection._outgoing:
            sizes.append(len(connection._outgoing))
        write()

    connection._write = counted  # type: ignore[method-assign]
    return sizes


async def test_commands_queued_while_others_wait_share_writes(redis_server: RedisServer) -> None:
    m = mux(redis_server, linger_seconds=0.05)
    try:
        async with asyncio.timeout(10):
            assert await m.execute("EVAL", ECHO, 0, "first") == b"first"
            sizes = _count_writes(m)
            # A command that waits 0.3 s for its reply (this connection's next replies
            # come after it): the commands queued meanwhile linger for one another.
            slow = asyncio.ensure_future(m.execute("BLPOP", "nothing-here", 0.3))

            async def one(i: int) -> object:
                await asyncio.sleep(0.001 + i * 0.002)  # one every 2 ms
                return await m.execute("EVAL", ECHO, 0, i)

            replies = await asyncio.gather(*(one(i) for i in range(60)))
            assert await slow is None
        assert replies == [str(i).encode() for i in range(60)]  # each its own reply, in order
        assert sizes[0] == 1 and sum(sizes) == 61  # the slow one went at once, alone
        # 120 ms of commands in 50 ms writes: a handful, not 60.
        assert len(sizes) <= 5, sizes
    finally:
        await m.aclose()


async def test_commands_that_follow_one_another_are_written_at_once(
    redis_server: RedisServer,
) -> None:
    m = mux(redis_server, linger_seconds=60.0)  # a linger no test would wait out
    try:
        async with asyncio.timeout(5):
            for i in range(3):  # none in flight when each is sent
                assert await m.execute("EVAL", ECHO, 0, i) == str(i).encode()
    finally:
        await m.aclose()


async def test_a_full_batch_is_written_without_waiting_for_the_linger(
    redis_server: RedisServer,
) -> None:
    m = mux(redis_server, linger_seconds=60.0)
    try:
        async with asyncio.timeout(5):
            assert await m.execute("EVAL", ECHO, 0, "first") == b"first"
            slow = asyncio.ensure_future(m.execute("BLPOP", "nothing-here", 0.5))
            await asyncio.sleep(0.05)
            # Queued while the slow one waits: they linger, and go once there are 256.
            replies = await asyncio.gather(*(m.execute("EVAL", ECHO, 0, i) for i in range(256)))
            assert await slow is None
        assert replies == [str(i).encode() for i in range(256)]
    finally:
        await m.aclose()


async def test_closed_multiplexer_refuses(redis_server: RedisServer) -> None:
    m = mux(redis_server)
    async with asyncio.timeout(10):
        assert await m.execute("EVAL", ECHO, 0, "x") == b"x"
        await m.aclose()
        with pytest.raises(rex.ConnectionError, match="closed"):
            await m.execute("EVAL", ECHO, 0, "y")


def test_works_on_uvloop(redis_server: RedisServer) -> None:
    """The gateway runs on uvloop, whose transports are not asyncio's classes."""

    async def run() -> list[object]:
        m = mux(redis_server)
        try:
            async with asyncio.timeout(10):
                return list(
                    await asyncio.gather(*(m.execute("EVAL", ECHO, 0, i) for i in range(100)))
                )
        finally:
            await m.aclose()

    assert uvloop.run(run()) == [str(i).encode() for i in range(100)]
