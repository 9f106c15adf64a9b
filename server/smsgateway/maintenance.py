"""Periodic upkeep of one replica: retention (on the leader) and gauges cheaper to refresh
than to keep exact (subscribers, consumer groups and their backlogs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from smsgateway.backends import Backend
from smsgateway.events.hub import EventHub
from smsgateway.events.model import Retention, Stream
from smsgateway.leadership import Leadership
from smsgateway.observability import metrics

log = logging.getLogger(__name__)

_PRUNE_SECONDS: Final = 3600.0
_GAUGE_SECONDS: Final = 5.0


class Maintenance:
    """Prunes beyond retention every hour while leading; refreshes gauges every 5 s."""

    def __init__(
        self,
        backend: Backend,
        hub: EventHub,
        leadership: Leadership,
        *,
        retention: Retention,
        group_idle_seconds: float,
    ) -> None:
        self._backend = backend
        self._hub = hub
        self._leadership = leadership
        self._retention = retention
        self._group_idle_seconds = group_idle_seconds

    async def run(
        self,
    ) -> None:
        """Retention and gauges that are cheaper to refresh than to keep exact."""
        last_prune = 0.0
        labelled: set[tuple[str, str]] = set()
        loop = asyncio.get_running_loop()
        while True:
            try:
                # Retention is shared work: the leader does it for every replica.
                if self._leadership.leading and loop.time() - last_prune >= _PRUNE_SECONDS:
                    last_prune = loop.time()
                    dropped = await self._backend.events.prune(self._retention)
                    forgotten = await self._backend.idempotency.prune()
                    expired = await self._backend.groups.prune_groups(self._group_idle_seconds)
                    metrics.CONSUMER_GROUPS_EXPIRED.inc(len(expired))
                    for stream, name in expired:
                        log.info(
                            "consumer group expired (idle)",
                            extra={"stream": stream.value, "group": name},
                        )
                    if dropped or forgotten:
                        log.info(
                            "retention",
                            extra={"events_dropped": dropped, "request_ids_forgotten": forgotten},
                        )
                for stream in Stream:
                    metrics.SUBSCRIBERS.labels(stream.value).set(self._hub.subscriber_count(stream))
                    last = await self._backend.events.last_cursor(stream)
                    groups = await self._backend.groups.groups(stream)
                    metrics.CONSUMER_GROUPS.labels(stream.value).set(len(groups))
                    backlogs = {g.name: g.pending + max(0, last - g.position) for g in groups}
                    labelled = set_group_backlogs(stream, backlogs, labelled)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("maintenance pass failed")
            await asyncio.sleep(_GAUGE_SECONDS)


def set_group_backlogs(
    stream: Stream, backlogs: dict[str, int], labelled: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Export at most GROUP_METRICS_MAX groups by name (first by name), the rest summed
    under "_other"; remove the series of groups that are gone. Returns what is labelled."""
    names = sorted(backlogs)
    own, rest = names[: metrics.GROUP_METRICS_MAX], names[metrics.GROUP_METRICS_MAX :]
    now = {(stream.value, name) for name in own}
    for name in own:
        metrics.GROUP_BACKLOG.labels(stream.value, name).set(backlogs[name])
    if rest:
        now.add((stream.value, "_other"))
        metrics.GROUP_BACKLOG.labels(stream.value, "_other").set(sum(backlogs[n] for n in rest))
    for key in labelled:
        if key[0] == stream.value and key not in now:
            with contextlib.suppress(KeyError):
                metrics.GROUP_BACKLOG.remove(*key)
    return {k for k in labelled if k[0] != stream.value} | now
