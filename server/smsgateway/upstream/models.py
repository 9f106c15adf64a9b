"""Typed results of the provider's endpoints.

`DeliveryReport` and `Uplink` are shared with `events/` (pushes carry the same
items as pulls); parsing of raw items (both field spellings, `code` as string or
number, provider-local times) lives here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """One delivery report, as pulled from /sms/deliver or pushed to us."""

    biz_id: str
    phone_number: str
    provider_code: str
    """The provider's code as text ("10000", "4", ...)."""
    success: bool
    message: str = ""
    sms_size: int = 0
    send_time: datetime | None = None
    """Aware datetimes (the provider's zone applied by the parser)."""
    report_time: datetime | None = None

    def dedup_key(self) -> str:
        """Identity of a report: the same report pushed twice or pulled and pushed."""
        report_time = self.report_time.isoformat() if self.report_time else ""
        return f"{self.biz_id}|{self.phone_number}|{self.provider_code}|{report_time}"


@dataclass(frozen=True, slots=True)
class Uplink:
    """One uplink (inbound message), as pulled from /sms/smsUp or pushed to us."""

    phone_number: str
    content: str
    sign: str
    sequence_id: int
    send_time: datetime | None = None

    def dedup_key(self) -> str:
        """Identity of an uplink: the provider's sequence id with the sender."""
        return f"{self.sequence_id}|{self.phone_number}"
