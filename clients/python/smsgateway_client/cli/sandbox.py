"""`smsctl sandbox ...`: the sandbox provider's admin HTTP API (needs aiohttp, the
`sandbox` extra)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import EXIT_OK, SandboxError, UsageError
from .output import Output, print_json


async def _sandbox(
    args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None
) -> Any:
    try:
        import aiohttp
    except ImportError:
        raise SandboxError(
            "the sandbox commands need aiohttp: pip install 'smsgateway-client[sandbox]'"
        ) from None
    url = args.sandbox_url.rstrip("/") + path
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, url, json=body) as response,
        ):
            text = await response.text()
            if response.status >= 400:
                raise SandboxError(f"{method} {url}: HTTP {response.status}: {text[:500]}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SandboxError(f"{method} {url}: {exc or type(exc).__name__}") from None
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        raise SandboxError(f"{method} {url}: answer is not JSON: {text[:200]}") from None


async def cmd_sandbox_inject_uplink(args: argparse.Namespace, out: Output) -> int:
    body = {"phoneNumber": args.phone, "content": args.content, "sign": args.sign}
    if args.send_time:
        body["sendTime"] = args.send_time
    stored = await _sandbox(args, "POST", "/admin/uplinks", body)
    print_json(out, stored)
    return EXIT_OK


async def cmd_sandbox_reset_secret(args: argparse.Namespace, out: Output) -> int:
    body = {"secret": args.secret} if args.secret else {}
    answer = await _sandbox(args, "POST", "/admin/reset-secret", body)
    # The new secret is printed only on request: terminals get recorded and shared.
    if args.show_secret:
        print_json(out, answer)
    elif out.as_json:
        print_json(out, {"reset": True})
    else:
        out.line("secret reset; the current token is revoked (--show-secret prints the secret)")
    return EXIT_OK


_FAULT_OPTIONS = (
    ("latency", "latency_seconds"),
    ("error_rate", "error_rate"),
    ("error_code", "error_code"),
    ("http_5xx_rate", "http_5xx_rate"),
    ("http_5xx_status", "http_5xx_status"),
    ("malformed_rate", "malformed_rate"),
    ("drop_rate", "drop_rate"),
)


async def cmd_sandbox_faults(args: argparse.Namespace, out: Output) -> int:
    body: dict[str, Any] = {
        key: getattr(args, option)
        for option, key in _FAULT_OPTIONS
        if getattr(args, option) is not None
    }
    if args.drop_after_processing:
        body["drop_after_processing"] = True
    if args.path:
        body["paths"] = args.path
    if args.clear and body:
        raise UsageError("--clear takes no other fault option")
    if not args.clear and not body:
        raise UsageError("give fault options (they replace the current faults) or --clear")
    print_json(out, await _sandbox(args, "POST", "/admin/faults", body))
    return EXIT_OK


async def cmd_sandbox_state(args: argparse.Namespace, out: Output) -> int:
    print_json(out, await _sandbox(args, "GET", "/admin/state"))
    return EXIT_OK


async def cmd_sandbox_config(args: argparse.Namespace, out: Output) -> int:
    print_json(out, await _sandbox(args, "POST", "/admin/config", dict(args.settings)))
    return EXIT_OK
