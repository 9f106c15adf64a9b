"""The event streams of the client: reconnect after `UNAVAILABLE`, resume where they were.

A stream yields events one by one, though the gateway may pack several into one
response (`max_events_per_response`); a gateway that predates batching sends one per
response, which is read as well. After a transient fault the stream reconnects with the
client's retry waits (retry.py) and resumes right after the last event it yielded, or,
in a consumer group, from the group's position (so unacknowledged events come again).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any, TypeVar

import grpc

from smsgateway.v1 import smsgateway_pb2 as pb

from .errors import GatewayError
from .retry import Metadata, Retrier, rpc_name

# The client's logger, so that its warnings keep the logger name they always had.
log = logging.getLogger(f"{__package__}.client")

__all__ = ["checked_events_per_response", "reports_of", "resuming_stream", "uplinks_of"]

E = TypeVar("E")


async def resuming_stream(
    method: Callable[..., Any],
    request: Any,
    unwrap: Callable[[Any], Sequence[E]],
    *,
    retrier: Retrier,
    metadata: Metadata,
    reconnect: bool,
) -> AsyncGenerator[E, None]:
    """The events of a server-streaming `method`, each response `unwrap`ped into its
    events; without `reconnect` the first failure ends it (as `GatewayError`)."""
    grouped = request.HasField("consumer_group")
    last_cursor: int | None = None
    attempt = 1
    while True:
        call = method(request, metadata=metadata())
        try:
            async for response in call:
                attempt = 1
                for event in unwrap(response):
                    # Per event: a caller that stops (or a drop) mid-response
                    # resumes right after the last event it was given.
                    last_cursor = event.cursor  # type: ignore[attr-defined]
                    yield event
            return
        except grpc.aio.AioRpcError as exc:
            error = GatewayError.from_rpc_error(exc)
            delay = retrier.next_delay(error, attempt, None) if reconnect else None
            if delay is None:
                raise error from exc
        finally:
            call.cancel()
        if not grouped and last_cursor is not None:
            # Resume right after what the caller has seen. A group resumes from its
            # own position instead, so its unacknowledged events come again.
            resumed = type(request)()
            resumed.CopyFrom(request)
            resumed.start.after_cursor = last_cursor
            request = resumed
        log.warning(
            "%s interrupted (attempt %d of %d), reconnecting in %.2fs: %s",
            rpc_name(request),
            attempt,
            retrier.max_attempts,
            delay,
            error,
        )
        await retrier.sleep(delay)
        attempt += 1


def checked_events_per_response(value: int) -> int:
    """`events_per_response` of the stream methods, checked (1 to 1,000)."""
    if not 1 <= value <= 1_000:
        raise ValueError(f"events_per_response is {value}; must be 1 to 1000")
    return value


def reports_of(response: pb.StreamDeliveryReportsResponse) -> Sequence[pb.DeliveryReport]:
    """The reports of a response: batched ones, or the one of an unbatched response."""
    if response.reports:
        return response.reports
    return [response.report] if response.HasField("report") else []


def uplinks_of(response: pb.StreamUplinksResponse) -> Sequence[pb.Uplink]:
    """The uplinks of a response: batched ones, or the one of an unbatched response."""
    if response.uplinks:
        return response.uplinks
    return [response.uplink] if response.HasField("uplink") else []
