"""Free loopback ports for tests that start whole processes.

A port from `bind(0)` comes from the kernel's ephemeral range, the same range every
outbound connection takes its local port from: between the moment a test picks such a
port and the moment its subprocess binds it, any client socket on the machine (a replica's
Redis connection, an aiohttp pool) may take it, and the subprocess dies with "address
already in use". So ports here come from outside `ip_local_port_range`, where only
explicit binds land, are checked bindable, and are never handed out twice in one process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10_000  # below: ports that well-known services (and people) pick by hand
_handed_out: set[int] = set()
_random = random.SystemRandom()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in _RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return low, high


def _candidates() -> range:
    low, high = _ephemeral_range()
    if low - _LOWEST >= 1000:
        return range(_LOWEST, low)
    return range(high + 1, 65536)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1, free now, outside the ephemeral range, new to this process."""
    candidates = _candidates()
    for _ in range(200):
        port = _random.choice(candidates)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port found in {candidates.start}-{candidates.stop - 1}")
