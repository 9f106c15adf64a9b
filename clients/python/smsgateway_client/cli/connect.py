"""The gateway client of a `smsctl` command, from its global options (target, deadline,
key, TLS files)."""

from __future__ import annotations

import argparse

from ..client import SmsGatewayClient
from .common import UsageError


def connect(args: argparse.Namespace) -> SmsGatewayClient:
    try:
        return SmsGatewayClient(
            args.target,
            timeout=args.timeout,
            api_key=args.api_key or None,
            ca_file=args.ca_file,
            client_cert_file=args.client_cert,
            client_key_file=args.client_key,
        )
    except (OSError, ValueError) as exc:  # an unreadable CA file, a cert without its key
        raise UsageError(f"TLS options: {exc}") from None
