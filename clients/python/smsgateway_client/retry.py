"""Retries of the client: only transient faults, jittered backoff, one overall deadline.

A call is tried again only when its error is transient (`GatewayError.retryable`:
`UNAVAILABLE`), up to `RetryPolicy.max_attempts` attempts in all. Each wait is the
policy's equal-jitter backoff, or the server's `RetryInfo` delay when that is longer;
a wait that would end past the call's deadline is not taken (the call fails at once,
not at the deadline). Streams reconnect with the same waits (see streams.py).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from .config import RetryPolicy
from .errors import GatewayError

# The client's logger, so that its warnings keep the logger name they always had.
log = logging.getLogger(f"{__package__}.client")

__all__ = ["Metadata", "Retrier", "Sleep", "rpc_name"]

Sleep = Callable[[float], Awaitable[None]]
#: The metadata of one attempt (computed per attempt: it carries the trace context).
Metadata = Callable[[], tuple[tuple[str, str], ...]]
T = TypeVar("T")


class Retrier:
    """A `RetryPolicy` at work: the wait before each further attempt, and the retry
    loop of unary calls."""

    def __init__(self, policy: RetryPolicy, sleep: Sleep, rng: random.Random) -> None:
        """
        Args:
            policy: How many attempts, and the backoff between them.
            sleep: Waits between attempts (tests inject a recorder).
            rng: Draws the jitter (tests inject a seeded one).
        """
        self.policy = policy
        self.sleep = sleep
        self._rng = rng

    @property
    def max_attempts(self) -> int:
        """Attempts in all, the first included."""
        return self.policy.max_attempts

    def next_delay(self, error: GatewayError, attempt: int, deadline: float | None) -> float | None:
        """The wait before another attempt, or None when the error is final."""
        if not error.retryable or attempt >= self.policy.max_attempts:
            return None
        delay = max(self.policy.backoff(attempt, self._rng), error.retry_delay or 0.0)
        if deadline is not None and time.monotonic() + delay >= deadline:
            return None  # no time left for another attempt: fail now, not at the deadline
        return delay

    async def call(
        self,
        method: Callable[..., Awaitable[T]],
        request: Any,
        *,
        overall_timeout: float | None,
        metadata: Metadata,
    ) -> T:
        """Call a unary `method`, retrying transient failures within `overall_timeout` seconds
        overall (None: no deadline); raises `GatewayError` (with the request's
        `request_id`, if it has one) when the last attempt fails."""
        deadline = None if overall_timeout is None else time.monotonic() + overall_timeout
        attempt = 1
        while True:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                return await method(request, timeout=remaining, metadata=metadata())
            except grpc.aio.AioRpcError as exc:
                error = GatewayError.from_rpc_error(
                    exc, request_id=getattr(request, "request_id", "")
                )
                delay = self.next_delay(error, attempt, deadline)
                if delay is None:
                    raise error from exc
            log.warning(
                "%s failed (attempt %d of %d), retrying in %.2fs: %s",
                rpc_name(request),
                attempt,
                self.policy.max_attempts,
                delay,
                error,
            )
            await self.sleep(delay)
            attempt += 1


def rpc_name(request: Any) -> str:
    """The method a request is of, for logs (`SendSmsRequest` -> `SendSms`)."""
    return str(type(request).__name__).removesuffix("Request")
