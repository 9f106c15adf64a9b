"""How one attempt fails short of a usable answer (internal to the client).

The attempt raises these; the retry loop and the token round turn them into the
public errors of `smsgateway.upstream.errors`.
"""

from __future__ import annotations

__all__ = ["Fault", "TokenRejected"]


class Fault(Exception):
    """One attempt got no usable answer (internal; becomes a public error)."""

    def __init__(self, outcome: str, detail: str, *, sent: bool) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.sent = sent


class TokenRejected(Exception):
    """The provider did not accept the token (internal)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
