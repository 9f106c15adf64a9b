"""The live set of callers: loaded at start, reloaded when the file changes or on SIGHUP.

A bad file at start fails the start (`CallersFileError`, every problem listed). A
bad file later is logged with its reasons and counted; the callers loaded before
stay in force, so a half-written Secret never locks everybody out or lets anybody
in. Kubernetes updates a mounted Secret by swapping a symlink: the watcher stats
the path (following links) and compares the content's digest, so it notices that
and ignores touches that change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

from smsgateway.observability import metrics
from smsgateway.security.callers import (
    MAX_FILE_BYTES,
    CallerDirectory,
    CallersFileError,
    parse_callers,
)

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 2.0


class CallerRegistry:
    """Holds the current `CallerDirectory`; `version` increases with every applied reload."""

    def __init__(self, path: Path, *, poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        self.path = Path(path)
        self._poll_seconds = poll_seconds
        self._directory: CallerDirectory | None = None
        self._content_digest = b""
        self._stat: tuple[int, int, int, int] | None = None
        self.version = 0
        self._task: asyncio.Task[None] | None = None
        self._sighup = False
        self._listeners: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def directory(self) -> CallerDirectory:
        """The callers in force (raises if `load` never succeeded)."""
        if self._directory is None:
            raise RuntimeError("the callers file was not loaded")
        return self._directory

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` on the event loop after every applied reload."""
        self._listeners.append(listener)

    def load(self) -> CallerDirectory:
        """Load the file now; raise `CallersFileError` when it is unusable (nothing changes)."""
        data, stat = self._read()
        directory = parse_callers(data, source=str(self.path))
        self._apply(directory, hashlib.sha256(data).digest(), stat)
        return directory

    def reload(self) -> bool:
        """Reload if the content changed; True when new callers are in force.

        A bad file is logged (with every reason) and counted; the old callers stay.
        """
        try:
            data, stat = self._read()
        except CallersFileError as exc:
            self._failed(exc)
            return False
        content_digest = hashlib.sha256(data).digest()
        if content_digest == self._content_digest:
            self._stat = stat
            return False
        try:
            directory = parse_callers(data, source=str(self.path))
        except CallersFileError as exc:
            self._content_digest = content_digest  # report a bad version once, not every poll
            self._stat = stat
            self._failed(exc)
            return False
        self._apply(directory, content_digest, stat)
        metrics.CALLERS_RELOADS.labels("success").inc()
        log.info(
            "callers file reloaded",
            extra={"callers_file": str(self.path), "callers": len(directory)},
        )
        return True

    def _failed(self, exc: CallersFileError) -> None:
        metrics.CALLERS_RELOADS.labels("failure").inc()
        log.warning(
            "callers file not reloaded (%s); the callers loaded before stay in force",
            "; ".join(exc.problems[:5]),
            extra={"callers_file": str(self.path), "problems": exc.problems[:20]},
        )

    def _apply(
        self, directory: CallerDirectory, content_digest: bytes, stat: tuple[int, int, int, int]
    ) -> None:
        self._directory = directory
        self._content_digest = content_digest
        self._stat = stat
        self.version += 1
        metrics.CALLERS.set(len(directory))
        for listener in self._listeners:
            if self._loop is not None:  # reloads may run in a thread: listeners run on the loop
                self._loop.call_soon_threadsafe(listener)
            else:
                listener()

    def _read(self) -> tuple[bytes, tuple[int, int, int, int]]:
        try:
            st = os.stat(self.path)
            with self.path.open("rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise CallersFileError(
                [f"cannot read the callers file {self.path}: {exc.strerror}"]
            ) from None
        if len(data) > MAX_FILE_BYTES:
            raise CallersFileError([f"the callers file {self.path} is over {MAX_FILE_BYTES} bytes"])
        return data, (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)

    def _changed_on_disk(self) -> bool:
        try:
            st = os.stat(self.path)
        except OSError:
            return True  # let reload() report it
        return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size) != self._stat

    # -- watching --------------------------------------------------------------
    def start(self) -> None:
        """Watch the file (poll) and reload on SIGHUP, until `stop`."""
        if self._task is not None:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            # Only possible in the main thread of a Unix process.
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup = True
        self._task = asyncio.create_task(self._watch(), name="callers-file-watch")

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading the callers file", extra={"callers_file": str(self.path)})
        self._content_digest = b""  # an explicit reload re-reads and reports, changed or not
        self.reload()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                if self._changed_on_disk():
                    await asyncio.to_thread(self.reload)
            except Exception:  # never let the watcher die
                log.exception("callers file watch failed")

    async def stop(self) -> None:
        """Stop watching."""
        if self._sighup:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._sighup = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
