"""The ports of the limits.

* `SendLimiter`: what `sending.SendService` asks before a send goes out and before
  each provider call (implemented by `security.limits.Limits`). Sending depends on
  this Protocol only, never on a store.
* `LimitStore`: the storage behind it, implemented by every backend. Each method is
  one atomic step over shared state, so that limits hold across every replica
  sharing the store (Redis: one Lua script per call). Times are passed in (`now`,
  Unix seconds) rather than read by the store: the same inputs give the same answer
  on every backend, and tests drive the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Window:
    """At most `count` events per `seconds` (a sliding window)."""

    count: int
    """Events allowed within the window (≥ 1)."""
    seconds: float
    """Length of the window (> 0)."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket: `per_second` tokens added per second, at most `burst` held."""

    per_second: float
    """Refill rate (> 0)."""
    burst: float
    """Capacity (≥ 1); a full bucket admits `burst` requests at once."""


@dataclass(frozen=True, slots=True)
class Charge:
    """One send to admit: every limit it is subject to, checked and consumed together."""

    now: float
    """Unix time of the decision."""
    ticket: str
    """Unique per admission; names what it consumed so that `refund` can give it back."""
    recipients: int
    """Recipients of the send before the per-number guard (guarded ones included)."""
    bucket_key: str = ""
    """The caller's bucket ("" = no rate limit)."""
    bucket: Bucket | None = None
    quota_key: str = ""
    """The caller's quota counter of the current day ("" = no quota)."""
    quota: int = 0
    """Recipients allowed in the quota's period."""
    quota_ttl_seconds: float = 0.0
    """Seconds until the period ends (the counter then starts again from 0)."""
    guarded_numbers: Sequence[str] = ()
    """Recipients subject to the per-number windows (verification codes)."""
    windows: Sequence[Window] = ()
    """Per-number limits; each guarded number must fit in all of them."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to a `Charge`. When `refused` is set nothing was consumed."""

    refused: str = ""
    """"" (admitted), "rate_limit", "daily_quota" or "per_number" (every number refused)."""
    retry_after: float = 0.0
    """Seconds until a retry may succeed (for a refusal of the whole send)."""
    limited_numbers: dict[str, float] = field(default_factory=dict)
    """Guarded numbers refused by the windows → seconds until they may receive again.
    Admitted sends go out to the other recipients; their count is `admitted`."""
    admitted: int = 0
    """Recipients consumed from the quota (recipients minus limited numbers)."""
    quota_used: int = 0
    """The quota's counter after this admission (or at the refusal)."""


class LimitStore(Protocol):
    """Rate limits, quotas, per-number windows and provider slots, shared by every replica."""

    async def admit(self, charge: Charge) -> Verdict:
        """Check every limit of `charge` and consume them all, atomically.

        Per guarded number the windows decide alone (limited numbers are left out);
        then, if any recipient is left, the bucket needs one token and the quota
        room for the admitted recipients, else the whole send is refused and
        nothing is consumed. Admitted guarded numbers are recorded under `now`.
        """
        ...

    async def refund(self, charge: Charge, verdict: Verdict) -> None:
        """Give back what an admitted charge consumed (the send turned out to be a replay).

        One token back into the bucket (capped), `verdict.admitted` off the quota,
        and the guarded numbers' records of this ticket removed. Idempotent per ticket
        for the numbers; call it once.
        """
        ...

    async def reserve(
        self, key: str, now: float, per_second: float, burst: float, max_wait: float
    ) -> float | None:
        """Reserve one slot of a rate shared by every replica (the provider ceiling).

        Returns the seconds to wait before using the slot (0 when free now), or None
        without reserving when the wait would exceed `max_wait`.
        """
        ...

    async def close(self) -> None:
        """Persist what is pending and release resources."""
        ...


# -- the port of sending --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LimitedRecipient:
    """A recipient a limit left out of a send."""

    phone_number: str
    reason: str
    """UPPER_SNAKE, e.g. `VERIFICATION_CODE_LIMIT`."""
    description: str
    retry_after: float
    """Seconds until a send to this number may succeed."""


@dataclass(frozen=True, slots=True)
class Admission:
    """A send that may go out, minus `limited` recipients; `release` undoes it."""

    limited: Sequence[LimitedRecipient] = ()
    charge: Charge | None = None
    """What was consumed (None: nothing was)."""
    verdict: Verdict | None = None


class LimitExceededError(Exception):
    """A limit refuses the whole send (nothing was consumed)."""

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        caller: str,
        retry_after: float,
        limited: Sequence[LimitedRecipient] = (),
    ) -> None:
        super().__init__(message)
        self.limit = limit
        """"rate_limit", "daily_quota" or "per_number"."""
        self.caller = caller
        self.retry_after = retry_after
        self.limited = tuple(limited)
        """For "per_number": every recipient, each with its own wait."""


class SendLimiter(Protocol):
    """The limits a send passes before it goes out."""

    async def admit(
        self, caller: str, request_id: str, kind: int, phone_numbers: Sequence[str]
    ) -> Admission:
        """Check and consume the caller's rate limit and quota and the per-number guard.

        Returns which recipients are left out; raises `LimitExceededError` (nothing
        consumed) when the whole send is refused, including when every recipient is.
        """
        ...

    async def release(self, admission: Admission) -> None:
        """Give back what `admit` consumed (the send turned out to be a replay)."""
        ...

    async def provider_slot(self, deadline: float | None) -> bool:
        """Wait for a slot under the provider ceiling; False (no slot taken) when the
        wait would pass `deadline` (monotonic clock)."""
        ...
