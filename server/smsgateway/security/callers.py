"""The callers file: who may call the gateway, with which permissions, signs and limits.

```yaml
callers:
  - name: billing                # in logs, metrics and the audit trail
    key_sha256: "<64 hex chars>" # SHA-256 of the key; keys themselves are never stored
    permissions: [send, read_events, manage_suppressions]   # or [admin]
    signs: ["圆通快递"]            # signs it may send with and read events of; "*" = any
    rate_limit_per_second: 50     # optional: send RPCs per second (token bucket)
    daily_recipient_quota: 100000 # optional: recipients per day
```

`parse_callers` checks everything and reports every problem at once (entry, field,
why) in a `CallersFileError`; a file that parses is fully valid. Unknown keys are
errors: a misspelt `rate_limit` must not silently mean "no limit".
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from smsgateway.config import ConfigError
from smsgateway.messaging import validate_sign
from smsgateway.security.keys import DIGEST_HEX_LENGTH, digest, digests_equal

MAX_FILE_BYTES: Final = 1024 * 1024
MAX_CALLERS: Final = 1000
"""Bounds the `caller` metric label as well as the file."""
MAX_SIGNS_PER_CALLER: Final = 1000
CALLER_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""Names are label values and group-name prefixes: no `:`, `.`, spaces or quotes."""
ANY_SIGN: Final = "*"
ANONYMOUS_NAME: Final = "anonymous"
"""The caller of a gateway without a callers file (loopback or explicitly unauthenticated)."""

_HEX = re.compile(r"[0-9a-fA-F]{64}")
_FIELDS: Final = frozenset(
    {"name", "key_sha256", "permissions", "signs", "rate_limit_per_second", "daily_recipient_quota"}
)


class Permission(enum.StrEnum):
    """What a caller may do. `admin` implies every other permission and every sign."""

    SEND = "send"
    """SendSms, SendTemplateSms (with its signs) and GetBalance."""
    READ_EVENTS = "read_events"
    """Streams, lists and acks of reports and uplinks, GetSendStatus (of its signs)."""
    MANAGE_SUPPRESSIONS = "manage_suppressions"
    """List, add and remove suppressions (of its signs)."""
    ADMIN = "admin"
    """Everything, every sign, every caller's events."""


class CallersFileError(ConfigError):
    """The callers file cannot be used; `problems` says every reason."""


@dataclass(frozen=True, slots=True)
class Caller:
    """One authenticated caller, as declared in the callers file."""

    name: str
    """Shown in logs, metrics (`caller` label) and the audit trail."""
    key_digest: bytes
    """SHA-256 of its key (32 bytes)."""
    permissions: frozenset[Permission]
    """What it may do; `admin` means everything."""
    signs: frozenset[str]
    """Signs it may send with and read events of; contains `*` for any sign."""
    rate_limit_per_second: float | None = None
    """Send RPCs per second (token bucket, burst of one second); None: no limit."""
    daily_recipient_quota: int | None = None
    """Recipients per day (provider's calendar day); None: no quota."""

    @property
    def is_admin(self) -> bool:
        """True for `admin`: every permission, every sign, every caller's events."""
        return Permission.ADMIN in self.permissions

    @property
    def any_sign(self) -> bool:
        """True when the caller may use and read every sign (admin, or `*`)."""
        return self.is_admin or ANY_SIGN in self.signs

    def allows(self, permission: Permission) -> bool:
        """True when the caller holds `permission` (admin holds all)."""
        return self.is_admin or permission in self.permissions

    def may_use_sign(self, sign: str) -> bool:
        """True when the caller may send with, and read the events of, `sign`."""
        return self.any_sign or sign in self.signs


ANONYMOUS: Final = Caller(
    name=ANONYMOUS_NAME,
    key_digest=b"",
    permissions=frozenset({Permission.ADMIN}),
    signs=frozenset({ANY_SIGN}),
)
"""Every call of a gateway that runs without a callers file."""


class CallerDirectory:
    """An immutable set of callers, looked up by key.

    Lookup hashes the presented key with SHA-256, finds the candidate by digest and
    confirms it with a constant-time comparison. Timing can at most reveal something
    about the digest of what the attacker sent, never about a stored key.
    """

    __slots__ = ("_by_digest", "_by_name")

    def __init__(self, callers: Iterable[Caller]) -> None:
        self._by_digest: dict[bytes, Caller] = {}
        self._by_name: dict[str, Caller] = {}
        for caller in callers:
            self._by_digest[caller.key_digest] = caller
            self._by_name[caller.name] = caller

    def authenticate(self, key: str) -> Caller | None:
        """The caller holding `key`, or None."""
        presented = digest(key)
        candidate = self._by_digest.get(presented)
        if candidate is None or not digests_equal(candidate.key_digest, presented):
            return None
        return candidate

    def by_digest(self, key_digest: bytes) -> Caller | None:
        """The caller whose key has this digest, or None (e.g. removed by a reload)."""
        return self._by_digest.get(key_digest)

    def by_name(self, name: str) -> Caller | None:
        """The caller with this name, or None."""
        return self._by_name.get(name)

    @property
    def names(self) -> frozenset[str]:
        """Every caller's name."""
        return frozenset(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


def load_callers(path: Path) -> CallerDirectory:
    """Read and validate the callers file; raise `CallersFileError` naming every problem."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CallersFileError([f"cannot read the callers file {path}: {exc.strerror}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise CallersFileError([f"the callers file {path} is larger than {MAX_FILE_BYTES} bytes"])
    return parse_callers(data, source=str(path))


def parse_callers(data: bytes | str, *, source: str = "callers file") -> CallerDirectory:
    """Validate callers-file text; raise `CallersFileError` naming every problem."""
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise CallersFileError([f"{source} is not valid YAML{line}"]) from None
    problems: list[str] = []
    if not isinstance(document, Mapping) or set(document) != {"callers"}:
        raise CallersFileError([f"{source} must be a mapping with one key, `callers`"])
    entries = document["callers"]
    if not isinstance(entries, list) or not entries:
        raise CallersFileError([f"{source}: `callers` must be a non-empty list"])
    if len(entries) > MAX_CALLERS:
        raise CallersFileError([f"{source}: at most {MAX_CALLERS} callers, not {len(entries)}"])
    callers: list[Caller] = []
    names: set[str] = set()
    digests: set[bytes] = set()
    for index, entry in enumerate(entries):
        caller = _parse_entry(index, entry, problems)
        if caller is None:
            continue
        where = f"callers[{index}] ({caller.name})"
        if caller.name in names:
            problems.append(f"{where}: the name is used by another caller")
        if caller.key_digest in digests:
            problems.append(f"{where}: key_sha256 is used by another caller (one key per caller)")
        names.add(caller.name)
        digests.add(caller.key_digest)
        callers.append(caller)
    if problems:
        raise CallersFileError([f"{source}: {p}" for p in problems])
    return CallerDirectory(callers)


def _parse_entry(index: int, entry: Any, problems: list[str]) -> Caller | None:
    where = f"callers[{index}]"
    if not isinstance(entry, Mapping):
        problems.append(f"{where} must be a mapping")
        return None
    before = len(problems)
    unknown = sorted(str(k) for k in entry if k not in _FIELDS)
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)}")
    name = entry.get("name")
    if not isinstance(name, str) or not CALLER_NAME.fullmatch(name):
        problems.append(f"{where}.name must be 1 to 64 characters of [A-Za-z0-9_-]")
        name = ""
    elif name == ANONYMOUS_NAME:
        problems.append(f"{where}.name {name!r} is reserved")
    else:
        where = f"{where} ({name})"
    key_hex = entry.get("key_sha256")
    key_digest = b""
    if not isinstance(key_hex, str) or not _HEX.fullmatch(key_hex):
        problems.append(
            f"{where}.key_sha256 must be {DIGEST_HEX_LENGTH} hex characters (the SHA-256 of "
            "the key; `smsgateway callers new` prints it)"
        )
    else:
        key_digest = bytes.fromhex(key_hex)
    permissions = _permissions(where, entry.get("permissions"), problems)
    signs = _signs(where, entry.get("signs"), permissions, problems)
    rate = entry.get("rate_limit_per_second")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1e6
    ):
        problems.append(f"{where}.rate_limit_per_second must be a number > 0 (at most 1e6)")
        rate = None
    quota = entry.get("daily_recipient_quota")
    if quota is not None and (
        isinstance(quota, bool) or not isinstance(quota, int) or not 0 < quota <= 10**12
    ):
        problems.append(f"{where}.daily_recipient_quota must be a whole number > 0")
        quota = None
    if len(problems) > before:
        return None
    return Caller(
        name=name,
        key_digest=key_digest,
        permissions=permissions,
        signs=signs,
        rate_limit_per_second=float(rate) if rate is not None else None,
        daily_recipient_quota=quota,
    )


def _permissions(where: str, value: Any, problems: list[str]) -> frozenset[Permission]:
    known = ", ".join(p.value for p in Permission)
    if not isinstance(value, list) or not value:
        problems.append(f"{where}.permissions must be a non-empty list of: {known}")
        return frozenset()
    permissions: set[Permission] = set()
    for item in value:
        try:
            permissions.add(Permission(item))
        except ValueError:
            problems.append(f"{where}.permissions: {str(item)[:40]!r} is not one of: {known}")
    return frozenset(permissions)


def _signs(
    where: str, value: Any, permissions: frozenset[Permission], problems: list[str]
) -> frozenset[str]:
    if value is None and Permission.ADMIN in permissions:
        return frozenset({ANY_SIGN})
    if not isinstance(value, list) or not value or len(value) > MAX_SIGNS_PER_CALLER:
        problems.append(
            f'{where}.signs must be a list of 1 to {MAX_SIGNS_PER_CALLER} signs (or ["*"])'
        )
        return frozenset()
    signs: set[str] = set()
    for item in value:
        if item == ANY_SIGN:
            signs.add(ANY_SIGN)
            continue
        if not isinstance(item, str):
            problems.append(f"{where}.signs: {str(item)[:40]!r} is not a text")
            continue
        violations = validate_sign(item, "sign")
        if violations:
            problems.append(f"{where}.signs: {violations[0].description}")
            continue
        signs.add(item)
    return frozenset(signs)
