"""The process-wide HTTP client for the provider, and how it tells "never sent" apart.

A send may be repeated only when the provider provably never saw it. The session's
connector marks the attempt running in the current task as sent the moment it hands
out a connection: aiohttp writes the request on it right away, so from that moment
on a timeout or a reset means "outcome unknown", and before it (waiting for a pooled
connection, connecting) it means "not sent". This costs one context-variable read
per request, where aiohttp's TraceConfig signals would cost a dozen awaited
callbacks per request.

The gateway itself uses `new_pool`: the lean client of `upstream/http1.py` marks the
attempt as sent once the request's bytes are handed to the socket: the same meaning.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import aiohttp

from smsgateway.upstream.config import UpstreamConfig
from smsgateway.upstream.http1 import Http1Pool

__all__ = ["AttemptState", "SentTrackingConnector", "current_attempt", "new_pool", "new_session"]


class AttemptState:
    """What one attempt got to: `sent` once a connection was handed to its request."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


current_attempt: ContextVar[AttemptState | None] = ContextVar(
    "smsgateway_upstream_attempt", default=None
)
"""The attempt of the running task; set around each request by the client."""


class SentTrackingConnector(aiohttp.TCPConnector):
    """A TCPConnector that marks the current attempt as sent once it has a connection."""

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:  # noqa: ASYNC109
        connection = await super().connect(req, traces, timeout)
        state = current_attempt.get()
        if state is not None:
            state.sent = True
        return connection


def new_session(config: UpstreamConfig) -> aiohttp.ClientSession:
    """The process-wide session for the provider (call inside the running loop; close it
    at shutdown). It lets the client tell "never sent" from "outcome unknown" precisely."""
    connector = SentTrackingConnector(
        limit=config.max_connections,
        ttl_dns_cache=300,
        keepalive_timeout=config.keepalive_timeout_seconds,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": "smsgateway"},
    )


def new_pool(config: UpstreamConfig) -> Http1Pool:
    """The process-wide lean HTTP/1.1 client for the provider (`upstream/http1.py`): what
    the gateway uses. It knows "never sent" from "outcome unknown" as precisely as a
    `new_session` session, for about half of aiohttp's CPU per call. Close it at shutdown."""
    return Http1Pool(
        config.base_url,
        max_connections=config.max_connections,
        keepalive_timeout=config.keepalive_timeout_seconds,
        connect_timeout=config.connect_timeout_seconds,
    )


def tracks_sent(session: aiohttp.ClientSession | Http1Pool) -> bool:
    """True when `session` is a pool, or was built by `new_session` (its connector tracks
    sending)."""
    return isinstance(session, Http1Pool) or isinstance(session.connector, SentTrackingConnector)
