"""Stream responses, built once and shared by every subscriber.

With fan-out, each event goes to many subscribers within moments, and the proto
conversion is the gateway's biggest per-delivery cost after gRPC itself. A
stored event never changes in what the API shows, so its cursor is the key of
its one-event response; a batched response (`max_events_per_response` > 1) is
keyed by the cursors it carries, so subscribers that read the same events (a
shared store read, or the same claim chunk) get the same message. Both caches
are bounded; the oldest entries go first. Responses are shared: never mutate one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from smsgateway.api.convert import report_to_proto, uplink_to_proto
from smsgateway.events.model import StoredEvent, StoredReport, StoredUplink, Stream
from smsgateway.observability.tracing import delivery_span, tracing_installed
from smsgateway.v1 import smsgateway_pb2 as pb

R = TypeVar("R", pb.StreamDeliveryReportsResponse, pb.StreamUplinksResponse)


class Responses(Generic[R]):
    """The responses of one stream: one-event ones by cursor, batches by cursors."""

    def __init__(
        self,
        stream: Stream,
        single: Callable[[Any], R],
        batch: Callable[[list[Any]], R],
        unwrap: Callable[[R], Any],
        max_events: int,
    ) -> None:
        self._stream = stream.value
        self._single: Callable[[Any], R] = single
        self._batch: Callable[[list[Any]], R] = batch
        self._unwrap: Callable[[R], Any] = unwrap
        self._max = max_events
        self._singles: dict[int, R] = {}
        self._batches: dict[tuple[int, ...], R] = {}
        self._batched_events = 0

    def one(self, event: StoredEvent) -> R:
        """The one-event response of `event` (under a delivery span when tracing)."""
        if tracing_installed():
            with delivery_span(self._stream, event.traceparent, event.cursor):
                return self._one(event)
        return self._one(event)

    def batch(self, events: Sequence[StoredEvent]) -> R:
        """The response carrying `events` (1 to 1,000, in cursor order) in its repeated
        field (each event under a delivery span when tracing)."""
        key = tuple([e.cursor for e in events])
        response = self._batches.get(key)
        if tracing_installed():
            for event in events:  # every delivery keeps its span
                with delivery_span(self._stream, event.traceparent, event.cursor):
                    pass
        if response is None:
            response = self._batch([self._unwrap(self._one(e)) for e in events])
            self._remember(key, response)
        return response

    def many(self, events: Sequence[StoredEvent], per_response: int) -> Iterator[R]:
        """Responses carrying `events` in order, at most `per_response` each."""
        for first in range(0, len(events), per_response):
            yield self.batch(events[first : first + per_response])

    def _one(self, event: StoredEvent) -> R:
        response = self._singles.get(event.cursor)
        if response is None:
            response = self._single(event)
            if len(self._singles) >= self._max:
                del self._singles[next(iter(self._singles))]  # roughly the oldest cursor
            self._singles[event.cursor] = response
        return response

    def _remember(self, key: tuple[int, ...], response: R) -> None:
        while self._batches and self._batched_events + len(key) > self._max:
            oldest = next(iter(self._batches))
            del self._batches[oldest]
            self._batched_events -= len(oldest)
        self._batches[key] = response
        self._batched_events += len(key)


class StreamResponses:
    """The response caches of both streams (one per `EventsApi`)."""

    def __init__(self, max_events: int = 8_192) -> None:
        """`max_events` bounds each cache: one-event responses, and events held in
        batched responses."""
        self.reports: Responses[pb.StreamDeliveryReportsResponse] = Responses(
            Stream.REPORTS,
            lambda e: pb.StreamDeliveryReportsResponse(report=report_to_proto(_report(e))),
            lambda messages: pb.StreamDeliveryReportsResponse(reports=messages),
            lambda r: r.report,
            max_events,
        )
        self.uplinks: Responses[pb.StreamUplinksResponse] = Responses(
            Stream.UPLINKS,
            lambda e: pb.StreamUplinksResponse(uplink=uplink_to_proto(_uplink(e))),
            lambda messages: pb.StreamUplinksResponse(uplinks=messages),
            lambda r: r.uplink,
            max_events,
        )


def _report(event: StoredEvent) -> StoredReport:
    assert isinstance(event, StoredReport)
    return event


def _uplink(event: StoredEvent) -> StoredUplink:
    assert isinstance(event, StoredUplink)
    return event
