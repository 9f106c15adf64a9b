"""The lean HTTP/1.1 pool against raw TCP servers that answer exactly what each test scripts.

What a caller of the provider would notice: replies framed every way HTTP/1.1 allows,
connections reused (and not reused when they must not be), the bound on connections,
and each failure told apart as "never sent" or "sent, outcome unknown".
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from smsgateway.upstream.http1 import (
    ConnectFailed,
    ConnectTimeout,
    Http1Pool,
    ProtocolError,
    ReplyBroken,
)
from smsgateway.upstream.session import AttemptState
from testkit.certs import Authority

WAIT = 5.0
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Serve = Callable[..., Awaitable[tuple["RawServer", str]]]  # (handler, tls=None)


class RawServer:
    """A TCP server running `handler` per connection; counts connections and requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None = None) -> str:
        """Listen on a free port (over TLS with `tls`); the base URL."""

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}"

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        """One request (head and Content-Length body), recorded."""
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        request = head + (await reader.readexactly(length) if length else b"")
        self.requests.append(request)
        return request

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[RawServer] = []

    async def start(handler: Handler, tls: ssl.SSLContext | None = None) -> tuple[RawServer, str]:
        server = RawServer(handler)
        servers.append(server)
        return server, await server.start(tls)

    yield start
    for server in servers:
        await server.stop()


def keep_answering(*replies: bytes) -> Callable[[RawServer], Handler]:
    """A handler answering each request on a connection with the next of `replies`
    (the last one repeated)."""

    def make(server: RawServer) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            n = 0
            while True:
                await server.read_request(reader)
                writer.write(replies[min(n, len(replies) - 1)])
                await writer.drain()
                n += 1

        return handler

    return make


async def start_scripted(
    serve: Serve,
    make: Callable[[RawServer], Handler],
    tls: ssl.SSLContext | None = None,
) -> tuple[RawServer, str]:
    box: list[RawServer] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await make(box[0])(reader, writer)

    server, url = await serve(handler, tls)
    box.append(server)
    return server, url


async def post(pool: Http1Pool, body: bytes = b"a=1", seconds: float = WAIT) -> tuple[int, bytes]:
    return await pool.request(
        "POST",
        "/sms/send",
        body,
        content_type="application/x-www-form-urlencoded",
        seconds=seconds,
        state=AttemptState(),
    )


OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
    b'{"code":"10000"}\n'
)


async def test_keep_alive_reuses_one_connection_and_writes_a_well_formed_request(serve) -> None:
    server, url = await start_scripted(serve, keep_answering(OK))
    pool = Http1Pool(url + "/gw")
    try:
        for _ in range(5):
            assert await post(pool, b"token=t&phoneNumbers=%2B86138") == (
                200,
                b'{"code":"10000"}\n',
            )
        status, _ = await pool.request(
            "GET", "/api/token?appId=a", None, content_type=None, seconds=WAIT, state=AttemptState()
        )
        assert status == 200
    finally:
        await pool.close()
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /gw/sms/send HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in first
    assert b"\r\nContent-Type: application/x-www-form-urlencoded\r\n" in first
    assert b"\r\nContent-Length: 29\r\n\r\ntoken=t&phoneNumbers=%2B86138" in first
    assert server.requests[-1].startswith(b"GET /gw/api/token?appId=a HTTP/1.1\r\n")
    assert b"Content-Length" not in server.requests[-1]


async def test_chunked_reply_with_extensions_and_trailers(serve) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    server, url = await start_scripted(serve, keep_answering(chunked, OK))
    pool = Http1Pool(url)
    try:
        assert await post(pool) == (200, b"hello world")
        assert (await post(pool))[0] == 200  # the connection is still in step
    finally:
        await pool.close()
    assert server.connections == 1


async def test_reply_split_into_single_bytes_is_read_whole(serve) -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(3)
        for i in range(len(OK)):
            writer.write(OK[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0)
        await asyncio.sleep(WAIT)

    _, url = await serve(trickle)
    pool = Http1Pool(url)
    try:
        assert await post(pool) == (200, b'{"code":"10000"}\n')
    finally:
        await pool.close()


async def test_connection_close_and_http_1_0_replies_are_not_reused(serve) -> None:
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    until_eof = b"HTTP/1.0 200 OK\r\n\r\nuntil the end"

    async def once(reply: bytes, server_box: list[RawServer]) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server_box[0].read_request(reader)
            writer.write(reply)
            await writer.drain()

        return handler

    for reply, body in ((close, b"ok"), (until_eof, b"until the end")):
        box: list[RawServer] = []
        server, url = await serve(await once(reply, box))
        box.append(server)
        pool = Http1Pool(url)
        try:
            assert await post(pool) == (200, body)
            assert await post(pool) == (200, body)
        finally:
            await pool.close()
        assert server.connections == 2


async def test_at_most_max_connections_and_waiters_get_their_turn(serve) -> None:
    gate = asyncio.Event()

    def slow(server: RawServer) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                await server.read_request(reader)
                await gate.wait()
                writer.write(OK)
                await writer.drain()

        return handler

    server, url = await start_scripted(serve, slow)
    pool = Http1Pool(url, max_connections=2)
    try:
        calls = [asyncio.create_task(post(pool)) for _ in range(10)]
        await asyncio.sleep(0.2)
        assert server.connections == 2 and len(server.requests) == 2
        # A waiter whose time runs out leaves the queue without taking anyone's turn.
        with pytest.raises(TimeoutError):
            await post(pool, seconds=0.05)
        gate.set()
        results = await asyncio.wait_for(asyncio.gather(*calls), WAIT)
    finally:
        await pool.close()
    assert all(status == 200 for status, _ in results)
    assert server.connections == 2 and len(server.requests) == 10


async def test_a_connection_the_server_closed_while_idle_is_replaced(serve) -> None:
    def answer_once(server: RawServer) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            writer.write(OK)  # keep-alive promised, then closed (an idle timeout)
            await writer.drain()

        return handler

    server, url = await start_scripted(serve, answer_once)
    pool = Http1Pool(url)
    try:
        assert (await post(pool))[0] == 200
        await asyncio.sleep(0.1)  # the close reaches the pool while the connection is idle
        assert (await post(pool))[0] == 200
    finally:
        await pool.close()
    assert server.connections == 2


async def test_idle_connections_expire_after_keepalive_timeout(serve) -> None:
    server, url = await start_scripted(serve, keep_answering(OK))
    pool = Http1Pool(url, keepalive_timeout=0.05)
    try:
        await post(pool)
        await asyncio.sleep(0.1)
        await post(pool)
    finally:
        await pool.close()
    assert server.connections == 2


async def test_refused_connection_is_never_sent() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    pool = Http1Pool(f"http://127.0.0.1:{port}")
    state = AttemptState()
    with pytest.raises(ConnectFailed):
        await pool.request("POST", "/x", b"a", content_type=None, seconds=WAIT, state=state)
    assert not state.sent
    await pool.close()


async def test_tls_handshake_that_never_completes_is_a_connect_timeout(serve) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(WAIT)

    _, url = await serve(silent)
    pool = Http1Pool(url.replace("http://", "https://"), connect_timeout=0.2)
    state = AttemptState()
    with pytest.raises(ConnectTimeout):
        await pool.request("GET", "/x", None, content_type=None, seconds=WAIT, state=state)
    assert not state.sent
    await pool.close()


async def test_tls_to_a_server_that_does_not_speak_it_is_never_sent(serve) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"this is not TLS\r\n" * 10)
        await writer.drain()
        await asyncio.sleep(WAIT)

    _, url = await serve(garbage)
    pool = Http1Pool(url.replace("http://", "https://"), ssl_context=ssl.create_default_context())
    state = AttemptState()
    with pytest.raises(ConnectFailed):
        await pool.request("GET", "/x", None, content_type=None, seconds=WAIT, state=state)
    assert not state.sent
    await pool.close()


async def test_no_reply_in_time_is_a_timeout_after_sending(serve) -> None:
    def mute(server: RawServer) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            await asyncio.sleep(WAIT)

        return handler

    server, url = await start_scripted(serve, mute)
    pool = Http1Pool(url)
    state = AttemptState()
    with pytest.raises(TimeoutError):
        await pool.request("POST", "/x", b"a=1", content_type=None, seconds=0.2, state=state)
    assert state.sent
    await asyncio.sleep(0.05)
    assert len(server.requests) == 1
    assert pool._open == 0  # the connection in an unknown state was closed, not pooled
    await pool.close()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", ReplyBroken),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", ReplyBroken),
        (b"SMTP ready\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\n folded: header\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ProtocolError),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nok\r\n0\r\n\r\n",
            ProtocolError,
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n", ProtocolError),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", ProtocolError),
    ],
    ids=[
        "cut-body",
        "cut-chunk",
        "not-http",
        "bad-length",
        "two-lengths",
        "gzip-te",
        "gzip-ce",
        "folded",
        "bad-chunk-size",
        "chunk-size-0x",
        "extra-bytes",
        "body-over-bound",
        "head-over-64k",
    ],
)
async def test_broken_or_unbounded_replies_fail_as_sent(serve, reply: bytes, error: type) -> None:
    def broken(server: RawServer) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            writer.write(reply)
            await writer.drain()
            writer.close()

        return handler

    _, url = await start_scripted(serve, broken)
    pool = Http1Pool(url, max_body_bytes=1024 * 1024)
    state = AttemptState()
    with pytest.raises(error):
        await pool.request("POST", "/x", b"a=1", content_type=None, seconds=WAIT, state=state)
    assert state.sent
    assert pool._open == 0
    await pool.close()


async def test_interim_100_reply_is_skipped_and_204_has_no_body(serve) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    empty = b"HTTP/1.1 204 No Content\r\n\r\n"
    server, url = await start_scripted(serve, keep_answering(interim, empty, OK))
    pool = Http1Pool(url)
    try:
        assert await post(pool) == (200, b"ok")
        assert await post(pool) == (204, b"")
        assert (await post(pool))[0] == 200
    finally:
        await pool.close()
    assert server.connections == 1


async def test_closed_pool_refuses_and_wakes_its_waiters(serve) -> None:
    gate = asyncio.Event()

    def slow(server: RawServer) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.read_request(reader)
            await gate.wait()

        return handler

    _, url = await start_scripted(serve, slow)
    pool = Http1Pool(url, max_connections=1)
    busy = asyncio.create_task(post(pool))
    waiting = asyncio.create_task(post(pool))
    await asyncio.sleep(0.1)
    await pool.close()
    with pytest.raises(ConnectFailed):
        await asyncio.wait_for(waiting, WAIT)
    with pytest.raises(ConnectFailed):
        await post(pool)
    busy.cancel()
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await busy


async def test_tls_verifies_the_server_and_reuses_the_connection(serve, tmp_path: Path) -> None:
    ca = Authority.create(tmp_path / "ca")
    pair = ca.issue("provider", server=True)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(pair.cert, pair.key)
    server, url = await start_scripted(serve, keep_answering(OK), server_tls)
    port = int(url.rsplit(":", 1)[1])
    trusted = ssl.create_default_context(cafile=str(ca.cert))
    pool = Http1Pool(f"https://localhost:{port}", ssl_context=trusted)
    untrusted = Http1Pool(f"https://localhost:{port}")  # the system's CAs: not ours
    try:
        assert await post(pool) == (200, b'{"code":"10000"}\n')
        assert (await post(pool))[0] == 200
        state = AttemptState()
        with pytest.raises(ConnectFailed):
            await untrusted.request("GET", "/", None, content_type=None, seconds=WAIT, state=state)
        assert not state.sent
    finally:
        await pool.close()
        await untrusted.close()
    assert len(server.requests) == 2
    assert server.requests[0].count(b"Host: localhost:%d" % port) == 1


@pytest.mark.parametrize(
    ("url", "settings"),
    [
        ("ftp://host", {}),
        ("http://", {}),
        ("http://host", {"max_connections": 0}),
        ("http://host", {"keepalive_timeout": 0}),
        ("http://host", {"connect_timeout": -1}),
    ],
)
def test_pool_refuses_settings_it_cannot_honour(url: str, settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Http1Pool(url, **settings)  # type: ignore[arg-type]
