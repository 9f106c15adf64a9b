"""The client configuration shared by every language: clients/service_config.json.

`SmsGatewayClient` takes its channel settings (per-method deadlines, keepalive) and its
default `RetryPolicy` from this file (a copy of clients/service_config.json that
`make proto` keeps in the package). This client retries itself (it honours the
server's `RetryInfo` and stops when the deadline would pass), so gRPC's own retries
are switched off on its channel; the policy is the file's, value for value.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["RetryPolicy", "channel_options", "service_config"]


@cache
def service_config() -> dict[str, Any]:
    """The parsed service_config.json of this package."""
    text = resources.files(__package__).joinpath("service_config.json").read_text("utf-8")
    config: dict[str, Any] = json.loads(text)
    return config


def _duration(text: str) -> float:
    return float(text.removesuffix("s"))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How unary calls are retried after `UNAVAILABLE`, and how streams reconnect."""

    max_attempts: int = 4
    """Attempts in all, the first included (1 disables retries and stream reconnects)."""
    initial_backoff: float = 0.25
    """Seconds before the second attempt, before jitter."""
    max_backoff: float = 5.0
    """Upper bound of one wait, before jitter."""
    multiplier: float = 2.0
    """Growth of the wait per attempt."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.initial_backoff < 0 or self.max_backoff < self.initial_backoff:
            raise ValueError("need 0 <= initial_backoff <= max_backoff")
        if self.multiplier < 1:
            raise ValueError("multiplier must be >= 1")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed attempt number `attempt` (from 1): equal jitter, so
        that clients failing together do not come back together, yet always wait."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    @classmethod
    def from_service_config(cls) -> RetryPolicy:
        """The retry policy of the sends in service_config.json."""
        for method in service_config()["serviceConfig"]["methodConfig"]:
            if any(n.get("method") == "SendSms" for n in method["name"]):
                policy = method["retryPolicy"]
                return cls(
                    max_attempts=int(policy["maxAttempts"]),
                    initial_backoff=_duration(policy["initialBackoff"]),
                    max_backoff=_duration(policy["maxBackoff"]),
                    multiplier=float(policy["backoffMultiplier"]),
                )
        raise ValueError("service_config.json has no retry policy for SendSms")


def channel_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    """grpc channel options from service_config.json: deadlines per method and keepalive;
    gRPC's own retries off (the client retries, see the module docstring)."""
    config = service_config()
    keepalive = config["keepalive"]
    return [
        ("grpc.service_config", json.dumps(config["serviceConfig"])),
        ("grpc.enable_retries", 0),
        ("grpc.keepalive_time_ms", int(keepalive["timeMs"])),
        ("grpc.keepalive_timeout_ms", int(keepalive["timeoutMs"])),
        ("grpc.keepalive_permit_without_calls", int(bool(keepalive["permitWithoutCalls"]))),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]
