"""Settings and records of the sandbox provider (no I/O here)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Literal

PATH_TOKEN = "/api/token"
PATH_SEND = "/sms/send"
PATH_SEND_TEMPLATE = "/sms/sendTemplate"
PATH_DELIVER = "/sms/deliver"
PATH_SMS_UP = "/sms/smsUp"
PATH_BALANCE = "/sms/balance"
#: The provider's endpoints (faults apply to these, never to /admin).
PROVIDER_PATHS: frozenset[str] = frozenset(
    {PATH_TOKEN, PATH_SEND, PATH_SEND_TEMPLATE, PATH_DELIVER, PATH_SMS_UP, PATH_BALANCE}
)

#: Delivery-report codes the provider documents, with the message it sends for each.
REPORT_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "10000": "请求成功",
        "1": "提交失败",
        "4": "失败",
        "5": "屏蔽词",
        "6": "审核驳回",
        "7": "黑/白名单",
        "8": "超频",
        "9": "未知",
    }
)


def _default_outcomes() -> Mapping[str, float]:
    return MappingProxyType({"10000": 1.0})


@dataclass(frozen=True)
class SandboxConfig:
    """How the simulated provider behaves. Change at run time with `SandboxProvider.configure`."""

    app_id: str = "sandbox-app"
    """The appId that /api/token accepts."""
    secret: str = field(default="sandbox-secret", repr=False)
    """The secret that /api/token accepts (`reset_secret` replaces it)."""
    token_ttl_seconds: float = 7200
    """Token lifetime; /api/token returns the same token until it expires."""
    field_style: Literal["camel", "snake"] = "camel"
    """Spelling of report/uplink fields: `phoneNumber` (camel) or `phone_number` (snake)."""
    code_as_number: bool = False
    """Emit `code` as a JSON number (10000), not a string ("10000"), in replies and reports."""
    require_kind: bool | None = True
    """True: the account has several kinds, so `kind` (1|2|3) is required on /sms/send.
    False: the account has a single kind, so `kind` must be absent.
    None: lenient (demo): `kind` may be given or left out."""
    balance: Decimal = Decimal("1000.00")
    """Starting balance (configure(balance=...) at run time sets the current balance)."""
    price_per_segment: Decimal = Decimal("0.05")
    """Price of one billed segment, per recipient."""
    approved_templates: frozenset[str] = frozenset({"1192360392260608"})
    """templateIds that /sms/sendTemplate accepts."""
    report_delay_seconds: float = 1.0
    """Delay (on the injected clock) between an accepted send and its delivery reports."""
    report_outcomes: Mapping[str, float] = field(default_factory=_default_outcomes)
    """Relative weights of report codes, drawn per recipient ("10000" success; 1,4,5,6,7,8,9)."""
    report_push_url: str | None = None
    """Where delivery reports are pushed as JSON arrays; None: pull only."""
    uplink_push_url: str | None = None
    """Where uplinks are pushed as JSON arrays; None: pull only."""
    push_batch_size: int = 100
    """Most items in one push."""
    push_interval_seconds: float = 0.2
    """How often the pushers look for new items."""
    push_retry_seconds: float = 1.0
    """Wait after a push the receiver did not acknowledge with code 10000."""
    push_timeout_seconds: float = 5.0
    """Total time allowed for one push request."""
    pull_repeat: bool = False
    """Serve already pulled (or pushed) items again on every pull, to test de-duplication."""
    pull_max_items: int = 1000
    """Most items returned by one pull of /sms/deliver or /sms/smsUp."""
    max_kept: int = 100_000
    """Most accepted batches, and most reports and uplinks per stream, held in memory: past
    it the oldest are forgotten (counted as `forgotten*` in /admin/state), so a sandbox
    left running under load stays within a bounded size."""
    token_rejection_http_status: int = 401
    """HTTP status of a `40001 token无效` reply (200 makes the code the only signal)."""
    seed: int | None = None
    """Seed of the random draws (bizIds, outcomes, faults); None: unpredictable."""

    def __post_init__(self) -> None:
        # Values arrive from JSON (admin API) as well as from Python: normalise types once.
        object.__setattr__(self, "balance", _decimal("balance", self.balance))
        object.__setattr__(
            self, "price_per_segment", _decimal("price_per_segment", self.price_per_segment)
        )
        if isinstance(self.approved_templates, str):
            raise ValueError("approved_templates must be a collection of ids, not one string")
        templates = frozenset(str(t) for t in self.approved_templates)
        object.__setattr__(self, "approved_templates", templates)
        outcomes = {str(code): float(weight) for code, weight in dict(self.report_outcomes).items()}
        object.__setattr__(self, "report_outcomes", MappingProxyType(outcomes))
        self._validate()

    def _validate(self) -> None:
        _check_types(self, _CONFIG_TYPES)
        if not self.app_id or not self.secret:
            raise ValueError("app_id and secret must not be empty")
        if not self.token_ttl_seconds > 0:
            raise ValueError("token_ttl_seconds must be > 0")
        if self.field_style not in ("camel", "snake"):
            raise ValueError("field_style must be 'camel' or 'snake'")
        if self.balance < 0 or self.price_per_segment < 0:
            raise ValueError("balance and price_per_segment must be >= 0")
        if self.report_delay_seconds < 0:
            raise ValueError("report_delay_seconds must be >= 0")
        if not self.report_outcomes:
            raise ValueError("report_outcomes must not be empty")
        for code, weight in self.report_outcomes.items():
            if not code.isdigit():
                raise ValueError(f"report_outcomes: code {code!r} is not numeric")
            if not (weight >= 0 and math.isfinite(weight)):
                raise ValueError(f"report_outcomes: weight of {code!r} must be finite and >= 0")
        if sum(self.report_outcomes.values()) <= 0:
            raise ValueError("report_outcomes: weights must not all be 0")
        if self.push_batch_size < 1 or self.pull_max_items < 1 or self.max_kept < 1:
            raise ValueError("push_batch_size, pull_max_items and max_kept must be >= 1")
        if not min(self.push_interval_seconds, self.push_retry_seconds) > 0:
            # 0 would make the pushers spin on the event loop.
            raise ValueError("push_interval_seconds and push_retry_seconds must be > 0")
        if not self.push_timeout_seconds > 0:
            raise ValueError("push_timeout_seconds must be > 0")
        if not 200 <= self.token_rejection_http_status <= 599:
            raise ValueError("token_rejection_http_status must be an HTTP status (200..599)")
        for name in ("report_push_url", "uplink_push_url"):
            url = getattr(self, name)
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"{name} must be an http:// or https:// URL")


#: Keys accepted by `SandboxProvider.configure` and POST /admin/config.
CONFIG_KEYS: frozenset[str] = frozenset(f.name for f in fields(SandboxConfig))


@dataclass
class Faults:
    """Injected faults on the provider endpoints (mutable; the admin API replaces it).

    Rates are probabilities in 0..1 drawn per request from the seeded RNG; 1.0 is certain.
    Checked in this order: latency, drop, HTTP 5xx, error code, malformed body.
    """

    latency_seconds: float = 0.0
    """Added before every answer (also before a drop)."""
    error_rate: float = 0.0
    """Answer HTTP 200 with `error_code` instead of doing the work."""
    error_code: str = "10500"
    """The code of an injected error."""
    http_5xx_rate: float = 0.0
    """Answer `http_5xx_status` with a plain-text body instead of doing the work."""
    http_5xx_status: int = 503
    """The status of an injected 5xx."""
    malformed_rate: float = 0.0
    """Do the work, then answer HTTP 200 with a truncated (non-JSON) body."""
    drop_rate: float = 0.0
    """Read the request, then close the connection without an answer."""
    drop_after_processing: bool = False
    """Drop only after doing the work (a send is then accepted and billed: outcome unknown)."""
    paths: frozenset[str] | None = None
    """Provider paths the faults apply to (e.g. {"/sms/send"}); None: all provider paths."""

    def __post_init__(self) -> None:
        if isinstance(self.error_code, int) and not isinstance(self.error_code, bool):
            self.error_code = str(self.error_code)  # JSON callers may send 10500
        _check_types(self, _FAULT_TYPES)
        if self.paths is not None:
            self.paths = frozenset(self.paths)
            unknown = self.paths - PROVIDER_PATHS
            if unknown:
                raise ValueError(f"paths: {sorted(unknown)} are not provider endpoints")
        if not self.error_code:
            raise ValueError("error_code must not be empty")
        for name in ("error_rate", "http_5xx_rate", "malformed_rate", "drop_rate"):
            rate = float(getattr(self, name))
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be within 0..1")
            setattr(self, name, rate)
        if self.latency_seconds < 0:
            raise ValueError("latency_seconds must be >= 0")
        if not 500 <= self.http_5xx_status <= 599:
            raise ValueError("http_5xx_status must be within 500..599")

    def applies_to(self, path: str) -> bool:
        return self.paths is None or path in self.paths

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["paths"] = None if self.paths is None else sorted(self.paths)
        return out


#: Keys accepted by `SandboxProvider.set_faults` and POST /admin/faults.
FAULT_KEYS: frozenset[str] = frozenset(f.name for f in fields(Faults))


@dataclass(frozen=True)
class SandboxBatch:
    """One send the sandbox accepted (what the provider would have delivered)."""

    biz_id: str
    """The 20-digit id returned to the caller."""
    phone_numbers: tuple[str, ...]
    """Recipients in the order given, separators normalised."""
    sign: str
    content: str
    kind: str | None
    """"1" | "2" | "3", or None when the account has a single kind."""
    template_id: str | None
    """Set for /sms/sendTemplate, None for /sms/send."""
    param_json: str | None
    segments: int
    """Billed segments per recipient."""
    received_at: float
    """Injected-clock time of acceptance."""


def _decimal(name: str, value: object) -> Decimal:
    if isinstance(value, float):
        value = repr(value)  # 0.1 -> "0.1", not the binary expansion
    try:
        result = Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{name} must be a decimal amount") from None
    if not result.is_finite():
        raise ValueError(f"{name} must be finite")
    return result


_NUMBER = (int, float)
_CONFIG_TYPES: Mapping[str, tuple[type, ...]] = MappingProxyType(
    {
        "app_id": (str,),
        "secret": (str,),
        "token_ttl_seconds": _NUMBER,
        "field_style": (str,),
        "code_as_number": (bool,),
        "require_kind": (bool, type(None)),
        "report_delay_seconds": _NUMBER,
        "report_push_url": (str, type(None)),
        "uplink_push_url": (str, type(None)),
        "push_batch_size": (int,),
        "max_kept": (int,),
        "push_interval_seconds": _NUMBER,
        "push_retry_seconds": _NUMBER,
        "push_timeout_seconds": _NUMBER,
        "pull_repeat": (bool,),
        "pull_max_items": (int,),
        "token_rejection_http_status": (int,),
        "seed": (int, type(None)),
    }
)
_FAULT_TYPES: Mapping[str, tuple[type, ...]] = MappingProxyType(
    {
        "latency_seconds": _NUMBER,
        "error_rate": _NUMBER,
        "error_code": (str,),
        "http_5xx_rate": _NUMBER,
        "http_5xx_status": (int,),
        "malformed_rate": _NUMBER,
        "drop_rate": _NUMBER,
        "drop_after_processing": (bool,),
    }
)


def _check_types(obj: object, types: Mapping[str, tuple[type, ...]]) -> None:
    """Settings also arrive as JSON (admin API): refuse "yes" for a bool, true for a number."""
    for name, allowed in types.items():
        value = getattr(obj, name)
        is_bool = isinstance(value, bool)
        if not isinstance(value, allowed) or (is_bool and bool not in allowed):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
            raise ValueError(f"{name} must be {names}, not {type(value).__name__}")
