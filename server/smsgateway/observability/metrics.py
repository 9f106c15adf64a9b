"""Every Prometheus metric of the gateway, defined once, on one registry.

All metrics live on `REGISTRY` (not the prometheus_client default registry) so
that tests and benchmarks can render exactly the gateway's metrics and so that
importing a third-party library never adds series to our exposition.

Label values are always drawn from small closed sets (RPC method names, gRPC
status code names, upstream endpoints and outcomes, SMS kinds, delivery statuses,
stream names, operator-chosen consumer-group names). Never put a phone number,
bizId, request id, token or caller-supplied free text into a label: each distinct
value creates a time series for the life of the process.

The exposition (GET /metrics) is in metrics_server.py; the upstream client's observer
and the token-expiry gauge binding are in upstream_metrics.py.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

from smsgateway import __version__

__all__ = [
    "AUTH_REFUSALS",
    "BALANCE",
    "BALANCE_ALERT_THRESHOLD",
    "BALANCE_UPDATED",
    "BATCHES",
    "BUILD_INFO",
    "CALLERS",
    "CALLERS_RELOADS",
    "CALLER_RECIPIENTS",
    "CALLER_REQUESTS",
    "CONSUMER_GROUPS",
    "CONSUMER_GROUPS_EXPIRED",
    "DEAD_LETTERS",
    "DUPLICATES",
    "GROUP_BACKLOG",
    "GROUP_METRICS_MAX",
    "GRPC_LATENCY",
    "GRPC_REQUESTS",
    "IDEMPOTENT_REPLAYS",
    "INGEST_LATENCY",
    "LAST_REPORT",
    "LEADER",
    "LIMIT_REFUSALS",
    "OPT_OUTS",
    "PROVIDER_CEILING_WAITS",
    "RECIPIENTS",
    "REGISTRY",
    "REPORTS",
    "SEGMENTS",
    "STORE_CHECK_FAILURES",
    "STORE_PERSISTENCE",
    "STORE_UP",
    "SUBSCRIBERS",
    "SUPPRESSED",
    "TOKEN_EXPIRY",
    "TOKEN_FETCHES",
    "UNAUTHENTICATED_MODE",
    "UPLINKS",
    "UPSTREAM_LATENCY",
    "UPSTREAM_REQUESTS",
    "report_status_label",
    "status_label",
]

REGISTRY: Final = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# Latency buckets. The facade itself answers in well under a millisecond; the
# provider in tens to hundreds of milliseconds, with timeouts at several seconds.
_RPC_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
_UPSTREAM_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
_COMMIT_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip

# --- gRPC edge --------------------------------------------------------------

GRPC_REQUESTS: Final = Counter(
    "smsgateway_grpc_requests_total",
    "gRPC requests finished, by method and gRPC status code name.",
    ["method", "code"],
    registry=REGISTRY,
)
GRPC_LATENCY: Final = Histogram(
    "smsgateway_grpc_request_duration_seconds",
    "Time from receiving a gRPC request to its final status (whole stream for streaming RPCs).",
    ["method"],
    buckets=_RPC_BUCKETS,
    registry=REGISTRY,
)

# --- upstream provider ------------------------------------------------------

UPSTREAM_REQUESTS: Final = Counter(
    "smsgateway_upstream_requests_total",
    "HTTP requests to the SMS provider, by endpoint and outcome class.",
    ["endpoint", "outcome"],
    registry=REGISTRY,
)
UPSTREAM_LATENCY: Final = Histogram(
    "smsgateway_upstream_request_duration_seconds",
    "Duration of HTTP requests to the SMS provider, by endpoint.",
    ["endpoint"],
    buckets=_UPSTREAM_BUCKETS,
    registry=REGISTRY,
)
TOKEN_FETCHES: Final = Counter(
    "smsgateway_token_fetches_total",
    "Access-token fetches, by why they happened (cold, expiring, rejected) and result.",
    ["reason", "result"],
    registry=REGISTRY,
)
TOKEN_EXPIRY: Final = Gauge(
    "smsgateway_token_expiry_seconds",
    "Seconds until the cached access token expires (negative or 0 when none is cached).",
    registry=REGISTRY,
)

# --- sends ------------------------------------------------------------------

RECIPIENTS: Final = Counter(
    "smsgateway_recipients_total",
    "Recipients handled by sends, by SMS kind and outcome (accepted, rejected, not_sent, unknown).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
BATCHES: Final = Counter(
    "smsgateway_upstream_batches_total",
    "Upstream send calls (batches of up to 1000 recipients), by SMS kind and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
SEGMENTS: Final = Counter(
    "smsgateway_segments_estimated_total",
    "Estimated billable SMS segments submitted (recipients x segments per message), by kind.",
    ["kind"],
    registry=REGISTRY,
)
IDEMPOTENT_REPLAYS: Final = Counter(
    "smsgateway_idempotent_replays_total",
    "Requests answered from the idempotency store because their request_id was seen before.",
    ["method"],
    registry=REGISTRY,
)
SUPPRESSED: Final = Counter(
    "smsgateway_suppressed_recipients_total",
    "Recipients dropped from marketing sends because they opted out or were suppressed.",
    registry=REGISTRY,
)

# --- callers, limits (the `caller` label holds names from the callers file, or
# "anonymous": bounded by the file's 1000 callers) ------------------------------

CALLER_REQUESTS: Final = Counter(
    "smsgateway_caller_requests_total",
    "Authenticated gRPC requests, by caller (callers-file name) and method.",
    ["caller", "method"],
    registry=REGISTRY,
)
CALLER_RECIPIENTS: Final = Counter(
    "smsgateway_caller_recipients_total",
    "Recipients handled by sends, by caller, SMS kind and outcome.",
    ["caller", "kind", "outcome"],
    registry=REGISTRY,
)
AUTH_REFUSALS: Final = Counter(
    "smsgateway_auth_refusals_total",
    "Calls refused before their handler: no_key, unknown_key, permission.",
    ["reason"],
    registry=REGISTRY,
)
LIMIT_REFUSALS: Final = Counter(
    "smsgateway_limit_refusals_total",
    "Sends refused whole (rate_limit, daily_quota, per_number) or recipients left out "
    "(per_number), by caller.",
    ["caller", "limit"],
    registry=REGISTRY,
)
PROVIDER_CEILING_WAITS: Final = Counter(
    "smsgateway_provider_ceiling_total",
    "Provider calls that waited for a slot under the sends-per-second ceiling (waited) "
    "or gave up because the deadline came first (refused).",
    ["result"],
    registry=REGISTRY,
)
CALLERS: Final = Gauge(
    "smsgateway_callers",
    "Callers declared in the callers file in force.",
    registry=REGISTRY,
)
CALLERS_RELOADS: Final = Counter(
    "smsgateway_callers_reloads_total",
    "Reloads of the callers file, by result (a failed reload keeps the old callers).",
    ["result"],
    registry=REGISTRY,
)
UNAUTHENTICATED_MODE: Final = Gauge(
    "smsgateway_unauthenticated_mode",
    "1 when the gateway serves beyond loopback without callers (SMSGW_ALLOW_UNAUTHENTICATED).",
    registry=REGISTRY,
)

# --- events (delivery reports and uplinks) -----------------------------------

REPORTS: Final = Counter(
    "smsgateway_delivery_reports_total",
    "Delivery reports stored, by how they arrived (push, pull) and delivery status.",
    ["source", "status"],
    registry=REGISTRY,
)
UPLINKS: Final = Counter(
    "smsgateway_uplinks_total",
    "Uplink (mobile-originated) messages stored, by how they arrived (push, pull).",
    ["source"],
    registry=REGISTRY,
)
OPT_OUTS: Final = Counter(
    "smsgateway_opt_outs_total",
    "Uplinks recognised as marketing opt-outs.",
    registry=REGISTRY,
)
DUPLICATES: Final = Counter(
    "smsgateway_events_duplicates_total",
    "Events dropped because an identical event was already stored, by stream and source.",
    ["stream", "source"],
    registry=REGISTRY,
)
DEAD_LETTERS: Final = Counter(
    "smsgateway_dead_letters_total",
    "Events that could not be parsed or stored or exceeded their redeliveries, by stream.",
    ["stream"],
    registry=REGISTRY,
)
INGEST_LATENCY: Final = Histogram(
    "smsgateway_ingest_commit_duration_seconds",
    "Time to durably commit one group of ingested events, by stream.",
    ["stream"],
    buckets=_COMMIT_BUCKETS,
    registry=REGISTRY,
)
SUBSCRIBERS: Final = Gauge(
    "smsgateway_active_subscribers",
    "Open event-stream subscriptions, by stream.",
    ["stream"],
    registry=REGISTRY,
)
GROUP_BACKLOG: Final = Gauge(
    "smsgateway_consumer_group_backlog_events",
    "Events stored but not yet acknowledged by a consumer group, by stream and group "
    '(the largest GROUP_METRICS_MAX groups by name; the rest summed under group="_other").',
    ["stream", "group"],
    registry=REGISTRY,
)
GROUP_METRICS_MAX: Final = 50
"""Consumer groups that get their own backlog series: caller-chosen names stay bounded."""
CONSUMER_GROUPS: Final = Gauge(
    "smsgateway_consumer_groups",
    "Consumer groups that exist, by stream.",
    ["stream"],
    registry=REGISTRY,
)
CONSUMER_GROUPS_EXPIRED: Final = Counter(
    "smsgateway_consumer_groups_expired_total",
    "Consumer groups deleted because nobody used them for SMSGW_CONSUMER_GROUP_IDLE_DAYS.",
    registry=REGISTRY,
)
LEADER: Final = Gauge(
    "smsgateway_leader",
    "1 while this replica holds the lease that runs the poller, balance refresher and "
    "retention (exactly one replica should), else 0.",
    registry=REGISTRY,
)
STORE_UP: Final = Gauge(
    "smsgateway_store_up",
    "1 when the store (SQLite files or Redis) answers its health check, else 0.",
    ["backend"],
    registry=REGISTRY,
)
STORE_CHECK_FAILURES: Final = Counter(
    "smsgateway_store_check_failures_total",
    "Store health checks that failed (the service was NOT_SERVING meanwhile).",
    ["backend"],
    registry=REGISTRY,
)
STORE_PERSISTENCE: Final = Gauge(
    "smsgateway_store_persistence_info",
    "The store's persistence settings as read at start (value 1), e.g. Redis appendonly and "
    'appendfsync; "unknown" when the server forbids CONFIG.',
    ["backend", "setting", "value"],
    registry=REGISTRY,
)
LAST_REPORT: Final = Gauge(
    "smsgateway_last_event_timestamp_seconds",
    "Unix time at which the last event was stored, by stream.",
    ["stream"],
    registry=REGISTRY,
)

# --- account ----------------------------------------------------------------

BALANCE: Final = Gauge(
    "smsgateway_balance",
    "Last known provider balance, in the account currency.",
    registry=REGISTRY,
)
BALANCE_UPDATED: Final = Gauge(
    "smsgateway_balance_last_update_timestamp_seconds",
    "Unix time of the last successful balance refresh.",
    registry=REGISTRY,
)
BALANCE_ALERT_THRESHOLD: Final = Gauge(
    "smsgateway_balance_alert_threshold",
    "Balance below which SmsGatewayLowBalance fires (configured on the gateway).",
    registry=REGISTRY,
)
BUILD_INFO: Final = Info(
    "smsgateway_build",
    "Build information of the running gateway.",
    registry=REGISTRY,
)
BUILD_INFO.info({"version": __version__})

# gRPC status code names, by numeric value, as they appear in the `code` label.
_GRPC_CODE_NAMES: Final[dict[int, str]] = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}

UPSTREAM_ENDPOINTS: Final = frozenset(
    {"token", "send", "send_template", "deliver", "sms_up", "balance"}
)
"""The endpoint label values the upstream client reports."""
UPSTREAM_OUTCOMES: Final = frozenset(
    {
        "success",
        "rejected",
        "token_rejected",
        "http_error",
        "malformed",
        "timeout",
        "connection_error",
    }
)
"""The outcome label values the upstream client reports."""
TOKEN_REASONS: Final = frozenset({"cold", "expiring", "rejected"})
TOKEN_RESULTS: Final = frozenset({"success", "failure"})


def _precreate_closed_series() -> None:
    # Create the closed label sets of the upstream series up front so that rates and
    # ratios in alerts and dashboards read 0 (not "no data") before the first error.
    for endpoint in UPSTREAM_ENDPOINTS:
        UPSTREAM_LATENCY.labels(endpoint)
        for outcome in UPSTREAM_OUTCOMES:
            UPSTREAM_REQUESTS.labels(endpoint, outcome)
    for reason in TOKEN_REASONS:
        for result in TOKEN_RESULTS:
            TOKEN_FETCHES.labels(reason, result)
    # increase() cannot see the first event of a series born with it, so the dead
    # letter alert needs these to exist at 0.
    for stream in ("reports", "uplinks"):
        DEAD_LETTERS.labels(stream)
    for reason in ("no_key", "unknown_key", "permission"):
        AUTH_REFUSALS.labels(reason)
    for result in ("success", "failure"):
        CALLERS_RELOADS.labels(result)


_precreate_closed_series()


def status_label(code: object) -> str:
    """The `code` label of `smsgateway_grpc_requests_total` for a gRPC status.

    `code` is a `grpc.StatusCode`, its int value, or None (OK). Not for provider codes:
    see `report_status_label`.

    Anything unrecognised maps to "UNKNOWN", so a bad value can never add a series.
    """
    if code is None:
        return "OK"
    # grpc.StatusCode members carry (int, "name") as their value; avoid importing grpc here.
    value = getattr(code, "value", code)
    if isinstance(value, tuple) and value:
        value = value[0]
    if isinstance(value, int):
        return _GRPC_CODE_NAMES.get(value, "UNKNOWN")
    return "UNKNOWN"


# Delivery-report codes of the provider (upstream NOTES: 10000 received by the handset;
# 1 submit failed, 4 failed, 5 blocked word, 6 review rejected, 7 black/white list,
# 8 over frequency, 9 unknown), as `status` label values. Mirrors the API's
# DeliveryStatus mapping; kept here because observability must not import the API.
_REPORT_STATUS_BY_CODE: Final[dict[str, str]] = {
    "10000": "delivered",
    "1": "submit_failed",
    "4": "failed",
    "5": "blocked_word",
    "6": "review_rejected",
    "7": "blocklisted",
    "8": "rate_limited",
    "9": "unknown",
}


def report_status_label(provider_code: object) -> str:
    """The `status` label of `smsgateway_delivery_reports_total` for a provider report code.

    Accepts the code as text or number (the provider sends both); any code outside the
    documented set is "unknown", so provider surprises cannot add series.
    """
    return _REPORT_STATUS_BY_CODE.get(str(provider_code).strip(), "unknown")
