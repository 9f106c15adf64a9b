"""The limits every send passes, on a shared `LimitStore`.

* Per caller: a token bucket of send RPCs (`rate_limit_per_second`, a burst of one
  second's worth) and a daily recipient quota (`daily_recipient_quota`, a calendar
  day in the provider's time zone) → the whole send is refused.
* Per phone number, for `SMS_KIND_VERIFICATION_CODE` (SMS pumping): sliding windows,
  by default 1 per 60 s, 5 per hour, 10 per day → those recipients are left out and
  named; the rest of the send goes out.
* Toward the provider: at most N calls per second per account, shared by every
  replica; a call waits for its slot (never longer than its deadline allows).

Sends subject to no limit (no caller limits, not a verification code) cost no store
round trip.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from smsgateway.observability import metrics
from smsgateway.security.callers import Caller
from smsgateway.security.ports import (
    Admission,
    Bucket,
    Charge,
    LimitedRecipient,
    LimitExceededError,
    LimitStore,
    Window,
)
from smsgateway.security.windows import DEFAULT_VERIFICATION_WINDOWS, describe_windows
from smsgateway.v1 import smsgateway_pb2 as pb

VERIFICATION_CODE_LIMIT: Final = "VERIFICATION_CODE_LIMIT"


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """The gateway-wide limits (per-caller limits come from the callers file)."""

    verification_windows: tuple[Window, ...] = DEFAULT_VERIFICATION_WINDOWS
    """Per-number windows of verification codes; empty: no per-number guard."""
    provider_calls_per_second: float = 0.0
    """Ceiling of provider send calls per second for the account; 0: none."""
    provider_account: str = "default"
    """Names the ceiling's shared counter (the provider appId)."""
    quota_utc_offset_hours: float = 8.0
    """The zone whose midnight starts a new quota day (the provider's, UTC+8)."""


CallerLookup = Callable[[str], Caller | None]


class Limits:
    """Implements `sending`'s `SendLimiter` port on a `LimitStore`."""

    def __init__(
        self,
        store: LimitStore,
        callers: CallerLookup,
        config: LimitsConfig = LimitsConfig(),
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`callers` finds a caller's current limits by name (None: no caller limits)."""
        self._store = store
        self._callers = callers
        self._config = config
        self._clock = clock
        self._quota_zone = timedelta(hours=config.quota_utc_offset_hours)
        # The current quota day: [start, end) on the clock, and its name.
        self._day: tuple[float, float, str] = (0.0, 0.0, "")
        # Charge tickets: unique across processes (a random prefix) without a call to
        # the OS random source per send.
        self._ticket_prefix = secrets.token_hex(8)
        self._tickets = itertools.count()

    async def admit(
        self, caller: str, request_id: str, kind: int, phone_numbers: Sequence[str]
    ) -> Admission:
        """See `SendLimiter.admit`."""
        found = self._callers(caller)
        rate = found.rate_limit_per_second if found is not None else None
        quota = found.daily_recipient_quota if found is not None else None
        windows = self._config.verification_windows
        guarded = phone_numbers if kind == pb.SMS_KIND_VERIFICATION_CODE and windows else ()
        if rate is None and quota is None and not guarded:
            return Admission()
        now = self._clock()
        day, day_left = self._quota_day(now)
        charge = Charge(
            now=now,
            ticket=f"{self._ticket_prefix}{next(self._tickets):x}",
            recipients=len(phone_numbers),
            bucket_key=f"rate:{caller}" if rate is not None else "",
            bucket=Bucket(rate, max(1.0, rate)) if rate is not None else None,
            quota_key=f"quota:{caller}:{day}" if quota is not None else "",
            quota=quota or 0,
            quota_ttl_seconds=day_left,
            guarded_numbers=tuple(guarded),
            windows=windows if guarded else (),
        )
        verdict = await self._store.admit(charge)
        limited = [
            LimitedRecipient(
                phone_number=number,
                reason=VERIFICATION_CODE_LIMIT,
                description=(
                    "this number received the most verification codes allowed "
                    f"({describe_windows(windows)})"
                ),
                retry_after=wait,
            )
            for number, wait in verdict.limited_numbers.items()
        ]
        if limited:
            self._count(caller, "per_number", len(limited))
        if verdict.refused:
            self._count(caller, verdict.refused, 1 if verdict.refused != "per_number" else 0)
            raise self._refusal(caller, verdict.refused, verdict.retry_after, rate, quota, limited)
        return Admission(limited=limited, charge=charge, verdict=verdict)

    async def release(self, admission: Admission) -> None:
        """See `SendLimiter.release`."""
        if admission.charge is not None and admission.verdict is not None:
            await self._store.refund(admission.charge, admission.verdict)

    async def provider_slot(self, deadline: float | None) -> bool:
        """See `SendLimiter.provider_slot`."""
        rate = self._config.provider_calls_per_second
        if rate <= 0:
            return True
        max_wait = math.inf if deadline is None else deadline - time.monotonic()
        if max_wait <= 0:
            return False
        wait = await self._store.reserve(
            f"provider:{self._config.provider_account}",
            self._clock(),
            rate,
            max(1.0, rate),
            min(max_wait, 3600.0),
        )
        if wait is None:
            metrics.PROVIDER_CEILING_WAITS.labels("refused").inc()
            return False
        if wait > 0:
            metrics.PROVIDER_CEILING_WAITS.labels("waited").inc()
            await asyncio.sleep(wait)
        return True

    def _quota_day(self, now: float) -> tuple[str, float]:
        """The quota day of `now` and the seconds left in it (at least 1)."""
        start, end, day = self._day
        if not start <= now < end:  # once a day (or when the clock jumps)
            local = datetime.fromtimestamp(now, UTC) + self._quota_zone
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            start = now - (local - midnight).total_seconds()
            end = start + 86400.0
            day = local.strftime("%Y-%m-%d")
            self._day = (start, end, day)
        return day, max(1.0, end - now)

    def _count(self, caller: str, limit: str, n: int) -> None:
        if n:
            metrics.LIMIT_REFUSALS.labels(caller, limit).inc(n)

    @staticmethod
    def _refusal(
        caller: str,
        limit: str,
        retry_after: float,
        rate: float | None,
        quota: int | None,
        limited: Sequence[LimitedRecipient],
    ) -> LimitExceededError:
        if limit == "rate_limit":
            message = f"caller {caller!r} is over its rate limit of {rate:g} sends per second"
        elif limit == "daily_quota":
            message = f"caller {caller!r} has used its daily quota of {quota} recipients"
        else:
            message = (
                f"every recipient ({len(limited)}) is over the per-number limit of "
                "verification codes"
            )
        return LimitExceededError(
            message, limit=limit, caller=caller, retry_after=retry_after, limited=limited
        )
