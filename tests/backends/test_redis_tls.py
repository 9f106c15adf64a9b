"""`rediss://` against a redis-server that serves TLS only: the pipelined connection of the
scripts and redis-py's pool both verify the server with the CA file, and a server the CA
does not vouch for is refused with an error that says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smsgateway.backends.redis import RedisOptions, open_backend
from smsgateway.backends.redis.connection import LuaScript, RedisSettings, connect
from smsgateway.store_errors import StoreUnavailableError
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.certs import Authority
from testkit.redis_server import RedisServer

_SET = LuaScript("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])", "test")


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[RedisServer, Authority]]:
    ca = Authority.create(tmp_path / "ca")
    server = RedisServer(
        tmp_path / "redis", tls=ca.issue("redis", server=True), tls_ca=ca.cert
    ).start()
    try:
        yield server, ca
    finally:
        server.stop()


async def test_scripts_and_pooled_commands_both_go_over_tls(
    tls_redis: tuple[RedisServer, Authority], redis_prefix: str
) -> None:
    server, ca = tls_redis
    for host in ("127.0.0.1", "localhost"):  # both names are in the certificate
        url = f"rediss://{host}:{server.port}/0"
        client = connect(RedisSettings(url=url, tls_ca_file=ca.cert))
        try:
            # The server has no plain port: the scripts' pipelined connection speaks TLS.
            assert client.multiplexer is not None
            assert "rediss://" in repr(client.multiplexer)
            key = f"{redis_prefix}:{host}"
            assert await _SET.run(client, [key], ["over tls"]) == b"over tls"
            assert await client.get(key) == b"over tls"  # redis-py's pool
        finally:
            await client.aclose()


async def test_the_backend_runs_on_a_tls_only_redis(
    tls_redis: tuple[RedisServer, Authority], redis_prefix: str
) -> None:
    server, ca = tls_redis
    settings = RedisSettings(url=server.url, tls_ca_file=ca.cert, key_prefix=redis_prefix)
    backend = await open_backend(RedisOptions(settings))
    try:
        await backend.check()
        response = pb.SendSmsResponse(request_id="r1")
        response.calls.add(index=0, phone_numbers=["13800000000"])
        assert await backend.idempotency.claim("r1", b"fp", response) is None
        record = await backend.idempotency.get("r1")
        assert record is not None and record.fingerprint == b"fp"
    finally:
        await backend.close()


async def test_a_server_the_ca_does_not_vouch_for_is_refused_clearly(
    tls_redis: tuple[RedisServer, Authority], tmp_path: Path, redis_prefix: str
) -> None:
    server, _ = tls_redis
    stranger = Authority.create(tmp_path / "other-ca", "stranger")
    settings = RedisSettings(
        url=server.url, tls_ca_file=stranger.cert, retries=0, connect_timeout_seconds=2
    )
    client = connect(settings)
    try:
        with pytest.raises(StoreUnavailableError) as scripted:
            await _SET.run(client, [f"{redis_prefix}:k"], ["v"])
        assert "certificate" in str(scripted.value).lower(), scripted.value
        with pytest.raises(StoreUnavailableError):
            await open_backend(RedisOptions(settings))
    finally:
        await client.aclose()
