"""What each RPC requires, and who is calling (set per RPC by the security interceptor).

Method permissions are checked by the interceptor before a handler runs; signs are
checked by the handlers, which know the request (`require_sign`, `read_scope`).
Methods of `smsgateway.v1.SmsGateway` missing from the table need `admin`: a new
RPC is closed until someone decides who may call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

from smsgateway.security.callers import ANONYMOUS, Caller, Permission

SERVICE: Final = "smsgateway.v1.SmsGateway"

METHOD_PERMISSIONS: Final[dict[str, Permission]] = {
    "SendSms": Permission.SEND,
    "SendTemplateSms": Permission.SEND,
    "GetBalance": Permission.SEND,
    "StreamDeliveryReports": Permission.READ_EVENTS,
    "StreamUplinks": Permission.READ_EVENTS,
    "AcknowledgeEvents": Permission.READ_EVENTS,
    "DeleteConsumerGroup": Permission.READ_EVENTS,
    "GetSend": Permission.READ_EVENTS,
    "GetSendStatus": Permission.READ_EVENTS,
    "ListDeliveryReports": Permission.READ_EVENTS,
    "ListUplinks": Permission.READ_EVENTS,
    "ListSuppressions": Permission.MANAGE_SUPPRESSIONS,
    "AddSuppression": Permission.MANAGE_SUPPRESSIONS,
    "RemoveSuppression": Permission.MANAGE_SUPPRESSIONS,
}

PUBLIC_SERVICE_PREFIXES: Final = ("/grpc.health.v1.Health/", "/grpc.reflection.")
"""Health (probes) and reflection (`grpcurl list`) need no key."""

GROUP_SEPARATOR: Final = ":"
"""Between a caller's name and its group name; in neither alphabet, so never ambiguous."""

_CURRENT: ContextVar[Caller | None] = ContextVar("smsgateway_caller", default=None)


def required_permission(full_method: str) -> Permission | None:
    """The permission `/package.Service/Method` needs; None for public methods."""
    if full_method.startswith(PUBLIC_SERVICE_PREFIXES):
        return None
    service, _, method = full_method.lstrip("/").rpartition("/")
    if service != SERVICE:
        return Permission.ADMIN
    return METHOD_PERMISSIONS.get(method, Permission.ADMIN)


def set_current_caller(caller: Caller) -> None:
    """Bind the caller to the running RPC (its task's context)."""
    _CURRENT.set(caller)


def current_caller() -> Caller:
    """The caller of the running RPC; `ANONYMOUS` (admin) where no interceptor set one:
    a gateway without a callers file, or a test that builds handlers directly."""
    caller = _CURRENT.get()
    return ANONYMOUS if caller is None else caller


class SignNotAllowedError(Exception):
    """The caller may not use or read this sign."""

    def __init__(self, caller: Caller, sign: str) -> None:
        super().__init__(f"caller {caller.name!r} may not use the sign {sign!r}")
        self.caller = caller
        self.sign = sign


class SignRequiredError(Exception):
    """A read by a caller of several signs that named none of them."""

    def __init__(self, caller: Caller, field: str) -> None:
        signs = ", ".join(sorted(caller.signs)[:10])
        super().__init__(
            f"is required: caller {caller.name!r} reads the events of several signs; "
            f"name one of them ({signs})"
        )
        self.caller = caller
        self.field = field


def require_sign(caller: Caller, sign: str) -> None:
    """Raise `SignNotAllowedError` unless the caller may use `sign`."""
    if not caller.may_use_sign(sign):
        raise SignNotAllowedError(caller, sign)


@dataclass(frozen=True, slots=True)
class ReadScope:
    """The sign a read is restricted to ("" = no restriction: admin or any-sign callers)."""

    sign: str


def read_scope(caller: Caller, requested_sign: str, field: str) -> ReadScope:
    """The sign a caller's read is limited to, given the sign its filter names.

    Callers of every sign keep their filter. Others may name one of their signs;
    naming none means their only sign, and is refused (`SignRequiredError`) when
    they have several, since a filter holds one sign.
    """
    if caller.any_sign:
        return ReadScope(requested_sign)
    if requested_sign:
        require_sign(caller, requested_sign)
        return ReadScope(requested_sign)
    if len(caller.signs) == 1:
        return ReadScope(next(iter(caller.signs)))
    raise SignRequiredError(caller, field)


def visible(caller: Caller, signs: Iterable[str]) -> bool:
    """True when the caller may read an event of any of `signs`."""
    return caller.any_sign or any(s in caller.signs for s in signs)


def group_name(caller: Caller, name: str) -> str:
    """The stored name of a consumer group: prefixed by the caller's name unless admin,
    so that callers never join, ack or delete each other's groups."""
    if caller.is_admin:
        return name
    return f"{caller.name}{GROUP_SEPARATOR}{name}"
