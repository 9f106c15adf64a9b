"""Per-number limit windows as written in settings: `1/60s,5/1h,10/1d`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from smsgateway.security.ports import Window

DEFAULT_VERIFICATION_WINDOWS: Final[tuple[Window, ...]] = (
    Window(1, 60.0),
    Window(5, 3600.0),
    Window(10, 86400.0),
)
"""1 per 60 s, 5 per hour, 10 per day."""
DEFAULT_VERIFICATION_WINDOWS_TEXT: Final = "1/60s,5/1h,10/1d"
MAX_WINDOWS: Final = 8
MAX_WINDOW_COUNT: Final = 1000
MAX_WINDOW_SECONDS: Final = 7 * 86400.0
_UNITS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_WINDOW: Final = re.compile(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([smhd])\s*")


def parse_windows(text: str) -> tuple[Window, ...]:
    """`"1/60s,5/1h,10/1d"` → windows, shortest first; `"off"` → none. Raises ValueError."""
    if text.strip().lower() in ("", "off", "none"):
        return ()
    windows: list[Window] = []
    for part in text.split(","):
        match = _WINDOW.fullmatch(part)
        if match is None:
            raise ValueError(f"{part.strip()[:40]!r} is not COUNT/DURATION such as 5/1h")
        count, amount, unit = int(match[1]), float(match[2] or 1), match[3]
        seconds = amount * _UNITS[unit]
        if not (1 <= count <= MAX_WINDOW_COUNT and 0 < seconds <= MAX_WINDOW_SECONDS):
            raise ValueError(
                f"{part.strip()!r}: the count must be 1 to {MAX_WINDOW_COUNT}, "
                "the duration more than 0 and at most 7d"
            )
        windows.append(Window(count, seconds))
    if len(windows) > MAX_WINDOWS:
        raise ValueError(f"at most {MAX_WINDOWS} windows")
    return tuple(sorted(windows, key=lambda w: w.seconds))


def describe_windows(windows: Sequence[Window]) -> str:
    """Windows as people read them: `1 per 60 s, 5 per 3600 s`."""
    return ", ".join(f"{w.count} per {w.seconds:g} s" for w in windows)
