"""Errors every storage backend raises, so that the edges map them without knowing the backend.

`StoreUnavailableError` means "the shared state cannot be read or written right now":
the gRPC edge answers `UNAVAILABLE` with `RetryInfo`, the push endpoints answer 503
(the provider retries), and health goes NOT_SERVING until the backend recovers.
"""

from __future__ import annotations


class StoreUnavailableError(Exception):
    """The store cannot serve now (down, unreachable, deleted or corrupt file); transient."""


class StoreFullError(StoreUnavailableError):
    """The store has no room for the write (disk full, Redis maxmemory); transient."""
