"""Typed asyncio client of the SmsGateway API, and the `smsctl` command line.

from smsgateway_client import SmsGatewayClient

async with SmsGatewayClient("localhost:50051") as gateway:
    sent = await gateway.send_sms(["13800000000"], sign="Acme", content="Hello", kind="notice")
"""

from .client import (
    DEFAULT_TARGET,
    KindLike,
    RetryPolicy,
    SmsGatewayClient,
    StreamName,
    parse_kind,
    parse_status,
)
from .errors import GatewayError, Violation

__all__ = [
    "DEFAULT_TARGET",
    "GatewayError",
    "KindLike",
    "RetryPolicy",
    "SmsGatewayClient",
    "StreamName",
    "Violation",
    "parse_kind",
    "parse_status",
]
