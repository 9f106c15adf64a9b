"""Caller keys: generation, digests, constant-time comparison, the Bearer header.

A key is shown once, when it is made; only its SHA-256 digest is ever stored
(in the callers file). Keys carry 32 random bytes, URL-safe base64, behind a
recognisable prefix so that secret scanners can spot a leaked one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

KEY_PREFIX: Final = "smsgw_"
"""Every generated key starts with this (the prefix is part of the key)."""
KEY_RANDOM_BYTES: Final = 32
"""Random bytes per key (256 bits)."""
MAX_KEY_LENGTH: Final = 512
"""Longer `authorization` values are refused before hashing."""
DIGEST_HEX_LENGTH: Final = 64


def new_key() -> str:
    """A fresh random key: `smsgw_` + 43 URL-safe characters (32 bytes from `secrets`)."""
    return KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)


def digest(key: str) -> bytes:
    """The SHA-256 of a key (UTF-8), as 32 bytes."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def hex_digest(key: str) -> str:
    """The SHA-256 of a key as 64 lowercase hex characters (the callers file's `key_sha256`)."""
    return digest(key).hex()


def digests_equal(a: bytes, b: bytes) -> bool:
    """Compare two digests in constant time (no early exit on the first differing byte)."""
    return hmac.compare_digest(a, b)


def bearer_key(value: str | bytes | None) -> str | None:
    """The key of an `authorization: Bearer <key>` metadata value, or None.

    The scheme is case-insensitive; surrounding spaces are ignored. Anything else
    (another scheme, an empty or over-long key, control characters) is None.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if len(value) > MAX_KEY_LENGTH + 16:
        return None
    scheme, _, key = value.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > MAX_KEY_LENGTH:
        return None
    if not (key.isascii() and key.isprintable()) or " " in key:
        return None
    return key
