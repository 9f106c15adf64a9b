"""The provider's HTTP API v1.0: typed client, token cache, parsing of reports and uplinks.

Imports nothing else of smsgateway (no api, events, messaging, grpc).
"""

from smsgateway.upstream.client import InvalidItemHandler, ProviderClient
from smsgateway.upstream.config import UpstreamConfig
from smsgateway.upstream.errors import (
    NotSentError,
    OutcomeUnknownError,
    ProviderRejectedError,
    TokenRejectedError,
    TokenUnavailableError,
    UpstreamError,
    UpstreamUnavailableError,
)
from smsgateway.upstream.models import (
    Balance,
    DeliveryReport,
    SendReceipt,
    Token,
    Uplink,
    code_of,
    parse_report_item,
    parse_time,
    parse_uplink_item,
)
from smsgateway.upstream.observer import NoopObserver, UpstreamObserver
from smsgateway.upstream.session import new_pool, new_session
from smsgateway.upstream.token import TokenCache

__all__ = [
    "Balance",
    "DeliveryReport",
    "InvalidItemHandler",
    "NoopObserver",
    "NotSentError",
    "OutcomeUnknownError",
    "ProviderClient",
    "ProviderRejectedError",
    "SendReceipt",
    "Token",
    "TokenCache",
    "TokenRejectedError",
    "TokenUnavailableError",
    "Uplink",
    "UpstreamConfig",
    "UpstreamError",
    "UpstreamObserver",
    "UpstreamUnavailableError",
    "code_of",
    "new_pool",
    "new_session",
    "parse_report_item",
    "parse_time",
    "parse_uplink_item",
]
