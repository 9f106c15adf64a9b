"""One HTTP/1.1 connection to the provider, and the reading of its replies.

`Connection` is an asyncio protocol carrying one request at a time; it reads the
reply incrementally: the status line and headers (at most 64 KiB), then a body framed
by Content-Length, by chunks, or by the end of the connection (at most `max_body`
bytes). Anything else is a `ProtocolError` and closes the connection. The pool
(`upstream/http1.py`) decides which connection a request gets.
"""

from __future__ import annotations

import asyncio
from typing import Final

__all__ = ["ConnectFailed", "ConnectTimeout", "Connection", "ProtocolError", "ReplyBroken"]

MAX_HEAD_BYTES: Final = 64 * 1024
"""A reply's status line and headers together, at most."""
MAX_BODY_BYTES: Final = 8 * 1024 * 1024
"""A reply's body, at most, by default (the provider's replies are a few hundred bytes)."""
_HEX_DIGITS: Final = b"0123456789abcdefABCDEF"


class ConnectFailed(Exception):
    """No connection could be opened (refused, unreachable, DNS, TLS): nothing was sent."""


class ConnectTimeout(Exception):
    """Opening a connection took longer than allowed: nothing was sent."""


class ReplyBroken(Exception):
    """The connection ended or failed before the whole reply arrived."""


class ProtocolError(ReplyBroken):
    """The reply is not HTTP/1.x as this client reads it (or exceeds its bounds)."""


class Reply:
    """One response as it is read: its status, how its body is framed, the body so far."""

    __slots__ = ("body", "chunked", "keep_alive", "length", "status")

    def __init__(self) -> None:
        self.status = 0
        self.body = bytearray()
        self.length: int | None = None  # Content-Length; None: chunked or until close
        self.chunked = False
        self.keep_alive = True


class Connection(asyncio.Protocol):
    """One socket to the origin; one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_body: int) -> None:
        self._loop = loop
        self._max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._reply: Reply | None = None
        self._waiter: asyncio.Future[Reply] | None = None
        self._in_head = True
        self._chunk_left = -1  # bytes left of the current chunk; -1: a size line is next

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        reply, waiter = self._reply, self._waiter
        if waiter is None or waiter.done() or reply is None:
            return
        if not self._in_head and not reply.chunked and reply.length is None:
            reply.keep_alive = False
            waiter.set_result(reply)
            return
        waiter.set_exception(ReplyBroken("the provider closed the connection mid-reply"))

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def request(self, data: bytes) -> asyncio.Future[Reply]:
        """Write a whole request; the future gets its reply."""
        if self.closed or self.transport is None:  # (the pool hands out open ones only)
            raise ConnectFailed("the connection closed before the request was written")
        self._reply = Reply()
        self._in_head = True
        self._chunk_left = -1
        self._buffer.clear()
        waiter = self._waiter = self._loop.create_future()
        self.transport.write(data)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        reply, waiter = self._reply, self._waiter
        if reply is None or waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: the connection is unusable
            return
        self._buffer += data
        try:
            if self._in_head and not self._read_head(reply):
                return
            if self._read_body(reply):
                self._reply = None
                waiter.set_result(reply)
        except ProtocolError as exc:
            self.close()
            waiter.set_exception(exc)

    def _take_line(self, limit: int, too_long: str, end_mark: bytes = b"\r\n") -> bytes | None:
        """The buffer up to `end_mark` (removed with it), or None until it has arrived;
        `ProtocolError(too_long)` once more than `limit` bytes came without it."""
        buffer = self._buffer
        end = buffer.find(end_mark)
        if (end if end >= 0 else len(buffer)) > limit:
            raise ProtocolError(too_long)
        if end < 0:
            return None
        line = bytes(buffer[:end])
        del buffer[: end + len(end_mark)]
        return line

    def _read_head(self, reply: Reply) -> bool:
        while True:
            head = self._take_line(MAX_HEAD_BYTES, "the reply's headers exceed 64 KiB", b"\r\n\r\n")
            if head is None:
                return False
            lines = head.split(b"\r\n")
            version, _, rest = lines[0].partition(b" ")
            code = rest[:3]
            if version not in (b"HTTP/1.1", b"HTTP/1.0") or not code.isdigit():
                raise ProtocolError("the reply does not start with an HTTP/1.x status line")
            status = int(code)
            keep_alive = version == b"HTTP/1.1"
            length: int | None = None
            chunked = False
            for line in lines[1:]:
                name, sep, value = line.partition(b":")
                if not sep or not name or name[-1:] in (b" ", b"\t") or line[:1] in (b" ", b"\t"):
                    raise ProtocolError("a reply header line is malformed")
                name = name.lower()
                value = value.strip()
                if name == b"content-length":
                    if not value.isdigit() or (length is not None and length != int(value)):
                        raise ProtocolError("the reply's Content-Length is invalid")
                    length = int(value)
                elif name == b"transfer-encoding":
                    codings = [c.strip() for c in value.lower().split(b",")]
                    if codings[-1:] != [b"chunked"] or len(codings) != 1:
                        raise ProtocolError("the reply's Transfer-Encoding is not plain chunked")
                    chunked = True
                elif name == b"connection":
                    tokens = {t.strip() for t in value.lower().split(b",")}
                    if b"close" in tokens:
                        keep_alive = False
                    elif b"keep-alive" in tokens:
                        keep_alive = True
                elif name == b"content-encoding" and value.lower() not in (b"identity", b""):
                    raise ProtocolError("the reply is compressed, which was not asked for")
            if 100 <= status < 200:
                continue  # an interim reply (never asked for): the real one follows
            reply.status = status
            reply.keep_alive = keep_alive
            if chunked:
                reply.chunked = True  # wins over any Content-Length (RFC 9112 6.3)
            elif status in (204, 304):
                reply.length = 0
            else:
                reply.length = length
                if length is not None and length > self._max_body:
                    raise ProtocolError("the reply's body exceeds the client's bound")
                if length is None:
                    reply.keep_alive = False  # delimited by the end of the connection
            self._in_head = False
            return True

    def _read_body(self, reply: Reply) -> bool:
        buffer = self._buffer
        if not reply.chunked:
            if reply.length is None:
                if len(reply.body) + len(buffer) > self._max_body:
                    raise ProtocolError("the reply's body exceeds the client's bound")
                reply.body += buffer
                buffer.clear()
                return False  # until the connection ends
            need = reply.length - len(reply.body)
            reply.body += buffer[:need]
            del buffer[:need]
            if len(reply.body) < reply.length:
                return False
            if buffer:
                raise ProtocolError("the provider sent more than the reply's Content-Length")
            return True
        while True:
            if self._chunk_left < 0:
                size_line = self._take_line(1024, "a chunk size line is too long")
                if size_line is None:
                    return False
                size_text = size_line.split(b";", 1)[0].strip()
                if not size_text or size_text.strip(_HEX_DIGITS):
                    raise ProtocolError("a chunk size is not hexadecimal")
                size = int(size_text, 16)
                if len(reply.body) + size > self._max_body:
                    raise ProtocolError("the reply's body exceeds the client's bound")
                if size == 0:
                    self._chunk_left = -2  # trailers, up to an empty line
                else:
                    self._chunk_left = size
            if self._chunk_left == -2:
                while True:
                    line = self._take_line(MAX_HEAD_BYTES, "the reply's trailers exceed 64 KiB")
                    if line is None:
                        return False
                    if not line:
                        if buffer:
                            raise ProtocolError("the provider sent more than one reply")
                        return True
            if len(buffer) < self._chunk_left + 2:
                return False
            if buffer[self._chunk_left : self._chunk_left + 2] != b"\r\n":
                raise ProtocolError("a chunk does not end with CRLF")
            reply.body += buffer[: self._chunk_left]
            del buffer[: self._chunk_left + 2]
            self._chunk_left = -1
