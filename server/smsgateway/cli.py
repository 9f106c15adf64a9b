"""`smsgateway serve | sandbox | check-config`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from smsgateway import __version__
from smsgateway.config import ConfigError, Settings

log = logging.getLogger("smsgateway")


def _banner(settings: Settings, ports: object) -> str:
    from smsgateway.app import BoundPorts

    assert isinstance(ports, BoundPorts)
    lines = [
        f"smsgateway {__version__} is serving",
        f"  gRPC        localhost:{ports.grpc}   (health + reflection on)",
        f"  callbacks   http://localhost:{ports.http}{settings.report_callback_path}"
        f"  and {settings.uplink_callback_path}",
        f"  metrics     http://localhost:{ports.metrics}/metrics",
    ]
    if ports.sandbox is not None:
        lines += [
            f"  upstream    in-process SANDBOX at http://127.0.0.1:{ports.sandbox} (no real SMS)",
            "  template    1192360392260608 is the sandbox's approved template id"
            " (any other gets 10003)",
            "",
            "Try it:",
            "  .venv/bin/smsctl send --to 13800138000,13900139000 --sign Demo --content 'hello'",
            "  .venv/bin/smsctl balance",
            "  .venv/bin/smsctl send-template --to 13800138000 --sign Demo"
            ' --template-id 1192360392260608 --params \'{"code":"1234"}\''
            " --content 'Your code is 1234'",
            "  .venv/bin/smsctl watch reports --from-start",
            "  .venv/bin/smsctl sandbox inject-uplink --phone 13800138000 --sign Demo --content TD",
            "  node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge \\",
            f"    --list-methods http://localhost:{ports.grpc}",
        ]
    return "\n".join(lines)


async def _serve(settings: Settings) -> int:
    from smsgateway.app import App
    from smsgateway.observability.tracing import configure_tracing, shutdown_tracing

    if settings.instrumentation:
        configure_tracing("smsgateway")
    app = App(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        ports = await app.start()
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    except ConfigError as exc:  # e.g. a bad callers file or TLS files
        print(exc, file=sys.stderr)
        return 2
    print(_banner(settings, ports), file=sys.stderr, flush=True)
    _tune_gc()
    await stop.wait()
    log.info("shutting down", extra={"grace_seconds": settings.shutdown_grace_seconds})
    await app.stop()
    shutdown_tracing()
    log.info("stopped")
    return 0


async def _sandbox(args: argparse.Namespace) -> int:
    from smsgateway.sandbox import serve_standalone
    from smsgateway.sandbox.standalone import config_from_args

    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"smsgateway sandbox: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(asyncio.CancelledError):
        await serve_standalone(args.host, args.port, config)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `smsgateway` command."""
    parser = argparse.ArgumentParser(
        prog="smsgateway", description="gRPC facade in front of the SMS provider's HTTP API v1.0"
    )
    parser.add_argument("--version", action="version", version=f"smsgateway {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "serve",
        help="run the service (configured by SMSGW_* variables; no upstream URL = sandbox)",
    )
    sub.add_parser("check-config", help="validate the SMSGW_* variables and print the result")
    from smsgateway.security import callers_cli

    callers_cli.add_arguments(
        sub.add_parser(
            "callers", help="make caller keys, check a callers file (SMSGW_CALLERS_FILE)"
        )
    )
    from smsgateway.sandbox.standalone import add_arguments

    add_arguments(
        sub.add_parser(
            "sandbox",
            help="run the sandbox provider on its own (secret from SMSGW_SANDBOX_SECRET)",
        )
    )
    args = parser.parse_args(argv)
    if args.command == "callers":
        return callers_cli.run(args)

    from smsgateway.observability.logging import configure_logging

    if args.command == "sandbox":
        configure_logging("INFO")
        with contextlib.suppress(KeyboardInterrupt):
            return _run(_sandbox(args))
        return 0
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "check-config":
        from smsgateway.security.setup import check_security

        try:
            check_security(settings)  # the callers file and the TLS files
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(settings)
        return 0
    return _run(_serve(settings))


def _tune_gc() -> None:
    """Keep start-up's objects out of the garbage collector's way once the gateway is up.

    What start-up allocated (modules, protobuf descriptors, the server) lives as long as
    the process: `gc.freeze` leaves it out of every later collection, so that a full
    collection no longer scans those few hundred thousand objects (a pause of tens of ms
    for every caller, e.g. while a 100,000-recipient send allocates); reference cycles
    made later are still collected.
    """
    gc.collect()
    gc.freeze()


def _run(coro: Coroutine[Any, Any, int]) -> int:
    import uvloop

    return uvloop.run(coro)


if __name__ == "__main__":
    raise SystemExit(main())
