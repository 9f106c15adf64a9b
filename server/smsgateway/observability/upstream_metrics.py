"""The upstream provider client's metrics: its `UpstreamObserver`, and the token gauge.

Label values are checked against the closed sets of metrics.py (anything else is
"other"), so whatever the upstream client passes, the series stay bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smsgateway.observability.metrics import (
    TOKEN_EXPIRY,
    TOKEN_FETCHES,
    TOKEN_REASONS,
    TOKEN_RESULTS,
    UPSTREAM_ENDPOINTS,
    UPSTREAM_LATENCY,
    UPSTREAM_OUTCOMES,
    UPSTREAM_REQUESTS,
)

__all__ = ["MetricsUpstreamObserver", "bind_token_expiry"]


def _bounded(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else "other"


class MetricsUpstreamObserver:
    """Implements the upstream client's `UpstreamObserver` protocol with Prometheus metrics.

    Values outside the documented sets are counted as "other" rather than trusted,
    keeping label cardinality bounded whatever the caller passes. Metric children are
    cached per label pair: `labels()` takes a lock and builds a key on every call.
    """

    __slots__ = ("_requests", "_tokens")

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._tokens: dict[tuple[str, str], Any] = {}

    def request_finished(self, endpoint: str, outcome: str, seconds: float) -> None:
        """One HTTP request to the provider finished (any outcome, including timeouts)."""
        children = self._requests.get((endpoint, outcome))
        if children is None:
            ep = _bounded(endpoint, UPSTREAM_ENDPOINTS)
            oc = _bounded(outcome, UPSTREAM_OUTCOMES)
            children = (UPSTREAM_REQUESTS.labels(ep, oc), UPSTREAM_LATENCY.labels(ep))
            if ep != "other" and oc != "other":
                # Only known pairs are cached, so junk input cannot grow the cache.
                self._requests[(endpoint, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)

    def token_fetched(self, reason: str, result: str) -> None:
        """One token fetch finished."""
        child = self._tokens.get((reason, result))
        if child is None:
            rs, rt = _bounded(reason, TOKEN_REASONS), _bounded(result, TOKEN_RESULTS)
            child = TOKEN_FETCHES.labels(rs, rt)
            if rs != "other" and rt != "other":
                self._tokens[(reason, result)] = child
        child.inc()


def bind_token_expiry(seconds_left: Callable[[], float | None]) -> None:
    """Make `smsgateway_token_expiry_seconds` read the token cache at scrape time.

    `seconds_left` is e.g. `TokenCache.seconds_until_expiry`: seconds until the cached
    token expires (negative once expired), or None when none is cached (reads 0).
    """

    def _read() -> float:
        left = seconds_left()
        return 0.0 if left is None else float(left)

    TOKEN_EXPIRY.set_function(_read)
