"""Hooks through which observability sees provider calls (metrics live elsewhere)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NoopObserver", "UpstreamObserver"]


class UpstreamObserver(Protocol):
    """Receives one event per HTTP attempt and per token fetch.

    endpoint: "token", "send", "send_template", "deliver", "sms_up", "balance".
    outcome: "success", "rejected", "token_rejected", "http_error", "malformed",
    "timeout", "connection_error".
    """

    def request_finished(self, endpoint: str, outcome: str, seconds: float) -> None:
        """One HTTP attempt ended with `outcome` after `seconds`."""

    def token_fetched(self, reason: str, result: str) -> None:
        """A token fetch ("cold", "expiring", "rejected") ended ("success", "failure")."""


class NoopObserver:
    """The default observer: ignores everything."""

    def request_finished(self, endpoint: str, outcome: str, seconds: float) -> None:
        return None

    def token_fetched(self, reason: str, result: str) -> None:
        return None
