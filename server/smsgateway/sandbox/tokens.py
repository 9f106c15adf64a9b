"""Token issuing: the credentials /api/token accepts, and the account's one token."""

from __future__ import annotations

import base64
import hmac
import math
import secrets
from collections.abc import Callable, Mapping

from smsgateway.sandbox.config import SandboxConfig
from smsgateway.sandbox.replies import (
    CODE_BAD_CREDENTIALS,
    CODE_TOKEN_INVALID,
    Rejection,
    param_error,
)


def mint_token() -> str:
    # 43 random bytes -> 60 base64 chars ending in "=="; "-" and "+" are inserted so every
    # token exercises a client's URL encoding (real tokens contain them too).
    raw = base64.b64encode(secrets.token_bytes(43)).decode("ascii")
    return f"{raw[:20]}-{raw[20:40]}+{raw[40:]}"


def check_credentials(params: Mapping[str, str], cfg: SandboxConfig) -> None:
    """The appId and secret of /api/token, compared in constant time."""
    app_id = params.get("appId", "")
    secret = params.get("secret", "")
    if not app_id:
        raise param_error("appId", "is required")
    if not secret:
        raise param_error("secret", "is required")
    # Both compared (no short circuit) in constant time.
    app_ok = hmac.compare_digest(app_id.encode(), cfg.app_id.encode())
    secret_ok = hmac.compare_digest(secret.encode(), cfg.secret.encode())
    if not (app_ok and secret_ok):
        raise Rejection(CODE_BAD_CREDENTIALS, "appId或secret错误")


class Tokens:
    """The account's token: /api/token hands out the same one until it expires."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.expires_at = 0.0

    def issue(self, now: float, ttl_seconds: float) -> bool:
        """Mint a token unless the current one is still valid; True when one was minted."""
        if self.current is None or now >= self.expires_at:
            self.current = mint_token()
            self.expires_at = now + ttl_seconds
            return True
        return False

    def expires_in(self, now: float) -> int:
        """The remaining lifetime in whole seconds, rounded up."""
        return math.ceil(self.expires_at - now)

    def revoke(self) -> None:
        """Forget the token (a secret reset): it is rejected from now on."""
        self.current = None

    def check(
        self,
        params: Mapping[str, str],
        max_len: int,
        clock: Callable[[], float],
        rejection_status: int,
    ) -> None:
        """The `token` parameter of a call: present, short enough, current and not expired."""
        token = params.get("token", "")
        if not token:
            raise param_error("token", "is required")
        if len(token) > max_len:
            raise param_error("token", f"longer than {max_len}")
        current = self.current
        if (
            current is None
            or clock() >= self.expires_at
            or not hmac.compare_digest(token.encode(), current.encode())
        ):
            raise Rejection(CODE_TOKEN_INVALID, "token无效", rejection_status)
