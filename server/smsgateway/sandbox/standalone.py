"""Run the sandbox as its own process: `python -m smsgateway.sandbox --port 8090`.

`add_arguments` / `config_from_args` let the main CLI (`smsgateway sandbox`) offer the
same options. The secret comes from SMSGW_SANDBOX_SECRET (never from argv, which `ps`
shows to everyone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from decimal import Decimal

from smsgateway.sandbox.config import SandboxConfig
from smsgateway.sandbox.provider import SandboxProvider

SECRET_ENV = "SMSGW_SANDBOX_SECRET"


async def serve_standalone(host: str, port: int, config: SandboxConfig) -> None:
    """Serve until cancelled; prints the URL and how to drive the admin API."""
    provider = SandboxProvider(config)
    url = await provider.start(host, port)
    try:
        print(
            f"sandbox provider listening on {url}\n"
            f"  appId={config.app_id} (secret as configured; default 'sandbox-secret')\n"
            f"  GET  {url}/admin/state\n"
            f'  POST {url}/admin/faults        {{"error_rate": 1.0, "paths": ["/sms/send"]}}'
            " ({} clears)\n"
            f'  POST {url}/admin/reset-secret  {{"secret": "..."}} (optional)\n'
            f"  POST {url}/admin/uplinks       "
            '{"phoneNumber": "13800000000", "content": "TD", "sign": "..."}\n'
            f"  POST {url}/admin/config        "
            '{"report_push_url": "http://127.0.0.1:8080/push/reports"}',
            flush=True,
        )
        await asyncio.Event().wait()
    finally:
        await provider.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's command-line options (shared with `smsgateway sandbox`)."""
    d = SandboxConfig()
    parser.add_argument("--host", default="127.0.0.1", help="listen address")
    parser.add_argument("--port", type=int, default=8090, help="listen port (0: any)")
    parser.add_argument("--app-id", default=d.app_id)
    parser.add_argument("--token-ttl", type=float, default=d.token_ttl_seconds, metavar="SECONDS")
    parser.add_argument("--field-style", choices=("camel", "snake"), default=d.field_style)
    parser.add_argument("--code-as-number", action="store_true")
    parser.add_argument(
        "--single-kind", action="store_true", help="account with one kind: `kind` must be absent"
    )
    parser.add_argument("--balance", type=Decimal, default=d.balance)
    parser.add_argument("--price-per-segment", type=Decimal, default=d.price_per_segment)
    parser.add_argument(
        "--report-delay", type=float, default=d.report_delay_seconds, metavar="SECONDS"
    )
    parser.add_argument(
        "--report-outcome",
        action="append",
        default=[],
        metavar="CODE=WEIGHT",
        help="e.g. --report-outcome 10000=0.9 --report-outcome 4=0.1",
    )
    parser.add_argument("--report-push-url")
    parser.add_argument("--uplink-push-url")
    parser.add_argument("--pull-repeat", action="store_true")
    parser.add_argument("--seed", type=int)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Build the config from parsed options (raises ValueError on bad values)."""
    outcomes: dict[str, float] = {}
    for item in args.report_outcome:
        code, sep, weight = item.partition("=")
        if not sep:
            raise ValueError(f"--report-outcome {item!r}: expected CODE=WEIGHT")
        outcomes[code.strip()] = float(weight)
    return SandboxConfig(
        app_id=args.app_id,
        secret=os.environ.get(SECRET_ENV) or SandboxConfig().secret,
        token_ttl_seconds=args.token_ttl,
        field_style=args.field_style,
        code_as_number=args.code_as_number,
        require_kind=not args.single_kind,
        balance=args.balance,
        price_per_segment=args.price_per_segment,
        report_delay_seconds=args.report_delay,
        report_outcomes=outcomes or {"10000": 1.0},
        report_push_url=args.report_push_url,
        uplink_push_url=args.uplink_push_url,
        pull_repeat=args.pull_repeat,
        seed=args.seed,
    )


async def _serve_until_signalled(host: str, port: int, config: SandboxConfig) -> None:
    # SIGTERM (docker stop, kubectl) and SIGINT stop the sandbox cleanly.
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await serve_standalone(host, port, config)
    print("sandbox provider stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m smsgateway.sandbox",
        description=f"Simulated SMS provider (HTTP API v1.0). Secret: ${SECRET_ENV}.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    asyncio.run(_serve_until_signalled(args.host, args.port, config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
