"""What every `smsctl` module shares: environment variables, exit codes, errors."""

from __future__ import annotations

#: Environment variable with the gateway address (`--target`).
ENV_TARGET = "SMSCTL_TARGET"
#: Environment variable with the caller's key (`--api-key`).
ENV_API_KEY = "SMSCTL_API_KEY"
#: Environment variable with the CA file that verifies the gateway (`--ca-file`).
ENV_CA_FILE = "SMSCTL_CA_FILE"
#: Environment variable with the sandbox base URL (`sandbox --sandbox-url`).
ENV_SANDBOX_URL = "SMSCTL_SANDBOX_URL"
DEFAULT_SANDBOX_URL = "http://127.0.0.1:8090"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad command-line input found after parsing (exit code 2)."""


class SandboxError(Exception):
    """The sandbox admin API refused a request or could not be reached (exit code 1)."""
