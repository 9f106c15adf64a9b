"""`smsctl`: the operator's command line for the gateway (and the sandbox provider).

    smsctl send --to 13800000000,13800000001 --sign Acme --content "Hello" --kind notice
    smsctl status 12345678901234567890
    smsctl watch reports --from-start --group ops --max-events 10
    smsctl sandbox inject-uplink --phone 13800000000 --content TD --sign Acme

Exit codes: 0 success, 1 the gateway (or the sandbox) refused or failed, 2 bad usage,
130 interrupted. Errors go to stderr, one line per violation; `--json` prints responses
as proto3 JSON (one object per line for lists and streams) and errors as JSON.

This package holds the entry point (`main`); `parser` builds the arguments, `gateway`,
`stored`, `watch` and `sandbox` run the commands, `output` prints, `argtypes` converts
option values, `connect` makes the client, `common` holds the shared names.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from ..errors import GatewayError
from .common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, SandboxError, UsageError
from .output import Output
from .parser import build_parser

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run `smsctl` with `argv` (default: the process arguments); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, format="smsctl: %(message)s", stream=sys.stderr)
    out = Output(args.json, sys.stdout, sys.stderr)
    try:
        code: int = asyncio.run(args.handler(args, out))
        return code
    except UsageError as exc:
        args.parser.print_usage(sys.stderr)
        print(f"{args.parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GatewayError as error:
        out.error(error)
        return EXIT_FAILED
    except SandboxError as exc:
        print(f"smsctl: sandbox: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `smsctl watch reports | head`: the reader left. What was not printed was not
        # acknowledged either; stop quietly, as other command-line tools do.
        _silence_stdout()
        return EXIT_OK


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (tests, embedding)
        pass
