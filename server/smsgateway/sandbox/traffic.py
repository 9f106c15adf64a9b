"""What the simulated network produces: an accepted send's reports, a handset's uplinks.

An accepted send is billed, recorded as a `SandboxBatch` and yields one delivery report
per recipient, due `report_delay_seconds` later with a code drawn from `report_outcomes`.
"""

from __future__ import annotations

import math
from datetime import datetime

from smsgateway.sandbox.config import SandboxBatch
from smsgateway.sandbox.replies import CHINA_TZ, CODE_BALANCE_TOO_LOW, Rejection, format_time
from smsgateway.sandbox.state import SandboxState
from smsgateway.sandbox.streams import Report, Uplink
from smsgateway.sandbox.validation import MAX_SIGN, SendParams, is_phone_number


def segments_of(content: str) -> int:
    """Billed segments of one message: 1 up to 70 characters, else 67 per segment."""
    return 1 if len(content) <= 70 else math.ceil(len(content) / 67)


def accept_send(state: SandboxState, send: SendParams) -> str:
    """Bill a checked send, record it and schedule its reports; returns the bizId.

    Raises `Rejection` (10004) when the balance cannot pay for every recipient.
    """
    cfg = state.config
    numbers = send.numbers
    segments = segments_of(send.content)
    cost = cfg.price_per_segment * segments * len(numbers)
    if cost > state.balance:
        raise Rejection(CODE_BALANCE_TOO_LOW, "余额不足")
    state.balance -= cost
    now = state.clock()
    biz_id = str(state.rng.randrange(10**19, 10**20))
    state.record_batch(
        SandboxBatch(
            biz_id=biz_id,
            phone_numbers=numbers,
            sign=send.sign,
            content=send.content,
            kind=send.kind,
            template_id=send.template_id,
            param_json=send.param_json,
            segments=segments,
            received_at=now,
        )
    )
    codes = list(cfg.report_outcomes)
    if len(codes) == 1:
        drawn = codes * len(numbers)
    else:
        drawn = state.rng.choices(codes, list(cfg.report_outcomes.values()), k=len(numbers))
    due = now + cfg.report_delay_seconds
    for number, code in zip(numbers, drawn, strict=True):
        report = Report(biz_id, number, code, segments, now, due)
        state.reports.add(due, send.sign, report, keep=cfg.max_kept)
    return biz_id


def inject_uplink(
    state: SandboxState,
    phone_number: str,
    content: str,
    sign: str,
    send_time: datetime | None = None,
) -> dict[str, object]:
    """Store a handset's reply, due now; returns it (camelCase, with sign).

    A naive `send_time` is read as UTC+8 (the provider's zone).
    """
    if not is_phone_number(phone_number):
        raise ValueError("phone_number must be 5..20 digits")
    if not content:
        raise ValueError("content must not be empty")
    if not sign or len(sign) > MAX_SIGN:
        raise ValueError(f"sign must be 1..{MAX_SIGN} characters")
    if send_time is None:
        timestamp = state.clock()
    elif send_time.tzinfo is None:
        timestamp = send_time.replace(tzinfo=CHINA_TZ).timestamp()
    else:
        timestamp = send_time.timestamp()
    uplink = Uplink(phone_number, content, sign, state.next_sequence_id, timestamp)
    state.next_sequence_id += 1
    state.uplinks.add(state.clock(), sign, uplink, keep=state.config.max_kept)
    return {
        "phoneNumber": uplink.phone_number,
        "sendTime": format_time(uplink.send_time),
        "content": uplink.content,
        "sign": uplink.sign,
        "sequenceId": uplink.sequence_id,
    }
