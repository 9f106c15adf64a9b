"""The admin API under /admin (unauthenticated, sandbox only): GET /admin/state,
POST /admin/faults, POST /admin/reset-secret, POST /admin/uplinks, POST /admin/config.

Each endpoint calls the provider's Python control API; a bad request answers HTTP 400
with {"error": ...}.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from smsgateway.sandbox.config import Faults
from smsgateway.sandbox.replies import TIME_FORMAT, json_response


class SandboxControl(Protocol):
    """What the admin API drives (`SandboxProvider`)."""

    @property
    def faults(self) -> Faults: ...

    def set_faults(self, **kwargs: Any) -> None: ...

    def reset_secret(self, new_secret: str | None = None) -> str: ...

    def configure(self, **changes: Any) -> None: ...

    def inject_uplink(
        self, phone_number: str, content: str, sign: str, send_time: datetime | None = None
    ) -> dict[str, object]: ...

    def state(self) -> dict[str, Any]: ...


class AdminEndpoints:
    """The aiohttp handlers of /admin."""

    def __init__(self, control: SandboxControl) -> None:
        self._control = control

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/admin/state", self._get_state)
        router.add_post("/admin/faults", self._post_faults)
        router.add_post("/admin/reset-secret", self._post_reset_secret)
        router.add_post("/admin/uplinks", self._post_uplinks)
        router.add_post("/admin/config", self._post_config)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise web.HTTPBadRequest(
                text='{"error":"body must be JSON"}', content_type="application/json"
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text='{"error":"body must be a JSON object"}', content_type="application/json"
            )
        return body

    @staticmethod
    def _error(message: str) -> web.Response:
        return json_response({"error": message}, status=400)

    async def _get_state(self, request: web.Request) -> web.Response:
        return json_response(self._control.state())

    async def _post_faults(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            self._control.set_faults(**body)
        except (TypeError, ValueError) as exc:
            return self._error(str(exc))
        return json_response({"faults": self._control.faults.to_json()})

    async def _post_reset_secret(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        secret = body.get("secret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            return self._error("secret must be a non-empty string")
        return json_response({"secret": self._control.reset_secret(secret)})

    async def _post_uplinks(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        phone = body.get("phoneNumber", body.get("phone_number"))
        content = body.get("content")
        sign = body.get("sign")
        send_time_text = body.get("sendTime", body.get("send_time"))
        if not all(isinstance(v, str) for v in (phone, content, sign)):
            return self._error("phoneNumber, content and sign are required strings")
        assert isinstance(phone, str) and isinstance(content, str) and isinstance(sign, str)
        send_time: datetime | None = None
        if send_time_text is not None:
            try:
                send_time = datetime.strptime(str(send_time_text), TIME_FORMAT)
            except ValueError:
                return self._error("sendTime must be yyyy-MM-dd HH:mm:ss (UTC+8)")
        try:
            stored = self._control.inject_uplink(phone, content, sign, send_time)
        except ValueError as exc:
            return self._error(str(exc))
        return json_response(stored)

    async def _post_config(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            self._control.configure(**body)
        except (TypeError, ValueError) as exc:
            return self._error(str(exc))
        return json_response({"config": self._control.state()["config"]})
