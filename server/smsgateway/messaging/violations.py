"""The one shape every rule in `messaging` reports bad input in.

The gRPC edge turns each `Violation` into a `google.rpc.BadRequest.FieldViolation`;
the texts go back to the caller (never to logs), so they quote the offending input.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Violation:
    """One reason why a request field is not acceptable."""

    field: str
    """The proto field path, e.g. ``phone_numbers[3]``, ``sign``, ``template_params_json``."""
    description: str
    """A human reason, naming the offending value where that helps the caller find it."""
