"""Commands packed by hiredis are byte-for-byte what redis-py's own packer sends."""

from __future__ import annotations

import pytest
import redis.asyncio.connection
import redis.exceptions

from smsgateway.backends.redis.connection import RedisSettings, connect
from smsgateway.backends.redis.packing import hiredis_packing

ARGS: list[tuple[object, ...]] = [
    ("SET", b"k", "v"),
    ("CONFIG GET", "appendonly"),
    (b"EVALSHA", "a" * 40, 2, b"k1", b"k2", 0.1, 1e20, 1750000000.123456, -5, 2**63 - 1),
    ("XADD", b"\x00\xff", "é", "\ud800".encode("utf-8", "surrogatepass"), bytearray(b"ba")),
    ("SET", memoryview(b"mv"), b""),
]


@pytest.mark.parametrize("args", ARGS)
def test_the_same_bytes_as_redis_py(args: tuple[object, ...]) -> None:
    plain = redis.asyncio.connection.Connection()
    packing = hiredis_packing(redis.asyncio.connection.Connection)()
    ours = packing.pack_command(*args)  # type: ignore[arg-type]
    assert b"".join(ours) == b"".join(plain.pack_command(*args))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [True, None, object()])
def test_an_argument_neither_can_pack_is_a_data_error(bad: object) -> None:
    packing = hiredis_packing(redis.asyncio.connection.Connection)()
    with pytest.raises(redis.exceptions.DataError):
        packing.pack_command("SET", b"k", bad)  # type: ignore[arg-type]


async def test_the_client_packs_with_hiredis_for_plain_and_tls_urls() -> None:
    for url, base in (
        ("redis://127.0.0.1:1/0", redis.asyncio.connection.Connection),
        ("rediss://127.0.0.1:1/0", redis.asyncio.connection.SSLConnection),
    ):
        client = connect(RedisSettings(url=url))
        try:
            cls = client.connection_pool.connection_class
            assert issubclass(cls, base) and cls is not base
        finally:
            await client.aclose()
