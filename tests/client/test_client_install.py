"""`pip install ./clients/python` in a fresh venv, as a user of the client alone would.

It must give a working client and `smsctl` (the API package comes along by path) and none
of the server's dependencies; the installed `smsctl` then talks to a live gateway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SERVER_ONLY = {"phonenumbers", "prometheus-client", "opentelemetry-sdk", "uvloop", "aiohttp"}


def run(*command: str | Path, timeout: float = 300, **kw: object) -> str:
    done = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=timeout, **kw
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_client_installs_alone_and_smsctl_talks_to_a_gateway(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python, smsctl = venv / "bin" / "python", venv / "bin" / "smsctl"
    # What the README says, word for word, from a clean directory.
    run(python, "-m", "pip", "install", "--quiet", REPO / "clients" / "python", cwd=tmp_path)

    installed = {
        p["name"].lower() for p in json.loads(run(python, "-m", "pip", "list", "--format=json"))
    }
    assert {"smsgateway-api", "smsgateway-client", "grpcio", "protobuf"} <= installed
    assert not installed & SERVER_ONLY, installed & SERVER_ONLY
    assert "smsgateway" not in installed  # the server distribution
    where = run(
        python,
        "-c",
        "import smsgateway_client, smsgateway.v1.smsgateway_pb2 as pb; "
        "print(smsgateway_client.__file__); print(pb.__file__)",
        cwd=tmp_path,
    )
    assert all(line.startswith(str(venv)) for line in where.splitlines()), where
    assert "send" in run(smsctl, "--help", cwd=tmp_path)

    # The installed smsctl against a live gateway (the repository's, on the sandbox).
    harness = subprocess.Popen(
        [sys.executable, str(REPO / "clients" / "conformance" / "gateway.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert harness.stdout is not None
        info = json.loads(harness.stdout.readline())
        env = {**os.environ, "SMSCTL_TARGET": info["grpc_target"]}
        send = ["--json", "send", "--to", "13800138000", "--sign", "Demo", "--content", "hi"]
        sent = json.loads(run(smsctl, *send, env=env, timeout=60))
        assert sent["acceptedCount"] == 1
        status = run(smsctl, "status", "--request-id", sent["requestId"], env=env, timeout=60)
        assert f"request {sent['requestId']}" in status
        balance = run(smsctl, "balance", env=env, timeout=60)
        assert balance.startswith("balance ")
        refused = subprocess.run(
            [str(smsctl), "sandbox", "state"], capture_output=True, text=True, timeout=60
        )
        assert refused.returncode == 1
        assert "pip install 'smsgateway-client[sandbox]'" in refused.stderr
    finally:
        assert harness.stdin is not None
        harness.stdin.close()
        harness.wait(timeout=30)
