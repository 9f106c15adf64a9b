"""The API as a public contract: generated code in sync for every language, no breaking
change against the previous release, one shared set of error reasons, one client
configuration."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from smsgateway.v1 import error_reason_pb2
from smsgateway_client.config import RetryPolicy, service_config

REPO = Path(__file__).resolve().parents[2]
BUF = REPO / "node_modules" / ".bin" / "buf"
TOOLS = (
    BUF,
    REPO / ".tools" / "bin" / "protoc-gen-go",
    REPO / ".tools" / "bin" / "protoc-gen-go-grpc",
)


def _need_tools() -> None:
    missing = [str(t.relative_to(REPO)) for t in TOOLS if not t.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run `make proto-tools` (make test does)")


def test_generated_code_of_every_language_matches_the_proto() -> None:
    _need_tools()
    done = subprocess.run(
        [sys.executable, "scripts/gen_proto.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_breaking_change_against_the_previous_release() -> None:
    _need_tools()
    done = subprocess.run(
        [str(BUF), "breaking", "--against", "proto/releases/v0.1.0.binpb"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# Helpers of api/errors.py and security/ whose second argument is the reason.
_REASON_HELPERS = {"not_found", "failed_precondition", "out_of_range", "unauthenticated"}


def _reasons_in_server_code() -> dict[str, str]:
    """Every string literal the server passes as an `ApiError` reason (directly or through
    the helpers of api/errors.py), with where it is."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "server" / "smsgateway").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", "") or getattr(node.func, "attr", "")
            values: list[ast.expr] = []
            if name == "ApiError":
                values += [k.value for k in node.keywords if k.arg == "reason"]
            elif name in _REASON_HELPERS:
                values += node.args[1:2] + [k.value for k in node.keywords if k.arg == "reason"]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    where = f"{path.relative_to(REPO)}:{value.lineno}"
                    found.setdefault(value.value, where)
    return found


def test_every_error_reason_of_the_server_is_in_the_error_reason_enum() -> None:
    names = set(error_reason_pb2.ErrorReason.keys())
    reasons = _reasons_in_server_code()
    assert reasons, "the scan found no reason at all"
    unknown = {r: where for r, where in reasons.items() if r not in names}
    assert not unknown, (
        f"add these to ErrorReason in proto/smsgateway/v1/error_reason.proto: {unknown}"
    )


def test_the_python_client_retries_as_the_shared_service_config_says() -> None:
    on_disk = json.loads((REPO / "clients" / "service_config.json").read_text())
    assert service_config() == on_disk
    assert RetryPolicy.from_service_config() == RetryPolicy(
        max_attempts=4, initial_backoff=0.25, max_backoff=5.0, multiplier=2.0
    )
    rpcs = {m.name for m in _service().methods}
    configured = {
        name["method"]
        for method in on_disk["serviceConfig"]["methodConfig"]
        for name in method["name"]
    }
    streams = {"StreamDeliveryReports", "StreamUplinks"}  # resumed by each client instead
    assert configured == rpcs - streams, "every unary RPC has a deadline and a retry policy"


def _service():  # type: ignore[no-untyped-def]
    from smsgateway.v1 import smsgateway_pb2

    return smsgateway_pb2.DESCRIPTOR.services_by_name["SmsGateway"]
