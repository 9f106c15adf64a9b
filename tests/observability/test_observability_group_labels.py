"""Caller-named consumer groups never grow the metric series without bound."""

from __future__ import annotations

from smsgateway.events.model import Stream
from smsgateway.maintenance import set_group_backlogs
from smsgateway.observability import metrics


def _series(stream: str) -> dict[str, float]:
    return {
        s.labels["group"]: s.value
        for family in metrics.GROUP_BACKLOG.collect()
        for s in family.samples
        if s.labels["stream"] == stream
    }


def test_at_most_the_bound_plus_other_and_gone_groups_lose_their_series() -> None:
    backlogs = {f"g{i:04d}": i for i in range(3000)}
    labelled = set_group_backlogs(Stream.UPLINKS, backlogs, set())
    series = _series("uplinks")
    assert len(series) == metrics.GROUP_METRICS_MAX + 1
    assert series["_other"] == sum(range(metrics.GROUP_METRICS_MAX, 3000))
    # The groups were deleted or expired: their series go too.
    labelled = set_group_backlogs(Stream.UPLINKS, {"g0001": 5}, labelled)
    assert _series("uplinks") == {"g0001": 5}
    set_group_backlogs(Stream.UPLINKS, {}, labelled)
    assert _series("uplinks") == {}
