"""A lean HTTP/1.1 client for the provider: keep-alive connections to one origin.

The provider's API is form requests to one origin answered with small JSON bodies.
This client does exactly that and nothing else: no redirects (a 3xx comes back as
is), no cookies, no proxies, no compression (it asks for none), no `Expect`. For
that it costs a fraction of aiohttp's request machinery per call
(`bench/bench_upstream.py` prints both), which the send path pays once per call.

"Sent" versus "never sent": the attempt's `AttemptState.sent` is set as the request's
bytes are handed to the socket. Everything before (waiting for a pooled
connection, resolving, connecting, the TLS handshake) fails as `NotSentError`
material: `ConnectFailed`, `ConnectTimeout`, or `TimeoutError` with `sent` unset.

Bounds: at most `max_connections` connections (callers beyond wait, in order, within
their timeout); idle connections are closed after `keepalive_timeout` seconds;
a reply's head is at most 64 KiB and its body at most `max_body_bytes`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from smsgateway.upstream.http1_connection import (
    MAX_BODY_BYTES,
    ConnectFailed,
    Connection,
    ConnectTimeout,
    ProtocolError,
    ReplyBroken,
)

if TYPE_CHECKING:
    from smsgateway.upstream.session import AttemptState

__all__ = ["ConnectFailed", "ConnectTimeout", "Http1Pool", "ProtocolError", "ReplyBroken"]


class Http1Pool:
    """Keep-alive HTTP/1.1 connections to one origin (`http://` or `https://`)."""

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = 100,
        keepalive_timeout: float = 15.0,
        connect_timeout: float = 3.0,
        user_agent: str = "smsgateway",
        ssl_context: ssl.SSLContext | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        """`base_url`: scheme, host, optional port and path prefix (every target goes under
        it); `max_connections`: open at once, at most; `keepalive_timeout`: seconds an idle
        connection is kept; `connect_timeout`: seconds to connect (TLS handshake included);
        `ssl_context`: for `https://` (default: the system's trust store, names checked);
        `max_body_bytes`: the largest reply body accepted."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL with a host")
        if max_connections < 1 or keepalive_timeout <= 0 or connect_timeout <= 0:
            raise ValueError("max_connections and both timeouts must be positive")
        self._tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._tls = ssl_context or ssl.create_default_context()
        self._host = parts.hostname
        default_port = 443 if parts.scheme == "https" else 80
        self._port = parts.port or default_port
        host = f"[{self._host}]" if ":" in self._host else self._host
        authority = host if self._port == default_port else f"{host}:{self._port}"
        self._base_path = parts.path.rstrip("/")
        self._common = f"Host: {authority}\r\nUser-Agent: {user_agent}\r\n".encode("ascii")
        self._max_connections = max_connections
        self._keepalive = keepalive_timeout
        self._connect_timeout = connect_timeout
        self._max_body = max_body_bytes
        self._idle: list[Connection] = []
        self._open = 0  # connections open or being opened
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    def __repr__(self) -> str:
        return f"Http1Pool({self._host}:{self._port}, open={self._open}, idle={len(self._idle)})"

    async def request(
        self,
        method: str,
        target: str,
        body: bytes | None,
        *,
        content_type: str | None,
        seconds: float,
        state: AttemptState,
    ) -> tuple[int, bytes]:
        """One request within `seconds`, waiting and connecting included; its status and body.

        `target`: the path (under the base URL's) and query, already encoded.
        Raises `ConnectFailed` / `ConnectTimeout` (nothing sent), `ReplyBroken`,
        `ProtocolError`, or `TimeoutError` (`state.sent` tells whether bytes left).
        """
        data = self._head(method, target, content_type, body)
        async with asyncio.timeout(seconds):
            connection = await self._acquire()
            reusable = False
            try:
                future = connection.request(data)
                state.sent = True  # from here on the provider may have the request
                reply = await future
                reusable = reply.keep_alive
                return reply.status, bytes(reply.body)
            finally:
                self._release(connection, reusable)

    async def close(self) -> None:
        """Close every connection; later requests fail with `ConnectFailed`."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectFailed("the client was closed"))

    def _head(
        self, method: str, target: str, content_type: str | None, body: bytes | None
    ) -> bytes:
        prefix = self._common
        if content_type:
            prefix += f"Content-Type: {content_type}\r\n".encode("ascii")
        line = f"{method} {self._base_path}{target} HTTP/1.1\r\n".encode("ascii")
        if body is None:
            return line + prefix + b"\r\n"
        return b"".join((line, prefix, b"Content-Length: %d\r\n\r\n" % len(body), body))

    async def _acquire(self) -> Connection:
        loop = asyncio.get_running_loop()
        while True:
            if self._closed:
                raise ConnectFailed("the client was closed")
            now = loop.time()
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed and now - connection.idle_since < self._keepalive:
                    return connection
                self._drop(connection)
            if self._open < self._max_connections:
                self._open += 1
                try:
                    return await self._connect(loop)
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, but leaving: the turn goes to the next one
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                raise

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> Connection:
        max_body = self._max_body
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(loop, max_body),
                    self._host,
                    self._port,
                    ssl=self._tls,
                    server_hostname=self._host if self._tls is not None else None,
                )
        except TimeoutError:
            raise ConnectTimeout("connecting timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(exc.strerror or type(exc).__name__) from None
        return connection

    def _release(self, connection: Connection, reusable: bool) -> None:
        if reusable and not connection.closed and not self._closed:
            now = connection.idle_since = asyncio.get_running_loop().time()
            idle = self._idle
            idle.append(connection)
            # The least recently used sit at the bottom: close them once expired.
            while now - idle[0].idle_since >= self._keepalive:
                self._drop(idle.pop(0))
        else:
            self._drop(connection)
        self._wake()

    def _drop(self, connection: Connection) -> None:
        connection.close()
        self._open -= 1

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
