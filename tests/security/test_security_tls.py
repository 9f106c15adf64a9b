"""TLS and mTLS on the gRPC port, certificate reload without restart, bad files."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from smsgateway.config import ConfigError, Settings
from smsgateway.security.setup import build_security
from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc
from testkit.certs import Authority, Pair
from testkit.secure_gateway import SecureGateway, bearer, secure_settings, start_secure_gateway


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, object]:
    ca = Authority.create(tmp_path / "pki", "ca")
    other = Authority.create(tmp_path / "pki", "other-ca")
    served = tmp_path / "served"
    served.mkdir()
    server = ca.issue("server", server=True)
    shutil.copy(server.cert, served / "tls.crt")
    shutil.copy(server.key, served / "tls.key")
    return {
        "ca": ca,
        "other": other,
        "cert": served / "tls.crt",
        "key": served / "tls.key",
        "client": ca.issue("client", server=False),
        "stranger": other.issue("stranger", server=False),
    }


async def _balance(gateway: SecureGateway, key: str, credentials: grpc.ChannelCredentials) -> str:
    channel = grpc.aio.secure_channel(gateway.target, credentials)
    try:
        stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)
        answer = await stub.GetBalance(pb.GetBalanceRequest(), metadata=bearer(key), timeout=5)
        return str(answer.balance)
    finally:
        await channel.close()


def _trusting(ca: Authority, client: Pair | None = None) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=ca.cert.read_bytes(),
        private_key=client.key_pem if client else None,
        certificate_chain=client.cert_pem if client else None,
    )


@pytest.fixture
async def tls_gw(
    tmp_path: Path, callers_file: Path, pki: dict[str, object], request: pytest.FixtureRequest
) -> AsyncIterator[SecureGateway]:
    mtls = getattr(request, "param", False)
    ca = pki["ca"]
    assert isinstance(ca, Authority)
    settings = secure_settings(
        tmp_path / "data",
        callers_file=callers_file,
        tls_cert_file=pki["cert"],
        tls_key_file=pki["key"],
        tls_client_ca_file=ca.cert if mtls else None,
    )
    gateway = await start_secure_gateway(settings)
    try:
        yield gateway
    finally:
        await gateway.stop()


async def test_tls_serves_clients_that_trust_the_ca_and_refuses_plaintext(
    tls_gw: SecureGateway, pki: dict[str, object], keys: dict[str, str]
) -> None:
    ca = pki["ca"]
    assert isinstance(ca, Authority)
    assert await _balance(tls_gw, keys["admin"], _trusting(ca))
    plain = tls_gw.stub()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await plain.GetBalance(pb.GetBalanceRequest(), metadata=bearer(keys["admin"]), timeout=3)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("tls_gw", [True], indirect=True)
async def test_mtls_needs_a_client_certificate_from_the_client_ca(
    tls_gw: SecureGateway, pki: dict[str, object], keys: dict[str, str]
) -> None:
    ca, client, stranger = pki["ca"], pki["client"], pki["stranger"]
    assert isinstance(ca, Authority) and isinstance(client, Pair) and isinstance(stranger, Pair)
    assert await _balance(tls_gw, keys["admin"], _trusting(ca, client))
    for credentials in (_trusting(ca), _trusting(ca, stranger)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _balance(tls_gw, keys["admin"], credentials)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_rotated_certificate_is_served_without_restart_and_a_bad_one_is_not(
    tls_gw: SecureGateway, pki: dict[str, object], keys: dict[str, str]
) -> None:
    ca, other = pki["ca"], pki["other"]
    cert, key = pki["cert"], pki["key"]
    assert isinstance(ca, Authority) and isinstance(other, Authority)
    assert isinstance(cert, Path) and isinstance(key, Path)
    rotated = other.issue("rotated", server=True)
    # Half a rotation: the new certificate with the old key. Not usable: the old pair stays.
    await asyncio.to_thread(shutil.copy, rotated.cert, cert)
    await asyncio.sleep(1.1)
    assert await _balance(tls_gw, keys["admin"], _trusting(ca))
    # The rotation completes: new connections get the new certificate.
    await asyncio.to_thread(shutil.copy, rotated.key, key)
    await asyncio.sleep(1.1)
    assert await _balance(tls_gw, keys["admin"], _trusting(other))
    credentials = tls_gw.security.credentials
    assert credentials is not None and credentials.reloads == 1


def test_unusable_tls_files_fail_the_start_clearly(tmp_path: Path, pki: dict[str, object]) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    other_key = pki["stranger"]
    assert isinstance(other_key, Pair)
    for cert, key in ((garbage, pki["key"]), (pki["cert"], other_key.key)):
        settings = secure_settings(tmp_path / "d", tls_cert_file=cert, tls_key_file=key)
        with pytest.raises(ConfigError) as caught:
            build_security(settings, limit_store=None)  # type: ignore[arg-type]
        assert "not a PEM certificate and its private key" in str(caught.value)


def test_tls_settings_are_validated_together() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SMSGW_TLS_CERT_FILE": "/nonexistent/crt"})
    problems = "\n".join(caught.value.problems)
    assert "SMSGW_TLS_CERT_FILE='/nonexistent/crt' is not a readable file" in problems
    assert "go together" in problems
