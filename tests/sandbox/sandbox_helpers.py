"""Helpers for the sandbox tests (imported by name; conftest puts this directory on sys.path)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from smsgateway.sandbox import SandboxConfig, SandboxProvider

SIGN = "圆通快递"
CONTENT = f"【{SIGN}】你的快件56682551825已签收，谢谢使用"


def fast_config(**overrides: Any) -> SandboxConfig:
    """Tiny delays so report/push tests finish in milliseconds."""
    values: dict[str, Any] = {
        "report_delay_seconds": 0.01,
        "push_interval_seconds": 0.01,
        "push_retry_seconds": 0.02,
        "seed": 7,
    }
    values.update(overrides)
    return SandboxConfig(**values)


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Wire:
    """Speaks the provider's protocol to a sandbox over HTTP, like a client would."""

    def __init__(self, session: aiohttp.ClientSession, provider: SandboxProvider) -> None:
        self.session = session
        self.provider = provider
        self.url = provider.url

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> tuple[int, Any, str]:
        """Returns (HTTP status, parsed JSON or None, raw text)."""
        async with self.session.request(
            method, self.url + path, params=params, data=data, json=json_body
        ) as resp:
            text = await resp.text()
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            return resp.status, parsed, text

    async def token(self) -> str:
        cfg = self.provider.config
        status, body, _ = await self.call(
            "GET", "/api/token", params={"appId": cfg.app_id, "secret": cfg.secret}
        )
        assert status == 200 and str(body["code"]) == "10000", body
        token: str = body["token"]
        return token

    async def send(self, *, token: str | None = None, **fields: str) -> tuple[int, Any]:
        form = {"token": token or await self.token(), "sign": SIGN, "content": CONTENT, "kind": "2"}
        form.update(fields)
        form = {k: v for k, v in form.items() if v is not None}
        status, body, _ = await self.call("POST", "/sms/send", data=form)
        return status, body

    async def send_template(self, **fields: str) -> tuple[int, Any]:
        form = {
            "token": await self.token(),
            "phoneNumbers": "13900000001",
            "paramJson": '[{"name":"张三"}]',
            "templateId": "1192360392260608",
            "sign": SIGN,
            "content": CONTENT,
        }
        form.update(fields)
        status, body, _ = await self.call("POST", "/sms/sendTemplate", data=form)
        return status, body

    async def pull(self, path: str, **params: str) -> Any:
        status, body, text = await self.call(
            "GET", path, params={"token": await self.token(), **params}
        )
        assert status == 200, text
        return body


StartSandbox = Callable[..., Awaitable[Wire]]
