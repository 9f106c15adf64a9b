"""The grpc.aio server interceptor that says who is calling and what they may call.

Per RPC: read `authorization: Bearer <key>`, find the caller (SHA-256 + constant-time
comparison), check the method's permission, bind the caller to the RPC's context
(`permissions.current_caller()`), then run the handler. No key or an unknown key →
`UNAUTHENTICATED`; a missing permission → `PERMISSION_DENIED`, both with `ErrorInfo`
(reason, caller, what is missing). Health and reflection need no key. Without a
callers file every call is the `anonymous` admin (loopback, or explicitly allowed).

Also, for every method: a request that does not decode (invalid UTF-8 in a string,
garbage bytes) is answered `INVALID_ARGUMENT` with a `BadRequest` naming the field,
instead of grpc's `UNKNOWN` plus an ERROR traceback per call.

After every reload of the callers file, the open streams of callers whose key (or
the permission) is gone end with `UNAUTHENTICATED` (reason `KEY_REVOKED`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import grpc
from grpc import aio

from smsgateway.api.errors import ApiError, FieldViolation, invalid_argument
from smsgateway.observability import metrics
from smsgateway.security.callers import ANONYMOUS, Caller, Permission
from smsgateway.security.keys import bearer_key
from smsgateway.security.permissions import required_permission, set_current_caller
from smsgateway.security.registry import CallerRegistry
from smsgateway.security.wire import Undecodable, tolerant_deserializer
from smsgateway.v1 import error_reason_pb2

R = error_reason_pb2.ErrorReason

log = logging.getLogger("smsgateway.audit")

_Behaviour = Callable[..., Any]
_LOG_INTERVAL: Final = 1.0
"""At most one log line per second per kind of refusal: attackers cannot flood the log."""


def unauthenticated(message: str, reason: int) -> ApiError:
    """No usable key."""
    return ApiError(grpc.StatusCode.UNAUTHENTICATED, message, reason=reason)


def permission_denied(caller: Caller, missing: str, reason: int, message: str) -> ApiError:
    """The caller lacks `missing` (`permission:send`, `sign:圆通快递`)."""
    return ApiError(
        grpc.StatusCode.PERMISSION_DENIED,
        message,
        reason=reason,
        metadata={"caller": caller.name, "missing": missing},
    )


class SecurityInterceptor(aio.ServerInterceptor):  # type: ignore[misc]
    """Authenticates and authorises every RPC; install after the observability interceptor."""

    def __init__(self, registry: CallerRegistry | None) -> None:
        """`registry` None: no callers file; every call is `ANONYMOUS` (admin)."""
        self._registry = registry
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}
        self._last_log: dict[str, float] = {}
        self._streams: set[_OpenStream] = set()
        if registry is not None:
            registry.add_listener(self._revoke_removed)

    def _revoke_removed(self) -> None:
        """After a reload: end the open streams of callers whose key or permission is gone."""
        for stream in list(self._streams):
            if not stream.revoked and self._still_valid(stream.caller, stream.permission) is None:
                stream.revoked = True
                stream.task.cancel()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    # -- authentication ----------------------------------------------------------
    def authenticate(self, context: aio.ServicerContext[Any, Any], method: str) -> Caller:
        """The caller of this RPC, or raise `ApiError` (UNAUTHENTICATED, PERMISSION_DENIED)."""
        permission = required_permission(method)
        if self._registry is None:
            return ANONYMOUS
        if permission is None:
            return ANONYMOUS  # public method: never used for anything but health/reflection
        key = None
        for name, value in context.invocation_metadata() or ():
            if name == "authorization":
                key = bearer_key(value)
                break
        if key is None:
            self._refused("no_key", method)
            raise unauthenticated(
                "this call needs a key: send `authorization: Bearer <key>`", R.MISSING_KEY
            )
        caller = self._registry.directory.authenticate(key)
        if caller is None:
            self._refused("unknown_key", method)
            raise unauthenticated("the key is not valid (unknown or revoked)", R.INVALID_KEY)
        if not caller.allows(permission):
            self._refused("permission", method, caller)
            raise permission_denied(
                caller,
                f"permission:{permission.value}",
                R.PERMISSION_MISSING,
                f"caller {caller.name!r} lacks the {permission.value!r} permission for "
                f"{method.rsplit('/', 1)[-1]}",
            )
        return caller

    def _still_valid(self, caller: Caller, permission: Permission | None) -> Caller | None:
        if self._registry is None or caller is ANONYMOUS:
            return caller
        current = self._registry.directory.by_digest(caller.key_digest)
        if current is None or (permission is not None and not current.allows(permission)):
            return None
        return current

    def _refused(self, kind: str, method: str, caller: Caller | None = None) -> None:
        metrics.AUTH_REFUSALS.labels(kind).inc()
        now = time.monotonic()
        if now - self._last_log.get(kind, -_LOG_INTERVAL) < _LOG_INTERVAL:
            return
        self._last_log[kind] = now
        log.warning(
            "call refused",
            extra={
                "event": "auth_refused",
                "refusal": kind,
                "method": method.rsplit("/", 1)[-1][:64],
                "caller": caller.name if caller is not None else "",
            },
        )

    # -- wrapping -----------------------------------------------------------------
    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        behaviour = (
            handler.unary_unary
            or handler.unary_stream
            or handler.stream_unary
            or handler.stream_stream
        )
        if not (inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour)):
            return handler
        deserializer = handler.request_deserializer
        descriptor = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
        tolerant = tolerant_deserializer(deserializer, descriptor)
        options = {
            "request_deserializer": tolerant,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, method), **options
            )
        if handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(handler.unary_stream, method), **options
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._unary(handler.unary_stream, method), **options
            )
        # Client-streaming methods (reflection): requests arrive as an iterator; only
        # the public reflection service has them, so they keep their own decoding.
        return handler

    def _unary(self, behaviour: _Behaviour, method: str) -> _Behaviour:
        authenticate = self.authenticate

        async def secured(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            try:
                if isinstance(request, Undecodable):
                    raise _undecodable(request)
                caller = authenticate(context, method)
            except ApiError as exc:
                await context.abort_with_status(exc.to_status())
                raise AssertionError("unreachable") from None
            set_current_caller(caller)
            _count(caller, method)
            return await behaviour(request, context)

        return secured

    def _streaming(self, behaviour: _Behaviour, method: str) -> _Behaviour:
        authenticate = self.authenticate
        streams = self._streams
        permission = required_permission(method)

        async def secured_stream(
            request: Any, context: aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            try:
                if isinstance(request, Undecodable):
                    raise _undecodable(request)
                caller: Caller | None = authenticate(context, method)
            except ApiError as exc:
                await context.abort_with_status(exc.to_status())
                return
            assert caller is not None
            set_current_caller(caller)
            _count(caller, method)
            task = asyncio.current_task()
            assert task is not None
            open_stream = _OpenStream(caller, permission, task)
            streams.add(open_stream)
            try:
                async for item in behaviour(request, context):
                    yield item
            except asyncio.CancelledError:
                if not open_stream.revoked:
                    raise
                task.uncancel()
                revoked = unauthenticated("the key was revoked while streaming", R.KEY_REVOKED)
                await context.abort_with_status(revoked.to_status())
            finally:
                streams.discard(open_stream)

        return secured_stream


def _undecodable(request: Undecodable) -> ApiError:
    if request.field:
        return invalid_argument(
            [FieldViolation(request.field, "is not valid UTF-8 (strings must be UTF-8)")]
        )
    return invalid_argument(
        [FieldViolation("request", f"is not a valid serialized {request.type_name}")],
        f"invalid request: not a valid {request.type_name}",
    )


@dataclass(eq=False)
class _OpenStream:
    """A streaming RPC in progress: ended by `_revoke_removed` when its key goes."""

    caller: Caller
    permission: Permission | None
    task: asyncio.Task[Any]
    revoked: bool = False


_COUNTERS: dict[tuple[str, str], Any] = {}


def _count(caller: Caller, method: str) -> None:
    # Bounded: callers come from the callers file, methods from the registered handlers.
    child = _COUNTERS.get((caller.name, method))
    if child is None:
        child = metrics.CALLER_REQUESTS.labels(caller.name, method.rsplit("/", 1)[-1])
        _COUNTERS[(caller.name, method)] = child
    child.inc()
