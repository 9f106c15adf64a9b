"""Fault injection: an aiohttp middleware applying the injected `Faults` to provider paths.

It also counts every request by path (`SandboxProvider.requests`), /admin included.
"""

from __future__ import annotations

import asyncio
import random

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from smsgateway.sandbox.config import PROVIDER_PATHS, Faults
from smsgateway.sandbox.replies import reply
from smsgateway.sandbox.state import SandboxState

_NO_FAULTS = Faults()


def fault_middleware(state: SandboxState) -> Middleware:
    """The middleware over `state`: the faults in force when a request arrives apply to it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        state.requests[path] += 1
        faults = state.faults
        if path not in PROVIDER_PATHS or not faults.applies_to(path):
            return await handler(request)
        if faults == _NO_FAULTS:
            return await handler(request)
        await request.read()  # every fault happens after the whole request arrived
        if faults.latency_seconds > 0:
            await asyncio.sleep(faults.latency_seconds)
        drop = _draw(state.fault_rng, faults.drop_rate)
        if drop and not faults.drop_after_processing:
            return _drop(request)
        if _draw(state.fault_rng, faults.http_5xx_rate):
            # An HTML error page, as a proxy in front of the provider would send.
            return web.Response(
                status=faults.http_5xx_status,
                text=f"<html><body><h1>{faults.http_5xx_status} injected fault</h1></body></html>",
                content_type="text/html",
            )
        if _draw(state.fault_rng, faults.error_rate):
            return reply(state.config, faults.error_code, "系统繁忙，请稍后再试")
        response = await handler(request)
        if drop:
            return _drop(request)
        if _draw(state.fault_rng, faults.malformed_rate) and isinstance(response, web.Response):
            body = response.body if isinstance(response.body, bytes) else b"{}"
            return web.Response(
                body=body[: len(body) // 2],
                status=200,
                content_type="application/json",
                charset="utf-8",
            )
        return response

    return middleware


def _draw(rng: random.Random, rate: float) -> bool:
    if rate <= 0.0:
        return False
    return rate >= 1.0 or rng.random() < rate


def _drop(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=499)  # never reaches the client
