"""Run a live `smsgateway serve` (sandbox provider, SQLite) for the conformance suites.

Every language's test suite starts this script, reads one JSON line from its stdout,
and runs the scenarios of scenarios.md against the gateway it describes:

    {"grpc_target": "127.0.0.1:P", "sandbox_url": "http://127.0.0.1:S",
     "api_key": "..." or null, "approved_template_id": "...", "generation": 1}

Then it may write commands on stdin, one per line; each is answered with one JSON line:

    restart   stop the gateway (SIGTERM: streams end with UNAVAILABLE) and start it
              again on the same ports and data directory ("generation" counts up)
    stop      stop the gateway and exit (so does the end of stdin)

Usage: python clients/conformance/gateway.py [--callers]

With --callers the gateway gets SMSGW_CALLERS_FILE naming one admin caller, whose
fresh random key is "api_key" (only its SHA-256 is in the file). The gateway binary
is $SMSGW_BIN, else the `smsgateway` next to this Python interpreter. The gateway's
output goes to a log file, copied to stderr when it fails to start or when
SMSGW_CONFORMANCE_VERBOSE=1. Every wait is bounded; the gateway is killed if it does
not stop in time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from testkit.ports import free_port  # ports outside the ephemeral range

APPROVED_TEMPLATE_ID = "1192360392260608"
"""The template id the sandbox provider approves (every other id gets 10003)."""
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


def gateway_binary() -> str:
    explicit = os.environ.get("SMSGW_BIN")
    if explicit:
        return explicit
    return str(Path(sys.executable).parent / "smsgateway")


class Gateway:
    """One gateway process at a time, always on the same ports and data directory."""

    def __init__(self, data_dir: Path, callers_file: Path | None) -> None:
        self.ports = {name: free_port() for name in ("grpc", "http", "metrics", "sandbox")}
        self.env = {
            **os.environ,
            "SMSGW_BIND_HOST": "127.0.0.1",
            "SMSGW_GRPC_PORT": str(self.ports["grpc"]),
            "SMSGW_HTTP_PORT": str(self.ports["http"]),
            "SMSGW_METRICS_PORT": str(self.ports["metrics"]),
            "SMSGW_SANDBOX_PORT": str(self.ports["sandbox"]),
            "SMSGW_DATA_DIR": str(data_dir),
            "SMSGW_SHUTDOWN_GRACE_SECONDS": "1",
            "SMSGW_BALANCE_REFRESH_SECONDS": "0",
            "SMSGW_LOG_LEVEL": os.environ.get("SMSGW_LOG_LEVEL", "WARNING"),
        }
        if callers_file is not None:
            self.env["SMSGW_CALLERS_FILE"] = str(callers_file)
        self.process: subprocess.Popen[bytes] | None = None
        self.generation = 0
        self.log = data_dir.parent / "gateway.log"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.ports['grpc']}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sandbox']}"

    def start(self) -> None:
        verbose = os.environ.get("SMSGW_CONFORMANCE_VERBOSE") == "1"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [gateway_binary(), "serve"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr if verbose else log,
                stderr=sys.stderr if verbose else log,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._serving():
            problem = None
            if self.process.poll() is not None:
                problem = f"smsgateway serve exited with {self.process.returncode}"
            elif time.monotonic() > deadline:
                problem = f"smsgateway serve not serving within {START_TIMEOUT:g} s"
            if problem is not None:
                self.stop()
                if self.log.exists():
                    sys.stderr.write(self.log.read_text(errors="replace")[-20_000:])
                raise SystemExit(problem)
            time.sleep(0.1)
        # Reports come quickly: the scenarios wait for them.
        self._sandbox_post("/admin/config", {"report_delay_seconds": 0.05})
        self.generation += 1

    def _serving(self) -> bool:
        try:
            with grpc.insecure_channel(self.target) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1
                )
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def _sandbox_post(self, path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.sandbox_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def write_callers(directory: Path) -> tuple[Path, str]:
    """A callers file with one admin caller; returns it and the caller's key."""
    key = secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode()).hexdigest()
    path = directory / "callers.yaml"
    path.write_text(
        "callers:\n"
        "  - name: conformance\n"
        f'    key_sha256: "{digest}"\n'
        "    permissions: [admin]\n"
        '    signs: ["*"]\n'
    )
    return path, key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", action="store_true", help="require an API key")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smsgw-conformance-") as tmp:
        api_key: str | None = None
        callers_file: Path | None = None
        if args.callers:
            callers_file, api_key = write_callers(Path(tmp))
        gateway = Gateway(Path(tmp) / "data", callers_file)

        def announce() -> None:
            line = {
                "grpc_target": gateway.target,
                "sandbox_url": gateway.sandbox_url,
                "api_key": api_key,
                "approved_template_id": APPROVED_TEMPLATE_ID,
                "generation": gateway.generation,
            }
            print(json.dumps(line), flush=True)

        try:
            gateway.start()
            announce()
            for command in sys.stdin:
                command = command.strip()
                if command == "restart":
                    gateway.stop()
                    gateway.start()
                    announce()
                elif command == "stop":
                    break
                elif command:
                    print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
        finally:
            gateway.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
