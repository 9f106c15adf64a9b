"""Connecting to Redis: credentials, persistence settings, WAIT, scripts, errors, reconnection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from smsgateway.backends.redis import RedisOptions, open_backend
from smsgateway.backends.redis.connection import (
    LuaScript,
    RedisSettings,
    ReplicaWait,
    connect,
    ping,
    read_persistence,
    safe_url,
)
from smsgateway.backends.redis.idempotency import RedisIdempotencyStore
from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.store_errors import StoreFullError, StoreUnavailableError
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.redis_server import RedisServer

_SET = LuaScript("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])", "test")


@pytest.fixture
async def admin(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    client = connect(RedisSettings(url=redis_server.url))
    yield client
    await client.aclose()


def test_the_url_is_never_shown() -> None:
    url = "rediss://gw:hunter2@redis.example:6380/2"
    assert safe_url(url) == "rediss://redis.example:6380/2"
    assert "hunter2" not in repr(RedisSettings(url=url)) and "gw:" not in repr(
        RedisSettings(url=url)
    )


async def test_password_from_the_url_or_from_a_file_which_wins(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", password="right-pass").start()
    wrong = f"redis://:wrong-pass@127.0.0.1:{server.port}/0"
    secret = tmp_path / "password"
    secret.write_text("right-pass\n")
    clients = [
        connect(RedisSettings(url=server.url)),
        connect(RedisSettings(url=wrong, password_file=secret)),
    ]
    refused = connect(RedisSettings(url=wrong, retries=0))
    try:
        for client in clients:
            await ping(client, RedisSettings(url=server.url))
        with pytest.raises(StoreUnavailableError) as caught:
            await ping(refused, RedisSettings(url=wrong))
        text = str(caught.value)
        assert f"127.0.0.1:{server.port}" in text and "wrong-pass" not in text
        with pytest.raises(StoreUnavailableError, match="SMSGW_REDIS_PASSWORD_FILE"):
            connect(RedisSettings(url=wrong, password_file=tmp_path / "missing"))
    finally:
        for client in [*clients, refused]:
            await client.aclose()
        server.stop()


async def test_an_acl_user_in_the_url(
    redis_server: RedisServer, admin: redis.asyncio.Redis
) -> None:
    await admin.execute_command("ACL", "SETUSER", "gw-user", "on", ">gw-pass", "~*", "&*", "+@all")
    client = connect(RedisSettings(url=f"redis://gw-user:gw-pass@127.0.0.1:{redis_server.port}/0"))
    try:
        assert await client.acl_whoami() in ("gw-user", b"gw-user")
    finally:
        await client.aclose()
        await admin.execute_command("ACL", "DELUSER", "gw-user")


async def test_persistence_settings_are_read(tmp_path: Path, admin: redis.asyncio.Redis) -> None:
    assert await read_persistence(admin) == {"appendonly": "no", "appendfsync": "everysec"}
    server = RedisServer(tmp_path / "aof", appendonly=True, appendfsync="always").start()
    client = connect(RedisSettings(url=server.url))
    try:
        assert await read_persistence(client) == {"appendonly": "yes", "appendfsync": "always"}
    finally:
        await client.aclose()
        server.stop()


async def test_a_managed_redis_forbidding_config_falls_back_to_info_then_unknown(
    redis_server: RedisServer, admin: redis.asyncio.Redis
) -> None:
    base = f"127.0.0.1:{redis_server.port}/0"
    for user, denied in (("no-config", ["-config"]), ("no-info", ["-config", "-info"])):
        await admin.execute_command(
            "ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", *denied
        )
    no_config = connect(RedisSettings(url=f"redis://no-config:pw@{base}"))
    no_info = connect(RedisSettings(url=f"redis://no-info:pw@{base}"))
    try:
        assert await read_persistence(no_config) == {"appendonly": "no", "appendfsync": "unknown"}
        assert await read_persistence(no_info) == {
            "appendonly": "unknown",
            "appendfsync": "unknown",
        }
    finally:
        await no_config.aclose()
        await no_info.aclose()
        await admin.execute_command("ACL", "DELUSER", "no-config", "no-info")


async def test_unreachable_redis_is_store_unavailable_naming_the_server(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", password="hunter2").start()
    settings = RedisSettings(url=server.url, retries=1, connect_timeout_seconds=0.5)
    client = connect(settings)
    server.kill()
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            await ping(client, settings)
        assert f"redis://127.0.0.1:{server.port}/0 does not answer" in str(caught.value)
        assert "hunter2" not in str(caught.value)
        with pytest.raises(StoreUnavailableError):
            await read_persistence(client)
    finally:
        await client.aclose()


async def test_the_client_reconnects_by_itself_after_a_restart(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", appendonly=True, appendfsync="always").start()
    settings = RedisSettings(url=server.url, retries=2, connect_timeout_seconds=0.5)
    client = connect(settings)
    try:
        assert await _SET.run(client, ["k"], ["v1"]) == b"v1"
        server.kill()
        with pytest.raises(StoreUnavailableError):
            await _SET.run(client, ["k"], ["v2"])
        server.start()
        assert await client.get("k") == b"v1"  # the same client, no restart of anything
        assert await _SET.run(client, ["k"], ["v3"]) == b"v3"  # the script cache was lost too
    finally:
        await client.aclose()
        server.stop()


async def test_scripts_survive_a_flushed_script_cache(
    admin: redis.asyncio.Redis, redis_prefix: str
) -> None:
    key = f"{redis_prefix}:script"
    assert await _SET.run(admin, [key], ["a"]) == b"a"
    await admin.script_flush()
    assert await _SET.run(admin, [key], ["b"]) == b"b"


async def test_wait_fails_the_write_when_replicas_do_not_acknowledge(
    admin: redis.asyncio.Redis, redis_prefix: str
) -> None:
    wait = ReplicaWait(replicas=1, timeout_ms=50)
    with pytest.raises(StoreUnavailableError, match="0 of 1 Redis replicas"):
        await _SET.run(admin, [f"{redis_prefix}:w"], ["x"], wait=wait)
    assert ReplicaWait.of(RedisSettings(url="redis://h", wait_replicas=0)) is None


async def test_wait_returns_once_a_real_replica_has_the_write(
    tmp_path: Path, redis_prefix: str
) -> None:
    primary = RedisServer(tmp_path / "primary").start()
    replica = RedisServer(
        tmp_path / "replica", extra_args=("--replicaof", "127.0.0.1", str(primary.port))
    ).start()
    client = connect(RedisSettings(url=primary.url))
    reader = connect(RedisSettings(url=replica.url))
    try:
        wait = ReplicaWait(replicas=1, timeout_ms=5000)
        for _ in range(100):  # until the replica has finished its initial sync
            if (await client.info("replication")).get("connected_slaves", 0) >= 1:
                break
            await asyncio.sleep(0.05)
        await client.script_flush()  # EVALSHA fails once in the pipeline: EVAL, then WAIT
        assert await _SET.run(client, [f"{redis_prefix}:k"], ["v"], wait=wait) == b"v"
        assert await reader.get(f"{redis_prefix}:k") == b"v"
        store = RedisIdempotencyStore(client, RedisKeys(redis_prefix), ttl_seconds=60, wait=wait)
        response = pb.SendSmsResponse(request_id="r1")
        response.calls.add(index=0, phone_numbers=["13800000000"])
        assert await store.claim("r1", b"fp", response) is None
        assert await reader.exists(RedisKeys(redis_prefix).idempotency("req", "r1")) == 1
    finally:
        await client.aclose()
        await reader.aclose()
        replica.stop()
        primary.stop()


async def test_a_full_redis_is_store_full(tmp_path: Path, redis_prefix: str) -> None:
    server = RedisServer(
        tmp_path / "redis", extra_args=("--maxmemory", "1mb", "--maxmemory-policy", "noeviction")
    ).start()
    client = connect(RedisSettings(url=server.url))
    store = RedisIdempotencyStore(client, RedisKeys(redis_prefix), ttl_seconds=60)
    try:
        with pytest.raises(StoreFullError, match="no room"):
            for i in range(1000):
                response = pb.SendSmsResponse(request_id=f"r{i}", content="x" * 10_000)
                await store.claim(f"r{i}", b"fp", response)
    finally:
        await store.close()
        await client.aclose()
        server.stop()


async def test_open_backend_reports_itself_checks_and_closes(
    tmp_path: Path, redis_prefix: str
) -> None:
    server = RedisServer(tmp_path / "redis", appendonly=True, appendfsync="always").start()
    settings = RedisSettings(
        url=server.url, key_prefix=redis_prefix, retries=0, connect_timeout_seconds=0.5
    )
    backend = await open_backend(RedisOptions(settings))
    try:
        assert (backend.info.name, backend.info.shared) == ("redis", True)
        assert backend.info.durability == {
            "appendonly": "yes",
            "appendfsync": "always",
            "wait_replicas": "0",
        }
        await backend.check()
        response = pb.SendSmsResponse(request_id="r1")
        assert await backend.idempotency.claim("r1", b"fp", response) is None
        assert await backend.leases.acquire("poller", "me", 1) is not None
        await backend.tokens.save("tok", 10)
        server.kill()
        with pytest.raises(StoreUnavailableError, match="does not answer"):
            await backend.check()
        server.start()
        await backend.check()  # recovered by itself
        record = await backend.idempotency.get("r1")
        assert record is not None and record.fingerprint == b"fp"
    finally:
        await backend.close()
        server.stop()


async def test_open_backend_fails_clearly_without_redis(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", password="hunter2").start()
    server.kill()
    settings = RedisSettings(url=server.url, retries=0, connect_timeout_seconds=0.5)
    with pytest.raises(StoreUnavailableError) as caught:
        await open_backend(RedisOptions(settings))
    assert f"127.0.0.1:{server.port}" in str(caught.value)
    assert "hunter2" not in str(caught.value)
