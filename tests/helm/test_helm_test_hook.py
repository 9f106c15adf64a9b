"""The chart's `helm test` pod really checks grpc.health.v1 and fails when the service is down.

The pod's command is taken from the rendered chart and run here, with this interpreter (the
image carries the same grpcio), against a real grpc.aio health server: plaintext, TLS with the
CA from the server's Secret, and mutual TLS with the test's own client certificate. The files
the pod would find in its Secret volumes are written to a temp dir with trustme-made
certificates.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import trustme
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

OPEN = {"auth": {"allowUnauthenticated": True, "allowUnauthenticatedPushes": True}}
TLS = OPEN | {"tls": {"existingSecret": "grpc-tls"}}
MTLS = OPEN | {
    "tls": {
        "existingSecret": "grpc-tls",
        "clientCA": {"existingSecret": "client-ca", "helmTestSecret": "helm-test-client"},
    }
}


@dataclass
class Server:
    target: str
    servicer: health.aio.HealthServicer


@pytest.fixture
async def health_server() -> AsyncIterator[Server]:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield Server(f"127.0.0.1:{port}", servicer)
    finally:
        await server.stop(None)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


async def _tls_server(ca: trustme.CA, *, client_ca: trustme.CA | None) -> tuple[Any, Server]:
    cert = ca.issue_cert("127.0.0.1")
    chain = b"".join(blob.bytes() for blob in cert.cert_chain_pems)
    credentials = grpc.ssl_server_credentials(
        [(cert.private_key_pem.bytes(), chain)],
        root_certificates=client_ca.cert_pem.bytes() if client_ca else None,
        require_client_auth=client_ca is not None,
    )
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    return server, Server(f"127.0.0.1:{port}", servicer)


def _hook(render: Any, values: dict[str, Any]) -> tuple[list[str], list[str], dict[str, str]]:
    """The hook's script arguments: its command, the files it reads, and where each file's
    mount comes from (mount path -> Secret name)."""
    pod = render(values).one("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    command: list[str] = container["command"]
    assert command[:2] == ["python", "-c"]
    assert command[3] == "smsgw-smsgateway:50051"  # the Service's gRPC port
    volumes = {v["name"]: v["secret"]["secretName"] for v in pod["spec"].get("volumes", [])}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}
    for path in command[4:]:
        assert path.rpartition("/")[0] in mounts, path
    return command, command[4:], mounts


def _local_files(tmp_path: Path, files: list[str], contents: dict[str, bytes]) -> list[str]:
    """Write what the pod would find at each path (by file name); absent files stay absent."""
    local = []
    for path in files:
        name = path.rpartition("/")[2]
        target = tmp_path / path.strip("/").replace("/", "_")
        if name in contents:
            target.write_bytes(contents[name])
        local.append(str(target))
    return local


async def _run(command: list[str], target: str, files: Sequence[str] = ()) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *command[1:3],
        target,
        *files,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_hook_passes_when_serving(render: Any, health_server: Server) -> None:
    await health_server.servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    command, files, _ = _hook(render, OPEN)
    assert files == []
    code, output = await _run(command, health_server.target)
    assert code == 0, output
    assert f"{health_server.target}: SERVING" in output


async def test_hook_fails_when_not_serving(render: Any, health_server: Server) -> None:
    await health_server.servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    command, _, _ = _hook(render, OPEN)
    code, output = await _run(command, health_server.target)
    assert code == 1, output
    assert "NOT_SERVING" in output


async def test_hook_fails_when_nothing_listens(render: Any) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    command, _, _ = _hook(render, OPEN)
    code, output = await _run(command, f"127.0.0.1:{dead_port}")
    assert code != 0
    assert "UNAVAILABLE" in output


async def test_hook_speaks_tls_trusting_the_ca_of_the_servers_secret(
    render: Any, ca: trustme.CA, tmp_path: Path
) -> None:
    command, files, mounts = _hook(render, TLS)
    assert files == ["/etc/smsgateway/tls/ca.crt"]
    assert mounts == {"/etc/smsgateway/tls": "grpc-tls"}
    server, target = await _tls_server(ca, client_ca=None)
    try:
        local = _local_files(tmp_path, files, {"ca.crt": ca.cert_pem.bytes()})
        code, output = await _run(command, target.target, local)
        assert code == 0, output
        assert "SERVING" in output
        # A certificate from another CA is not trusted: the check fails.
        (tmp_path / "untrusted").mkdir()
        untrusted = _local_files(
            tmp_path / "untrusted", files, {"ca.crt": trustme.CA().cert_pem.bytes()}
        )
        code, output = await _run(command, target.target, untrusted)
        assert code != 0, output
        assert "UNAVAILABLE" in output
    finally:
        await server.stop(None)


async def test_hook_presents_its_client_certificate_under_mutual_tls(
    render: Any, ca: trustme.CA, tmp_path: Path
) -> None:
    command, files, mounts = _hook(render, MTLS)
    assert files == [
        "/etc/smsgateway/tls/ca.crt",
        "/etc/smsgateway/client/tls.crt",
        "/etc/smsgateway/client/tls.key",
    ]
    assert mounts == {
        "/etc/smsgateway/tls": "grpc-tls",
        "/etc/smsgateway/client": "helm-test-client",
    }
    client_ca = trustme.CA()
    client = client_ca.issue_cert("helm-test@smsgw")
    server, target = await _tls_server(ca, client_ca=client_ca)
    try:
        local = _local_files(
            tmp_path,
            files,
            {
                "ca.crt": ca.cert_pem.bytes(),
                "tls.crt": b"".join(blob.bytes() for blob in client.cert_chain_pems),
                "tls.key": client.private_key_pem.bytes(),
            },
        )
        code, output = await _run(command, target.target, local)
        assert code == 0, output
        assert "SERVING" in output
        # Without its certificate the server turns it away: the pod needs the client Secret.
        code, output = await _run(command, target.target, local[:1])
        assert code != 0, output
    finally:
        await server.stop(None)
