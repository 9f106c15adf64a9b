"""Redis failures as the backend-neutral store errors (`smsgateway.store_errors`).

Every Redis call of the backend runs inside `with translate("what it does"):`.
Any Redis failure leaves it as `StoreUnavailableError` (the edges answer
UNAVAILABLE / 503 and health goes NOT_SERVING), with the original exception as
`__cause__`; "OOM command not allowed" (maxmemory reached) becomes
`StoreFullError`. Messages say what failed and Redis' short reason, never the
URL or credentials (redis-py's messages carry host:port at most).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from redis import exceptions as rex

from smsgateway.store_errors import StoreFullError, StoreUnavailableError

__all__ = ["store_error", "translate"]

_MESSAGE_CHARS: Final = 200


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:_MESSAGE_CHARS] or type(exc).__name__


def store_error(exc: BaseException, what: str) -> StoreUnavailableError:
    """The store error that stands for a Redis (or socket) failure during `what`."""
    if isinstance(exc, StoreUnavailableError):
        return exc
    if isinstance(exc, rex.OutOfMemoryError) or "OOM command not allowed" in str(exc):
        return StoreFullError(f"{what}: Redis has no room (maxmemory reached)")
    if isinstance(exc, rex.TimeoutError):
        return StoreUnavailableError(f"{what}: Redis did not answer in time")
    if isinstance(exc, rex.BusyLoadingError):
        return StoreUnavailableError(f"{what}: Redis is loading its data set")
    if isinstance(exc, rex.AuthenticationError | rex.NoPermissionError):
        return StoreUnavailableError(f"{what}: Redis refused the credentials")
    if isinstance(exc, rex.ConnectionError | OSError):
        return StoreUnavailableError(f"{what}: Redis is unreachable ({_reason(exc)})")
    if isinstance(exc, rex.ReadOnlyError):
        return StoreUnavailableError(f"{what}: Redis is a read-only replica (failover?)")
    return StoreUnavailableError(f"{what}: Redis failed ({_reason(exc)})")


@contextmanager
def translate(what: str) -> Iterator[None]:
    """Run Redis calls; a Redis failure leaves as `StoreUnavailableError` / `StoreFullError`.

    Works around awaits: `with translate("event append"): await script(...)`.
    Exceptions that are not Redis' (e.g. the ports' own errors) pass unchanged.
    """
    try:
        yield
    except (rex.RedisError, OSError) as exc:
        raise store_error(exc, what) from exc
