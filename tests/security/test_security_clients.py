"""The Python client and `smsctl` send the key (`--api-key` / SMSCTL_API_KEY) and accept a
CA file (TLS) and a client certificate (mTLS)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smsgateway_client import cli
from smsgateway_client.cli.common import ENV_API_KEY
from smsgateway_client.client import SmsGatewayClient
from smsgateway_client.errors import GatewayError
from testkit.certs import Authority
from testkit.secure_gateway import SecureGateway, secure_settings, start_secure_gateway


async def _smsctl(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(cli.main, list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_the_client_sends_its_key(secure_gw: SecureGateway, keys: dict[str, str]) -> None:
    async with SmsGatewayClient(secure_gw.target, api_key=keys["admin"]) as client:
        assert (await client.get_balance()) is not None
    async with SmsGatewayClient(secure_gw.target) as anonymous:
        with pytest.raises(GatewayError) as caught:
            await anonymous.get_balance()
    assert caught.value.reason == "MISSING_KEY"


async def test_smsctl_takes_the_key_from_an_option_or_the_environment(
    secure_gw: SecureGateway,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, _ = await _smsctl(
        capsys, "--target", secure_gw.target, "--api-key", keys["admin"], "balance"
    )
    assert code == 0 and out.strip()
    code, _, err = await _smsctl(capsys, "--target", secure_gw.target, "--json", "balance")
    assert code == 1 and json.loads(err)["error"]["reason"] == "MISSING_KEY"
    monkeypatch.setenv(ENV_API_KEY, keys["reader_a"])
    code, _, err = await _smsctl(capsys, "--target", secure_gw.target, "--json", "balance")
    assert code == 1 and json.loads(err)["error"]["reason"] == "PERMISSION_MISSING"
    assert keys["reader_a"] not in err


@pytest.fixture
async def mtls_gw(
    tmp_path: Path, callers_file: Path
) -> AsyncIterator[tuple[SecureGateway, Authority]]:
    ca = Authority.create(tmp_path / "pki")
    server = ca.issue("server", server=True)
    ca.issue("client", server=False)
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(server.cert, served / "tls.crt")
    shutil.copy(server.key, served / "tls.key")
    settings = secure_settings(
        tmp_path / "data",
        callers_file=callers_file,
        tls_cert_file=served / "tls.crt",
        tls_key_file=served / "tls.key",
        tls_client_ca_file=ca.cert,
    )
    gateway = await start_secure_gateway(settings)
    try:
        yield gateway, ca
    finally:
        await gateway.stop()


async def test_smsctl_speaks_tls_and_mtls(
    mtls_gw: tuple[SecureGateway, Authority],
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    gateway, ca = mtls_gw
    pki = ca.directory
    target = f"localhost:{gateway.port}"
    base = ["--target", target, "--api-key", keys["admin"], "--ca-file", str(ca.cert)]
    mtls = ["--client-cert", str(pki / "client.crt"), "--client-key", str(pki / "client.key")]
    code, out, _ = await _smsctl(capsys, *base, *mtls, "balance")
    assert code == 0 and out.strip()
    code, _, _ = await _smsctl(capsys, *base, "--timeout", "2", "balance")  # no client cert
    assert code == 1
    code, _, err = await _smsctl(capsys, *base, "--client-cert", str(pki / "client.crt"), "balance")
    assert code == 2 and "go together" in err
