"""The audit trail: one structured log line per send, on the `smsgateway.audit` logger.

Each line says who sent (`caller`), which send (`request_id`), with which `sign` and
`kind`, to how many recipients, and how it ended (`outcome`): `sent`, `partial`
(some calls not accepted), `replayed`, `refused` (a limit), `invalid`,
`denied` (permission or sign), `failed` (the provider or the store). Never phone
numbers, contents, keys or tokens. The same caller is kept with every accepted
provider call in the send log, so `GetSendStatus` answers who sent it.
"""

from __future__ import annotations

import logging
from typing import Final

from smsgateway.v1 import smsgateway_pb2 as pb

log = logging.getLogger("smsgateway.audit")

OUTCOMES: Final = frozenset(
    {"sent", "partial", "replayed", "refused", "invalid", "denied", "failed"}
)
_KINDS: Final[dict[int, str]] = {
    pb.SMS_KIND_UNSPECIFIED: "unspecified",
    pb.SMS_KIND_VERIFICATION_CODE: "verification_code",
    pb.SMS_KIND_NOTICE: "notice",
    pb.SMS_KIND_MARKETING: "marketing",
}


def record_send(
    *,
    caller: str,
    method: str,
    request_id: str,
    sign: str,
    kind: int,
    recipient_count: int,
    outcome: str,
    accepted_count: int = 0,
    limited_count: int = 0,
    reason: str = "",
) -> None:
    """Write the audit line of one send (INFO; WARNING when refused or denied)."""
    level = logging.WARNING if outcome in ("refused", "denied") else logging.INFO
    if not log.isEnabledFor(level):
        return
    log.log(
        level,
        "send",
        extra={
            "event": "audit_send",
            "caller": caller,
            "method": method,
            "request_id": request_id[:128],
            "sign": sign[:40],
            "kind": _KINDS.get(kind, "unknown"),
            "recipient_count": recipient_count,
            "accepted_count": accepted_count,
            "limited_count": limited_count,
            "outcome": outcome if outcome in OUTCOMES else "failed",
            "reason": reason[:64],
        },
    )
