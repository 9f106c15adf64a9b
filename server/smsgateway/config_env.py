"""Reading `Settings` from `SMSGW_*` environment variables (`Settings.from_env`).

Each variable is parsed and checked where it is read; problems are collected, not
raised one by one, and `settings()` raises one `ConfigError` naming all of them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from smsgateway.config import (
    SECRET_MAX,
    ConfigError,
    Settings,
    is_loopback_host,
    unprotected_push_problem,
)
from smsgateway.security.windows import DEFAULT_VERIFICATION_WINDOWS, parse_windows

__all__ = ["EnvReader"]

T = TypeVar("T")


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


class EnvReader:
    """Reads every `SMSGW_*` variable into `Settings`, collecting each problem found."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def parse(self, name: str, default: T, convert: Callable[[str], T], what: str) -> T:
        text = self.raw(name)
        if text is None:
            return default
        try:
            return convert(text)
        except ValueError:
            self.problems.append(f"{name}={text!r} is not {what}")
            return default

    def port(self, name: str, default: int) -> int:
        value = self.parse(name, default, int, "a port number")
        if not 0 <= value <= 65535:
            self.problems.append(f"{name}={value} is not a port number (0-65535)")
        return value

    def positive(self, name: str, default: float, *, allow_zero: bool = False) -> float:
        value = self.parse(name, default, float, "a number")
        if value < 0 or (value == 0 and not allow_zero):
            self.problems.append(f"{name}={value} must be {'≥ 0' if allow_zero else '> 0'}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        text = self.raw(name)
        if text is None:
            return default
        if text.lower() in {"1", "true", "yes", "on"}:
            return True
        if text.lower() in {"0", "false", "no", "off"}:
            return False
        self.problems.append(f"{name}={text!r} is not a boolean (true/false)")
        return default

    def csv(self, name: str) -> tuple[str, ...] | None:
        text = self.raw(name)
        if text is None:
            return None
        return tuple(part.strip() for part in text.split(",") if part.strip())

    def path(self, name: str) -> str:
        value = self.raw(name) or ""
        if value and (not value.startswith("/") or value.endswith("/") or "//" in value):
            self.problems.append(f"{name}={value!r} must be an absolute path like /callbacks/x")
        return value

    def redis(
        self, url: str | None, password_file: str | None, prefix: str, ca_file: str | None
    ) -> None:
        # The URL may hold a password: problems name the variable, never echo the value.
        if url is not None and not url.startswith(("redis://", "rediss://")):
            self.problems.append("SMSGW_REDIS_URL must start with redis:// or rediss:// (TLS)")
        if password_file is not None and not Path(password_file).is_file():
            self.problems.append(f"SMSGW_REDIS_PASSWORD_FILE={password_file!r} is not a file")
        if ca_file is not None:
            if not Path(ca_file).is_file():
                self.problems.append(f"SMSGW_REDIS_TLS_CA_FILE={ca_file!r} is not a file")
            if url is not None and not url.startswith("rediss://"):
                self.problems.append("SMSGW_REDIS_TLS_CA_FILE needs a rediss:// SMSGW_REDIS_URL")
        if len(prefix) > 64 or not all(c.isascii() and c.isprintable() for c in prefix):
            self.problems.append("SMSGW_REDIS_KEY_PREFIX must be at most 64 printable ASCII chars")
        elif any(c in prefix for c in "{} "):
            self.problems.append("SMSGW_REDIS_KEY_PREFIX must not contain '{', '}' or spaces")

    def file(self, name: str) -> Path | None:
        text = self.raw(name)
        if text is None:
            return None
        if not Path(text).is_file():
            self.problems.append(f"{name}={text!r} is not a readable file")
        return Path(text)

    def security(self, settings: Settings) -> Settings:
        """The callers, TLS and limit settings, and the secure-by-default bind check."""
        callers_file = self.file("SMSGW_CALLERS_FILE")
        allow = self.flag("SMSGW_ALLOW_UNAUTHENTICATED", False)
        cert, key = self.file("SMSGW_TLS_CERT_FILE"), self.file("SMSGW_TLS_KEY_FILE")
        client_ca = self.file("SMSGW_TLS_CLIENT_CA_FILE")
        if (cert is None) != (key is None):
            self.problems.append("SMSGW_TLS_CERT_FILE and SMSGW_TLS_KEY_FILE go together")
        if client_ca is not None and cert is None:
            self.problems.append("SMSGW_TLS_CLIENT_CA_FILE needs SMSGW_TLS_CERT_FILE/_KEY_FILE")
        windows = self.parse(
            "SMSGW_VERIFICATION_CODE_LIMITS",
            DEFAULT_VERIFICATION_WINDOWS,
            parse_windows,
            "a list of COUNT/DURATION windows such as 1/60s,5/1h,10/1d (or off)",
        )
        ceiling = self.positive("SMSGW_PROVIDER_MAX_SENDS_PER_SECOND", 0.0, allow_zero=True)
        if callers_file is None and not allow and not is_loopback_host(settings.bind_host):
            self.problems.append(
                f"SMSGW_BIND_HOST={settings.bind_host!r} serves beyond this machine, but no "
                "SMSGW_CALLERS_FILE says who may call: anyone reaching the port could send "
                "SMS at your expense. Set SMSGW_CALLERS_FILE (`smsgateway callers new` makes "
                "a key), bind to 127.0.0.1, or set SMSGW_ALLOW_UNAUTHENTICATED=true"
            )
        return dataclasses.replace(
            settings,
            callers_file=callers_file,
            allow_unauthenticated=allow,
            tls_cert_file=cert,
            tls_key_file=key,
            tls_client_ca_file=client_ca,
            verification_code_limits=windows,
            provider_max_sends_per_second=ceiling,
        )

    def pushes(self, settings: Settings) -> Settings:
        """The push-endpoint bounds, and the refusal of unprotected pushes beyond loopback."""
        d = Settings()
        allow = self.flag("SMSGW_ALLOW_UNAUTHENTICATED_PUSH", d.allow_unauthenticated_push)
        timeout = self.positive("SMSGW_PUSH_READ_TIMEOUT_SECONDS", d.push_read_timeout_seconds)
        concurrent = self.positive("SMSGW_MAX_CONCURRENT_PUSHES", d.max_concurrent_pushes)
        lenient = self.positive(
            "SMSGW_PUSH_LENIENT_MAX_BYTES", d.push_lenient_max_bytes, allow_zero=True
        )
        letters = self.positive("SMSGW_DEAD_LETTER_MAX_COUNT", d.dead_letter_max_count)
        letter_bytes = self.positive("SMSGW_DEAD_LETTER_MAX_BYTES", d.dead_letter_max_bytes)
        settings = dataclasses.replace(
            settings,
            allow_unauthenticated_push=allow,
            push_read_timeout_seconds=timeout,
            max_concurrent_pushes=max(1, int(concurrent)),
            push_lenient_max_bytes=int(lenient),
            dead_letter_max_count=max(1, int(letters)),
            dead_letter_max_bytes=max(1, int(letter_bytes)),
        )
        problem = unprotected_push_problem(settings)
        if problem is not None:
            self.problems.append(problem)
        return settings

    def settings(self) -> Settings:
        d = Settings()
        upstream_url = self.raw("SMSGW_UPSTREAM_URL")
        app_id = self.raw("SMSGW_APP_ID") or ""
        secret = self.raw("SMSGW_SECRET") or ""
        if upstream_url is not None:
            if not upstream_url.startswith(("http://", "https://")):
                self.problems.append("SMSGW_UPSTREAM_URL must start with http:// or https://")
            if not app_id:
                self.problems.append("SMSGW_APP_ID is required when SMSGW_UPSTREAM_URL is set")
            if not secret:
                self.problems.append("SMSGW_SECRET is required when SMSGW_UPSTREAM_URL is set")
        if len(app_id) > 10:
            self.problems.append("SMSGW_APP_ID is longer than 10 characters")
        if len(secret) > SECRET_MAX:
            # The provider issues secrets longer than its own table says (its example has
            # 32 characters): accept what it issues, within a sane bound. Never echoed.
            self.problems.append(f"SMSGW_SECRET is longer than {SECRET_MAX} characters")
        log_level = (self.raw("SMSGW_LOG_LEVEL") or d.log_level).upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            self.problems.append(f"SMSGW_LOG_LEVEL={log_level!r} is not DEBUG/INFO/WARNING/ERROR")
        redis_url = self.raw("SMSGW_REDIS_URL")
        redis_password_file = self.raw("SMSGW_REDIS_PASSWORD_FILE")
        redis_key_prefix = self.raw("SMSGW_REDIS_KEY_PREFIX") or d.redis_key_prefix
        redis_tls_ca_file = self.raw("SMSGW_REDIS_TLS_CA_FILE")
        self.redis(redis_url, redis_password_file, redis_key_prefix, redis_tls_ca_file)
        networks = self.csv("SMSGW_CALLBACK_ALLOWED_NETWORKS") or ()
        for net in networks:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                self.problems.append(f"SMSGW_CALLBACK_ALLOWED_NETWORKS: {net!r} is not a CIDR")
        report_path = self.path("SMSGW_REPORT_CALLBACK_PATH") or d.report_callback_path
        uplink_path = self.path("SMSGW_UPLINK_CALLBACK_PATH") or d.uplink_callback_path
        if report_path == uplink_path:
            self.problems.append("the report and uplink callback paths must differ")
        codes = self.csv("SMSGW_TOKEN_REJECTED_CODES")
        keywords = self.csv("SMSGW_OPT_OUT_KEYWORDS")
        settings = Settings(
            upstream_url=upstream_url.rstrip("/") if upstream_url else None,
            app_id=app_id,
            secret=secret,
            bind_host=self.raw("SMSGW_BIND_HOST") or d.bind_host,
            grpc_port=self.port("SMSGW_GRPC_PORT", d.grpc_port),
            http_port=self.port("SMSGW_HTTP_PORT", d.http_port),
            metrics_port=self.port("SMSGW_METRICS_PORT", d.metrics_port),
            sandbox_port=self.port("SMSGW_SANDBOX_PORT", d.sandbox_port),
            data_dir=Path(self.raw("SMSGW_DATA_DIR") or d.data_dir),
            log_level=log_level,
            redis_url=redis_url,
            redis_password_file=Path(redis_password_file) if redis_password_file else None,
            redis_key_prefix=redis_key_prefix,
            redis_wait_replicas=int(
                self.positive("SMSGW_REDIS_WAIT_REPLICAS", d.redis_wait_replicas, allow_zero=True)
            ),
            redis_tls_ca_file=Path(redis_tls_ca_file) if redis_tls_ca_file else None,
            shutdown_grace_seconds=self.positive(
                "SMSGW_SHUTDOWN_GRACE_SECONDS", d.shutdown_grace_seconds, allow_zero=True
            ),
            max_concurrent_calls=int(
                self.positive("SMSGW_MAX_CONCURRENT_CALLS", d.max_concurrent_calls)
            ),
            idempotency_ttl_seconds=self.positive(
                "SMSGW_IDEMPOTENCY_TTL_SECONDS", d.idempotency_ttl_seconds
            ),
            upstream_timeout_seconds=self.positive(
                "SMSGW_UPSTREAM_TIMEOUT_SECONDS", d.upstream_timeout_seconds
            ),
            token_refresh_margin_seconds=self.positive(
                "SMSGW_TOKEN_REFRESH_MARGIN_SECONDS",
                d.token_refresh_margin_seconds,
                allow_zero=True,
            ),
            token_rejected_codes=frozenset(codes) if codes else d.token_rejected_codes,
            provider_utc_offset_hours=self.parse(
                "SMSGW_PROVIDER_UTC_OFFSET_HOURS", d.provider_utc_offset_hours, float, "a number"
            ),
            balance_refresh_seconds=self.positive(
                "SMSGW_BALANCE_REFRESH_SECONDS", d.balance_refresh_seconds, allow_zero=True
            ),
            balance_alert_threshold=self.parse(
                "SMSGW_BALANCE_ALERT_THRESHOLD", d.balance_alert_threshold, _decimal, "a number"
            ),
            report_callback_path=report_path,
            uplink_callback_path=uplink_path,
            callback_token=self.raw("SMSGW_CALLBACK_TOKEN"),
            callback_allowed_networks=networks,
            max_push_bytes=int(self.positive("SMSGW_MAX_PUSH_BYTES", d.max_push_bytes)),
            max_push_items=int(self.positive("SMSGW_MAX_PUSH_ITEMS", d.max_push_items)),
            callback_trust_forwarded_for=self.flag(
                "SMSGW_CALLBACK_TRUST_FORWARDED_FOR", d.callback_trust_forwarded_for
            ),
            poll_enabled=self.flag("SMSGW_POLL_ENABLED", d.poll_enabled),
            poll_interval_seconds=self.positive(
                "SMSGW_POLL_INTERVAL_SECONDS", d.poll_interval_seconds
            ),
            poll_sign=self.raw("SMSGW_POLL_SIGN"),
            retention_days=self.positive("SMSGW_RETENTION_DAYS", d.retention_days),
            retention_max_events=int(
                self.positive("SMSGW_RETENTION_MAX_EVENTS", d.retention_max_events)
            ),
            max_consumer_groups=int(
                self.positive("SMSGW_MAX_CONSUMER_GROUPS", d.max_consumer_groups)
            ),
            consumer_group_idle_days=self.positive(
                "SMSGW_CONSUMER_GROUP_IDLE_DAYS", d.consumer_group_idle_days
            ),
            store_check_seconds=self.positive("SMSGW_STORE_CHECK_SECONDS", d.store_check_seconds),
            leader_lease_seconds=self.positive(
                "SMSGW_LEADER_LEASE_SECONDS", d.leader_lease_seconds
            ),
            opt_out_keywords=frozenset(keywords) if keywords else d.opt_out_keywords,
            instrumentation=self.flag("SMSGW_INSTRUMENTATION", d.instrumentation),
        )
        if settings.poll_enabled and not settings.poll_sign:
            self.problems.append("SMSGW_POLL_SIGN is required when SMSGW_POLL_ENABLED is true")
        settings = self.security(settings)
        settings = self.pushes(settings)
        if self.problems:
            raise ConfigError(self.problems)
        return settings
