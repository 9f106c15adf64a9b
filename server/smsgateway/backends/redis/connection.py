"""Connecting to Redis: settings, the client, persistence settings, replica acknowledgment.

* `RedisSettings`: everything `SMSGW_REDIS_*` configures; the URL (it may hold a
  password) never appears in a repr, `safe_url` is what logs show.
* `connect`: a `redis.asyncio.Redis` with the hiredis parser, timeouts, health
  checks and reconnection with exponential backoff and jitter.
* `ping`: the health check.
* `read_persistence`: the server's `appendonly` / `appendfsync`, tolerating a
  managed Redis that forbids `CONFIG`.
* `LuaScript`: a script run by `EVALSHA` in one round trip (reloaded after a
  Redis restart), optionally followed by `WAIT` on the same connection.
* `ReplicaWait` / `wait_for_replicas`: `WAIT` for replica acknowledgment.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio
import redis.exceptions
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from smsgateway.backends.redis.errors import translate
from smsgateway.backends.redis.multiplex import Multiplexer
from smsgateway.backends.redis.packing import hiredis_packing
from smsgateway.store_errors import StoreUnavailableError

__all__ = [
    "LuaScript",
    "RedisSettings",
    "ReplicaWait",
    "connect",
    "ping",
    "read_persistence",
    "safe_url",
    "wait_for_replicas",
]

log = logging.getLogger(__name__)


class Client(redis.asyncio.Redis):
    """The client every Redis port takes (bytes in, bytes out: `decode_responses=False`):
    redis-py's, plus `multiplexer`, one pipelined connection that `LuaScript` runs on
    (None: everything uses redis-py's pool, as for unix sockets)."""

    multiplexer: Multiplexer | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        if self.multiplexer is not None:
            await self.multiplexer.aclose()
        await super().aclose(close_connection_pool)


EncodedArg = bytes | str | int | float
"""What a Lua script's KEYS and ARGV may be built from."""


@dataclass(frozen=True)
class RedisSettings:
    """How to reach the shared Redis; read from `SMSGW_REDIS_*` at start."""

    url: str = field(repr=False)
    """SMSGW_REDIS_URL: `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS.
    May hold an ACL user and password, so it is never shown (see `safe_url`)."""
    password_file: Path | None = None
    """SMSGW_REDIS_PASSWORD_FILE: a file (a mounted Secret) holding the password; read at
    start, it overrides a password in the URL. Surrounding whitespace is ignored."""
    key_prefix: str = "smsgw"
    """SMSGW_REDIS_KEY_PREFIX: the first part of every key, so several gateways can share
    one Redis (`{<prefix>:<aggregate>}:...`)."""
    socket_timeout_seconds: float = 5.0
    """The longest wait for one reply (a blocking read must block for less)."""
    connect_timeout_seconds: float = 2.0
    """The longest wait for a new connection."""
    wait_replicas: int = 0
    """SMSGW_REDIS_WAIT_REPLICAS: replicas that must acknowledge a push before it is
    answered (`WAIT`); 0 answers once the primary has it."""
    wait_timeout_ms: int = 1000
    """How long `WAIT` may block; fewer acknowledgments in that time fail the write as
    unavailable (the provider retries the push)."""
    tls_ca_file: Path | None = None
    """SMSGW_REDIS_TLS_CA_FILE: the CA bundle that verifies the server (`rediss://` only);
    unset uses the system's trust store."""
    health_check_interval_seconds: int = 15
    """PING a pooled connection idle longer than this before reusing it."""
    retries: int = 3
    """Reconnect attempts (exponential backoff with jitter) before a command fails."""
    max_connections: int = 64
    """The most connections the client opens at once (callers wait for a free one)."""


def safe_url(url: str) -> str:
    """The URL without user or password: what logs and errors may show."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _password(settings: RedisSettings) -> str | None:
    if settings.password_file is None:
        return None
    try:
        return settings.password_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        # The path is configuration, not a secret; the content never appears.
        raise StoreUnavailableError(
            f"cannot read SMSGW_REDIS_PASSWORD_FILE {settings.password_file}: {exc.strerror}"
        ) from None


def connect(settings: RedisSettings) -> Client:
    """A client for `settings` (no connection is made until the first command).

    Reconnects by itself: a command failing with a connection error or timeout is
    retried `retries` times with exponential backoff and jitter, so a Redis restart
    costs the callers a short wait, then errors, never a process restart.
    """
    kwargs: dict[str, Any] = {
        "socket_timeout": settings.socket_timeout_seconds,
        "socket_connect_timeout": settings.connect_timeout_seconds,
        "socket_keepalive": True,
        "health_check_interval": settings.health_check_interval_seconds,
        "retry": Retry(ExponentialWithJitterBackoff(cap=1.0, base=0.05), settings.retries),
        "decode_responses": False,
        "client_name": "smsgateway",
    }
    # The URL's parts win over keyword arguments in `from_url`, so parse it here and
    # let the password file override the URL's password.
    kwargs.update(parse_url(settings.url))
    kwargs["connection_class"] = hiredis_packing(
        kwargs.get("connection_class", redis.asyncio.Connection)
    )
    password = _password(settings)
    if password is not None:
        kwargs["password"] = password
    if urlsplit(settings.url).scheme == "rediss" and settings.tls_ca_file is not None:
        kwargs["ssl_ca_certs"] = str(settings.tls_ca_file)
    pool = redis.asyncio.BlockingConnectionPool(
        max_connections=settings.max_connections,
        timeout=settings.socket_timeout_seconds,
        **kwargs,
    )
    client = Client(connection_pool=pool)
    client.auto_close_connection_pool = True  # as `from_pool`: the client owns its pool
    scheme = urlsplit(settings.url).scheme
    if scheme in ("redis", "rediss") and "path" not in kwargs:
        client.multiplexer = Multiplexer(
            kwargs.get("host", "localhost"),
            int(kwargs.get("port", 6379)),
            db=int(kwargs.get("db", 0) or 0),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            connect_timeout=settings.connect_timeout_seconds,
            command_timeout=settings.socket_timeout_seconds,
            retries=settings.retries,
            tls=_tls_context(kwargs) if scheme == "rediss" else None,
            linger_seconds=_MULTIPLEX_LINGER_SECONDS,
        )
    return client


_MULTIPLEX_LINGER_SECONDS = 0.002
"""How long the hot path's scripts wait for one another while others wait for replies (see
`Multiplexer`): at hundreds of sends per second, one write and one read then serve several
scripts (measured: 5–13 % less gateway CPU per single-recipient send at 1,100–1,300
sends/s, and a quarter less redis-server CPU), for at most 2 ms more per round trip; a
command with none in flight (a caller whose commands follow one another) goes at once."""

_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def _tls_context(kwargs: dict[str, Any]) -> ssl.SSLContext:
    """The TLS context of the pipelined connection, as redis-py's pool connects: the CA
    file (else the system's trust store), and the URL's `ssl_cert_reqs` and
    `ssl_check_hostname` when it sets them (by default the server's certificate and name
    are verified)."""
    context = ssl.create_default_context(cafile=kwargs.get("ssl_ca_certs"))
    reqs = kwargs.get("ssl_cert_reqs", ssl.CERT_REQUIRED)
    if isinstance(reqs, str):
        reqs = _CERT_REQS.get(reqs.lower(), ssl.CERT_REQUIRED)
    context.check_hostname = bool(kwargs.get("ssl_check_hostname", True)) and (
        reqs != ssl.CERT_NONE
    )
    context.verify_mode = reqs
    return context


async def read_persistence(client: Client) -> dict[str, str]:
    """The server's persistence settings: `appendonly` and `appendfsync`.

    `CONFIG GET` first; a managed Redis that forbids it answers through
    `INFO persistence` (which tells whether AOF is on, not its fsync policy); what
    cannot be read is "unknown". Raises `StoreUnavailableError` only when Redis
    cannot be reached at all.
    """
    result = {"appendonly": "unknown", "appendfsync": "unknown"}
    try:
        with translate("reading persistence settings"):
            for name in ("appendonly", "appendfsync"):
                value: dict[Any, Any] = await client.config_get(name)
                found = value.get(name.encode(), value.get(name))
                if found is not None:
                    result[name] = _text(found)
            return result
    except StoreUnavailableError as exc:
        if not isinstance(exc.__cause__, redis.exceptions.ResponseError):
            raise
        log.info("Redis refuses CONFIG GET; reading INFO persistence instead")
    try:
        with translate("reading INFO persistence"):
            info = await client.info("persistence")
        aof = info.get("aof_enabled")
        if aof is not None:
            result["appendonly"] = "yes" if str(aof) == "1" else "no"
    except StoreUnavailableError as exc:
        if not isinstance(exc.__cause__, redis.exceptions.ResponseError):
            raise
        log.info("Redis refuses INFO persistence; its durability is unknown")
    return result


async def ping(client: Client, settings: RedisSettings) -> None:
    """PING; raises `StoreUnavailableError` naming the server (never its password)."""
    try:
        with translate("PING"):
            await client.ping()
    except StoreUnavailableError as exc:
        raise StoreUnavailableError(
            f"Redis at {safe_url(settings.url)} does not answer: {exc}"
        ) from exc.__cause__


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class ReplicaWait:
    """`WAIT` after a write: `replicas` must acknowledge within `timeout_ms`."""

    replicas: int
    """How many replicas must have the write (0: none, nothing waits)."""
    timeout_ms: int
    """The longest wait."""

    @classmethod
    def of(cls, settings: RedisSettings) -> ReplicaWait | None:
        """The wait that `settings` ask for, or None when they ask for none."""
        if settings.wait_replicas <= 0:
            return None
        return cls(settings.wait_replicas, settings.wait_timeout_ms)

    def check(self, acknowledged: int) -> None:
        """Raise `StoreUnavailableError` unless enough replicas acknowledged."""
        if acknowledged < self.replicas:
            raise StoreUnavailableError(
                f"only {acknowledged} of {self.replicas} Redis replicas acknowledged "
                f"the write within {self.timeout_ms} ms"
            )


async def wait_for_replicas(
    pipe: redis.asyncio.client.Pipeline, wait: ReplicaWait, what: str
) -> list[Any]:
    """Execute `pipe` (its writes) followed by `WAIT`, on one connection; the writes' results.

    `WAIT` only counts the writes made on its own connection, which is why it must
    travel in the same pipeline as them. Raises `StoreUnavailableError` when fewer
    than `wait.replicas` acknowledged: the write is on the primary, but not as
    durable as configured, so the caller must not acknowledge it.
    """
    pipe.execute_command("WAIT", wait.replicas, wait.timeout_ms)
    with translate(what):
        results: list[Any] = await pipe.execute()
    wait.check(int(results[-1]))
    return results[:-1]


class LuaScript:
    """A Lua script run in one round trip: `EVALSHA`, then `EVAL` once if Redis lost it.

    Redis runs a script atomically. Every script starts with a `#!lua` line (Redis
    7+): one that may write is refused as a whole when Redis is at `maxmemory` (a
    `StoreFullError`), never stopped half-way; `writes=False` lets a read-only
    script run even then. `run` translates failures into store errors.
    """

    def __init__(self, source: str, what: str, *, writes: bool = True) -> None:
        """`what` names the operation in error messages (e.g. "idempotency claim")."""
        source = ("#!lua\n" if writes else "#!lua flags=no-writes\n") + source.lstrip("\n")
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        self.what = what

    async def run(
        self,
        client: Client,
        keys: Sequence[EncodedArg],
        args: Sequence[EncodedArg],
        *,
        wait: ReplicaWait | None = None,
    ) -> Any:
        """The script's reply; with `wait`, only after enough replicas have the write."""
        if wait is None:
            multiplexer = getattr(client, "multiplexer", None)
            with translate(self.what):
                if multiplexer is not None:
                    try:
                        return await multiplexer.execute(
                            "EVALSHA", self.sha, len(keys), *keys, *args
                        )
                    except redis.exceptions.NoScriptError:
                        return await multiplexer.execute(
                            "EVAL", self.source, len(keys), *keys, *args
                        )
                try:
                    return await client.evalsha(self.sha, len(keys), *keys, *args)
                except redis.exceptions.NoScriptError:
                    return await client.eval(self.source, len(keys), *keys, *args)
        for attempt in ("evalsha", "eval"):
            pipe = client.pipeline(transaction=False)
            if attempt == "evalsha":
                pipe.evalsha(self.sha, len(keys), *keys, *args)
            else:
                pipe.eval(self.source, len(keys), *keys, *args)
            try:
                return (await wait_for_replicas(pipe, wait, self.what))[0]
            except StoreUnavailableError as exc:
                if not isinstance(exc.__cause__, redis.exceptions.NoScriptError):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
