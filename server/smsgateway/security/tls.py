"""TLS on the gRPC port: server credentials that follow the certificate files, optional mTLS.

gRPC asks `ReloadingCredentials` for the certificate configuration at every new
TLS handshake; it answers "unchanged" after a cheap `stat` of the files (at most
once a second), and loads them again when they changed — cert-manager or a
Secret update rotates certificates without a restart. A new pair is checked
(`ssl.load_cert_chain`, the key must match the certificate) before it is used; a
bad or half-written pair is logged and the previous one stays in use.

With a client CA, clients must present a certificate signed by it (mTLS).
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import grpc

from smsgateway.config import ConfigError

log = logging.getLogger(__name__)

_CHECK_INTERVAL: Final = 1.0
_MAX_PEM_BYTES: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Where the gRPC port's certificate, key and (optional) client CA live."""

    cert_file: Path
    """PEM certificate chain, leaf first."""
    key_file: Path
    """PEM private key of the leaf certificate."""
    client_ca_file: Path | None = None
    """PEM CA bundle that signs client certificates; None: no client certificates."""


@dataclass(frozen=True, slots=True)
class _Loaded:
    stamp: tuple[tuple[int, int, int, int], ...]
    configuration: grpc.ServerCertificateConfiguration


def _stamp(files: TlsFiles) -> tuple[tuple[int, int, int, int], ...]:
    paths = [files.cert_file, files.key_file]
    if files.client_ca_file is not None:
        paths.append(files.client_ca_file)
    out = []
    for path in paths:
        st = os.stat(path)
        out.append((st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(out)


def _read(path: Path) -> bytes:
    with path.open("rb") as f:
        data = f.read(_MAX_PEM_BYTES + 1)
    if len(data) > _MAX_PEM_BYTES:
        raise ValueError(f"{path} is larger than {_MAX_PEM_BYTES} bytes")
    return data


def load(files: TlsFiles) -> tuple[bytes, bytes, bytes | None]:
    """Read and check the files; raise `ConfigError` saying what is wrong (never key bytes)."""
    try:
        cert, key = _read(files.cert_file), _read(files.key_file)
        ca = _read(files.client_ca_file) if files.client_ca_file is not None else None
    except (OSError, ValueError) as exc:
        raise ConfigError([f"TLS: cannot read a certificate file: {exc}"]) from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(files.cert_file, files.key_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            [
                f"TLS: {files.cert_file} and {files.key_file} are not a PEM certificate and "
                f"its private key ({exc.__class__.__name__}: {getattr(exc, 'reason', '') or exc})"
            ]
        ) from None
    if ca is not None:
        try:
            context.load_verify_locations(cadata=ca.decode("ascii"))
        except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(
                [f"TLS: {files.client_ca_file} is not a PEM CA bundle ({exc.__class__.__name__})"]
            ) from None
    return cert, key, ca


class ReloadingCredentials:
    """gRPC server credentials that pick up changed certificate files without a restart."""

    def __init__(self, files: TlsFiles) -> None:
        """Loads and checks the files now: raises `ConfigError` when they are unusable."""
        self._files = files
        self._lock = threading.Lock()
        self._loaded = self._load()
        self._next_check = time.monotonic() + _CHECK_INTERVAL
        self._rejected: tuple[tuple[int, int, int, int], ...] | None = None
        self.reloads = 0

    def _load(self) -> _Loaded:
        stamp = _stamp(self._files)
        cert, key, ca = load(self._files)
        configuration = grpc.ssl_server_certificate_configuration(
            [(key, cert)], root_certificates=ca
        )
        return _Loaded(stamp, configuration)

    def server_credentials(self) -> grpc.ServerCredentials:
        """Credentials for `server.add_secure_port`."""
        return grpc.dynamic_ssl_server_credentials(
            self._loaded.configuration,
            self._fetch,
            require_client_authentication=self._files.client_ca_file is not None,
        )

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by gRPC per handshake (any thread): the new configuration, or None."""
        now = time.monotonic()
        if now < self._next_check:
            return None
        with self._lock:
            self._next_check = now + _CHECK_INTERVAL
            try:
                stamp = _stamp(self._files)
            except OSError:
                return None  # mid-rotation (a file briefly missing): keep the current pair
            if stamp == self._loaded.stamp or stamp == self._rejected:
                return None
            try:
                loaded = self._load()
            except (ConfigError, OSError) as exc:
                self._rejected = stamp
                log.warning(
                    "TLS files changed but are not usable; the previous certificate stays",
                    extra={"problems": getattr(exc, "problems", [str(exc)])},
                )
                return None
            self._loaded = loaded
            self.reloads += 1
            log.info("TLS certificate reloaded", extra={"cert_file": str(self._files.cert_file)})
            return loaded.configuration
