"""Page tokens of the list RPCs.

A token is urlsafe-base64 (no padding) of a small JSON object: a version, the
list it belongs to, a fingerprint of the filter it was issued for, and the
position after which the next page starts. Opaque to callers; checked on use, so
that a forged or foreign token gets `INVALID_ARGUMENT` (field `page_token`),
never a store error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from smsgateway.api.errors import FieldViolation

PAGE_TOKEN_MAX = 1_024

_TOKEN_VERSION = 1


def filter_fingerprint(text: str) -> str:
    """A short, stable digest of a filter's canonical text (tokens are bound to it)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_token(kind: str, fingerprint: str, after: int | list[str]) -> str:
    payload = {"v": _TOKEN_VERSION, "k": kind, "f": fingerprint, "a": after}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_CURSOR_MAX = 2**63 - 1


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode_token(
    token: str, kind: str, fingerprint: str, violations: list[FieldViolation]
) -> int | list[str] | None:
    """The position a token holds; None for no token (or a bad one, with a violation)."""
    if not token:
        return None
    bad = FieldViolation("page_token", "is not a page token returned by this RPC")
    if len(token) > PAGE_TOKEN_MAX or not token.isascii():
        violations.append(bad)
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        violations.append(bad)
        return None
    if not isinstance(payload, dict) or payload.get("v") != _TOKEN_VERSION:
        violations.append(bad)
        return None
    after = payload.get("a")
    # A forged token must not reach the store: a cursor beyond int64 or a lone
    # surrogate would fail there (INTERNAL) instead of here (INVALID_ARGUMENT).
    valid_after = (
        isinstance(after, int) and not isinstance(after, bool) and 0 <= after <= _CURSOR_MAX
        if kind != "suppressions"
        else isinstance(after, list)
        and len(after) == 2
        and all(isinstance(p, str) and len(p) <= 64 and _encodable(p) for p in after)
    )
    if payload.get("k") != kind or not valid_after:
        violations.append(bad)
        return None
    if payload.get("f") != fingerprint:
        violations.append(
            FieldViolation(
                "page_token",
                "was issued for a different filter; keep the filter the same while paging",
            )
        )
        return None
    return after  # type: ignore[no-any-return]
