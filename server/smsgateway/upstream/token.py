"""The token cache: one token per provider account, shared by every call.

* Single flight: however many callers find the cache cold, one fetch runs and
  they all wait for it.
* Refresh before expiry: within `refresh_margin_seconds` of the expiry the
  current token is still handed out while one background fetch replaces it.
* Invalidation: a caller whose token the provider rejected invalidates exactly
  that token; the next `get` fetches again. Invalidating a token that was
  already replaced does nothing, so many rejections cause one fetch.
* A failed fetch fails the callers waiting for it and leaves nothing behind;
  the next `get` tries again.

With a `TokenStore` shared by many replicas (`store=`), the single flight and the
invalidation span all of them: one fetch per token lifetime across the fleet.

* The flight first loads the shared token. If there is none (or it is the one
  just rejected, or, for a refresh, the same soon expiring one), it tries the
  store's fetch lock; the holder looks once more, fetches from the provider,
  saves the token for its lifetime and unlocks. The others poll the store every
  20-50 ms (jittered) until the token appears; when the lock expires (its holder
  died) they try it themselves. Waiting is bounded by `fetch_timeout_seconds`
  (also the lock's lifetime), then the flight fails with `TokenUnavailableError`.
* `invalidate(token)` makes the next flight delete `token` from the store if it
  is still there (compare-and-delete), so one refetch happens for every replica.
* A shared token's local expiry is its seconds-left on the local monotonic clock.
* The store down: this replica fetches for itself (logged), rather than failing sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable

from smsgateway.store_errors import StoreUnavailableError
from smsgateway.upstream.errors import TokenUnavailableError
from smsgateway.upstream.models import Token
from smsgateway.upstream.observer import NoopObserver, UpstreamObserver
from smsgateway.upstream.ports import TokenStore

__all__ = ["TokenCache", "current_fetch_reason"]

logger = logging.getLogger(__name__)

_POLL_SECONDS = (0.02, 0.05)
"""How often a replica waiting for another one's fetch looks at the store (jittered)."""

_fetch_reason: contextvars.ContextVar[str] = contextvars.ContextVar(
    "smsgateway_token_fetch_reason", default="cold"
)


def current_fetch_reason() -> str:
    """Why the running fetch was started ("cold", "expiring", "rejected"); for its span."""
    return _fetch_reason.get()


class TokenCache:
    """Hands out a valid token, fetching it at most once at a time."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Token]],
        *,
        refresh_margin_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        observer: UpstreamObserver | None = None,
        min_refresh_interval_seconds: float = 10.0,
        store: TokenStore | None = None,
        fetch_timeout_seconds: float = 30.0,
    ) -> None:
        """`min_refresh_interval_seconds` spaces background refreshes: the provider returns
        the same token until it expires, and a failing refresh must not be retried by
        every call during the margin.

        `store` shares the token (and the right to fetch it) with other replicas; None
        keeps it in this object only. `fetch_timeout_seconds` is how long the store's
        fetch lock lasts and how long a flight waits for another replica's fetch."""
        self._fetch = fetch
        self._store = store
        self._fetch_timeout = fetch_timeout_seconds
        self._rejected: str | None = None
        self._margin = refresh_margin_seconds
        self._clock = clock
        self._observer: UpstreamObserver = observer or NoopObserver()
        self._min_refresh_interval = min_refresh_interval_seconds
        self._token: Token | None = None
        self._flight: asyncio.Task[Token] | None = None
        self._next_reason = "cold"
        self._refresh_not_before = float("-inf")

    def __repr__(self) -> str:
        return f"TokenCache(seconds_until_expiry={self.seconds_until_expiry!r})"

    @property
    def seconds_until_expiry(self) -> float | None:
        """Seconds until the current token expires (negative once expired); None if none."""
        token = self._token
        return None if token is None else token.expires_at - self._clock()

    def current(self) -> str | None:
        """The token if one is valid now (starting an early refresh when it is expiring),
        else None: the common path of `get`, without a coroutine."""
        token = self._token
        now = self._clock()
        if token is not None and now < token.expires_at:
            if now >= token.expires_at - self._margin and now >= self._refresh_not_before:
                self._start("expiring")
            return token.value
        return None

    async def get(self) -> str:
        """A token that is valid now; waits for a fetch only if there is none."""
        value = self.current()
        if value is not None:
            return value
        token = self._token
        flight = self._start(self._next_reason if token is None else "expiring")
        # shield: a caller giving up (deadline, cancellation) must not cancel the
        # fetch that the other callers are waiting for.
        fetched = await asyncio.shield(flight)
        return fetched.value

    def invalidate(self, token: str) -> None:
        """Forget `token` after the provider rejected it, unless it was already replaced."""
        current = self._token
        if current is not None and current.value == token:
            self._token = None
            self._rejected = token
            self._next_reason = "rejected"
            self._refresh_not_before = float("-inf")
            logger.info("provider rejected the cached token; fetching a new one")

    async def close(self) -> None:
        """Cancel a fetch still running (shutdown)."""
        flight = self._flight
        if flight is not None and not flight.done():
            flight.cancel()
            await asyncio.wait([flight])

    def _start(self, reason: str) -> asyncio.Task[Token]:
        flight = self._flight
        if flight is None:
            flight = asyncio.get_running_loop().create_task(self._run(reason))
            # A background refresh may fail with nobody awaiting it: retrieve the
            # exception so asyncio does not report it as lost.
            flight.add_done_callback(_retrieve)
            self._flight = flight
        return flight

    async def _run(self, reason: str) -> Token:
        _fetch_reason.set(reason)  # this task runs in its own context copy
        try:
            if self._store is None:
                token = await self._fetch_once(reason)
            else:
                token = await self._shared(self._store, reason)
        except asyncio.CancelledError:
            self._flight = None
            raise
        except BaseException:
            self._flight = None
            self._refresh_not_before = self._clock() + self._min_refresh_interval
            if reason == "expiring" and self._token is not None:
                logger.warning("token refresh failed; the current token stays in use")
            raise
        self._flight = None
        self._token = token
        self._rejected = None
        self._next_reason = "cold"
        now = self._clock()
        # Refresh again only once the new token enters the margin, and not in a tight loop
        # when the provider hands back the same, soon expiring token.
        self._refresh_not_before = max(
            token.expires_at - self._margin, now + self._min_refresh_interval
        )
        return token

    async def _fetch_once(self, reason: str) -> Token:
        try:
            token = await self._fetch()
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._observer.token_fetched(reason, "failure")
            raise
        self._observer.token_fetched(reason, "success")
        return token

    async def _shared(self, store: TokenStore, reason: str) -> Token:
        try:
            rejected = self._rejected
            if rejected is not None:
                await store.invalidate(rejected)
            return await self._from_store(store, reason)
        except StoreUnavailableError as exc:
            logger.warning("shared token store unavailable; fetching for this replica: %s", exc)
            return await self._fetch_once(reason)

    def _usable(self, found: tuple[str, float] | None, reason: str) -> Token | None:
        """The shared token as a local one, unless it is missing, rejected or (for a
        refresh) the same soon expiring token this replica already has."""
        if found is None or found[1] <= 0 or found[0] == self._rejected:
            return None
        value, seconds_left = found
        current = self._token
        if (
            reason == "expiring"
            and current is not None
            and value == current.value
            and seconds_left <= self._margin
        ):
            return None
        return Token(value=value, expires_at=self._clock() + seconds_left)

    async def _from_store(self, store: TokenStore, reason: str) -> Token:
        """Raises `StoreUnavailableError` only before a provider fetch happened."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._fetch_timeout
        while True:
            token = self._usable(await store.load(), reason)
            if token is not None:
                return token
            lock = await store.try_lock(self._fetch_timeout)
            if lock is not None:
                try:
                    token = self._usable(await store.load(), reason)
                    if token is not None:
                        return token
                    token = await self._fetch_once(reason)
                    try:
                        await store.save(token.value, token.expires_at - self._clock())
                    except StoreUnavailableError as exc:
                        logger.warning("could not share the fetched token: %s", exc)
                    return token
                finally:
                    with contextlib.suppress(StoreUnavailableError):
                        await store.unlock(lock)
            if loop.time() >= deadline:
                raise TokenUnavailableError(
                    "timed out waiting for another replica's token fetch", reason="timeout"
                )
            await asyncio.sleep(random.uniform(*_POLL_SECONDS))


def _retrieve(task: asyncio.Task[Token]) -> None:
    if not task.cancelled():
        task.exception()
