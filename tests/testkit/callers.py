"""The callers of the security tests: one per interesting combination of rights."""

from __future__ import annotations

import json

from smsgateway.security.keys import hex_digest

SIGN_A = "圆通快递"
SIGN_B = "顺丰速运"
SIGN_C = "Demo"

CALLERS: dict[str, dict[str, object]] = {
    "admin": {"permissions": ["admin"]},
    "sender_a": {"permissions": ["send"], "signs": [SIGN_A]},
    "reader_a": {"permissions": ["read_events"], "signs": [SIGN_A]},
    "tenant_a": {
        "permissions": ["send", "read_events", "manage_suppressions"],
        "signs": [SIGN_A],
    },
    "tenant_b": {
        "permissions": ["send", "read_events", "manage_suppressions"],
        "signs": [SIGN_B],
    },
    "multi": {
        "permissions": ["send", "read_events", "manage_suppressions"],
        "signs": [SIGN_A, SIGN_C],
    },
    "anysign": {"permissions": ["read_events"], "signs": ["*"]},
    "limited": {
        "permissions": ["send"],
        "signs": [SIGN_A],
        "rate_limit_per_second": 2,
        "daily_recipient_quota": 5,
    },
}


def callers_yaml(keys: dict[str, str], callers: dict[str, dict[str, object]] = CALLERS) -> str:
    """A callers file for these keys (JSON values are valid YAML)."""
    lines = ["callers:"]
    for name, spec in callers.items():
        lines.append(f"  - name: {name}")
        lines.append(f'    key_sha256: "{hex_digest(keys[name])}"')
        for field, value in spec.items():
            lines.append(f"    {field}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
