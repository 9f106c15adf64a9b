"""One pipelined connection to Redis for the scripts of the hot paths: many callers, one socket.

redis-py's asyncio client takes a connection from its pool for every command
(a lock, a health check, a drain, a release): about 120 µs of CPU per round
trip here, the largest cost of a send on Redis. Redis answers the commands of
one connection in the order they came, so callers can share one connection
without waiting for each other: each command is written as it comes (the
commands of one event-loop turn in one write), the replies are parsed by
hiredis as they arrive and resolve the callers' futures in order.

Scope: non-blocking commands that need nothing but their reply (`EVALSHA` /
`EVAL` of `LuaScript`). Blocking reads (`XREAD BLOCK`), `WAIT` (it counts the
writes of its own connection) and everything else keep redis-py's pool.

Failures, as redis-py's client behaves:
* a connection that breaks fails every command waiting on it with
  `redis.exceptions.ConnectionError`; a command is then sent again on a new
  connection up to `retries` times, with jittered exponential backoff, as
  redis-py retries. A script whose reply was lost may so run twice: the ones
  that must not (claims and takes of sends) recognise their own nonce, appends
  deduplicate, and a limit charge may count twice in that rare case;
* a reply that takes longer than `command_timeout` closes the connection (a
  pipelined connection cannot skip one late reply) and fails what waits on it
  with `redis.exceptions.TimeoutError`;
* Redis errors (`NOSCRIPT`, `OOM`, `WRONGPASS`, ...) become redis-py's exception
  classes, so `errors.translate` treats both paths alike.
Bounded: at most `max_in_flight` commands wait for replies; one more fails at once.

Under load (`linger_seconds`): a command queued while others still wait for their replies
(callers are working concurrently) makes the next write wait that long for more, so that
one write and one reply read serve several callers (`_MAX_BATCH` commands go at once); a
command with none in flight (a quiet spell, a caller whose commands follow one another)
is written at once.
"""

from __future__ import annotations

import asyncio
import collections
import random
import ssl
from collections.abc import Sequence
from typing import Any, Final, cast

import hiredis
import redis.exceptions as rex
from redis._parsers.base import BaseParser

__all__ = ["Multiplexer"]

EncodedArg = bytes | str | int | float

_CHECK_SECONDS: Final = 0.25
"""How often a connection's oldest waiting command is checked against the timeout."""
_MAX_BATCH: Final = 256
"""Commands queued for one write at most: a full batch goes without waiting."""


def _pack(args: tuple[EncodedArg, ...]) -> bytes:
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]  # stub: 1-tuple
    return packed


class _Overloaded(rex.ConnectionError):
    """Too many commands wait for replies (not retried: waiting would add to them)."""


class _Connection(asyncio.Protocol):
    """One socket: commands written in order, replies matched to them in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, linger: float = 0.0) -> None:
        self._loop = loop
        self._linger = linger
        self._reader = hiredis.Reader(
            protocolError=rex.InvalidResponse, replyError=BaseParser.parse_error
        )
        self._transport: asyncio.Transport | None = None
        self._outgoing: list[bytes] = []
        self.waiting: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self.broken: BaseException | None = None

    @property
    def usable(self) -> bool:
        return self.broken is None and self._transport is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)

    def send(self, packed: bytes, *, linger: bool = True) -> asyncio.Future[Any]:
        """Queue one packed command; its reply resolves the returned future. `linger`
        False: written in this loop turn (the set-up's commands)."""
        now = self._loop.time()
        if not linger or not self._outgoing:  # (else a write is already scheduled)
            if linger and self._linger and self.waiting:  # others in flight: wait for more
                self._loop.call_later(self._linger, self._write)
            else:
                self._loop.call_soon(self._write)
        self._outgoing.append(packed)
        if len(self._outgoing) >= _MAX_BATCH:
            self._write()  # (the scheduled write then finds the next batch, or nothing)
        future: asyncio.Future[Any] = self._loop.create_future()
        self.waiting.append((future, now))
        return future

    def _write(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if outgoing and self.usable and self._transport is not None:
            self._transport.write(b"".join(outgoing))

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        try:
            while (reply := reader.gets()) is not False:
                future, _ = self.waiting.popleft()
                if future.done():  # its caller gave up; the reply is dropped
                    continue
                if isinstance(reply, Exception):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
        except (rex.InvalidResponse, IndexError) as exc:  # garbage, or a reply nobody asked for
            self.fail(rex.ConnectionError(f"Redis sent an unexpected reply ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(rex.ConnectionError("Redis closed the connection"))

    def overdue(self, timeout: float) -> bool:
        return bool(self.waiting) and self._loop.time() - self.waiting[0][1] > timeout

    def fail(self, error: BaseException) -> None:
        """Close; every command still waiting fails with `error`."""
        if self.broken is None:
            self.broken = error
        if self._transport is not None:
            self._transport.abort()
        self._outgoing.clear()
        while self.waiting:
            future, _ = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)


class Multiplexer:
    """Runs commands on one shared, pipelined connection (reconnecting as needed)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        client_name: str = "smsgateway",
        connect_timeout: float = 2.0,
        command_timeout: float = 5.0,
        retries: int = 3,
        max_in_flight: int = 10_000,
        tls: ssl.SSLContext | None = None,
        linger_seconds: float = 0.0,
    ) -> None:
        """Timeouts in seconds; `retries`: new connections tried after a broken one;
        `tls`: the context of a TLS connection (`rediss://`), which verifies `host`;
        `linger_seconds`: how long a write waits for more commands while others wait for
        replies (0: each event-loop turn's commands are written at once)."""
        self._host, self._port, self._db = host, port, db
        self._tls = tls
        self._username, self._password = username, password
        self._client_name = client_name
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._retries = retries
        self._max_in_flight = max_in_flight
        self._linger = linger_seconds
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    def __repr__(self) -> str:
        scheme = "rediss" if self._tls is not None else "redis"
        return f"Multiplexer({scheme}://{self._host}:{self._port}/{self._db})"

    async def execute(self, *args: EncodedArg) -> Any:
        """The command's reply; redis-py's exceptions on failure (see the module doc)."""
        packed = _pack(args)
        failures = 0
        while True:
            try:
                connection = self._connection
                if connection is None or not connection.usable:
                    connection = await self._connect()
                if len(connection.waiting) >= self._max_in_flight:
                    raise _Overloaded(
                        f"more than {self._max_in_flight} Redis commands wait for replies"
                    )
                return await connection.send(packed)
            except _Overloaded:
                raise
            except (rex.ConnectionError, rex.TimeoutError):
                failures += 1
                if failures > self._retries or self._closed:
                    raise
            cap = min(1.0, 0.05 * 2 ** (failures - 1))
            await asyncio.sleep(cap / 2 + random.uniform(0, cap / 2))

    async def aclose(self) -> None:
        """Close the connection; commands still waiting fail with ConnectionError."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
        if self._connection is not None:
            self._connection.fail(rex.ConnectionError("the Redis client was closed"))

    async def _connect(self) -> _Connection:
        if self._closed:
            raise rex.ConnectionError("the Redis client was closed")
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.create_task(self._open())
            # Its failure reaches every waiter; retrieved here too, in case none is left.
            self._connecting.add_done_callback(_retrieve)
        # shield: one caller giving up must not cancel the others' connection attempt.
        return await asyncio.shield(self._connecting)

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, self._linger),
                    self._host,
                    self._port,
                    ssl=self._tls,
                    server_hostname=self._host if self._tls is not None else None,
                )
                await self._handshake(connection)
        except TimeoutError:
            raise rex.TimeoutError("connecting to Redis timed out") from None
        except ssl.SSLError as exc:
            detail = getattr(exc, "verify_message", None) or exc.reason or type(exc).__name__
            raise rex.ConnectionError(f"TLS with Redis failed ({detail})") from None
        except OSError as exc:
            raise rex.ConnectionError(f"cannot connect to Redis ({exc.strerror})") from None
        if self._closed:
            connection.fail(rex.ConnectionError("the Redis client was closed"))
            raise rex.ConnectionError("the Redis client was closed")
        self._connection = connection
        if self._timer is None:
            self._timer = loop.call_later(_CHECK_SECONDS, self._check)
        return connection

    async def _handshake(self, connection: _Connection) -> None:
        commands: list[Sequence[EncodedArg]] = []
        if self._password is not None:
            if self._username:
                commands.append(("AUTH", self._username, self._password))
            else:
                commands.append(("AUTH", self._password))
        if self._db:
            commands.append(("SELECT", self._db))
        if self._client_name:
            commands.append(("CLIENT", "SETNAME", self._client_name))
        replies = [connection.send(_pack(tuple(c)), linger=False) for c in commands]
        try:
            for reply in replies:
                await reply
        except BaseException:
            connection.fail(rex.ConnectionError("Redis refused the connection set-up"))
            raise

    def _check(self) -> None:
        """Fail a connection whose oldest command waits longer than the timeout."""
        connection = self._connection
        if connection is not None and connection.overdue(self._command_timeout):
            connection.fail(rex.TimeoutError("Redis did not answer in time"))
        if self._closed:
            self._timer = None
            return
        self._timer = asyncio.get_running_loop().call_later(_CHECK_SECONDS, self._check)


def _retrieve(task: asyncio.Task[_Connection]) -> None:
    if not task.cancelled():
        task.exception()
