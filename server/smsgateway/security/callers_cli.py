"""`smsgateway callers new | check`: make a key and its callers-file entry; validate a file.

`new` prints the fresh key once (it is never stored: the file holds its SHA-256) and
the YAML entry to add; with `--append FILE` it adds the entry itself (creating the
file, mode 0600) after checking that the whole file stays valid, and prints only
the key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from smsgateway.security.callers import CallersFileError, Permission, load_callers, parse_callers
from smsgateway.security.keys import hex_digest, new_key


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `callers` subcommands."""
    sub = parser.add_subparsers(dest="callers_command", required=True)
    new = sub.add_parser("new", help="make a caller key; print it once with its YAML entry")
    new.add_argument("--name", required=True, help="the caller's name (logs, metrics, audit)")
    new.add_argument(
        "--permissions",
        required=True,
        help=f"comma-separated: {', '.join(p.value for p in Permission)}",
    )
    new.add_argument(
        "--signs", default="", help='comma-separated signs it may use, or "*" (admin: any)'
    )
    new.add_argument("--rate-limit", type=float, help="send RPCs per second (token bucket)")
    new.add_argument("--daily-quota", type=int, help="recipients per day")
    new.add_argument(
        "--append", type=Path, metavar="FILE", help="add the entry to this callers file"
    )
    check = sub.add_parser("check", help="validate a callers file and list its callers")
    check.add_argument("file", type=Path)


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run a `callers` subcommand; 0 on success, 2 on bad input."""
    if args.callers_command == "check":
        try:
            directory = load_callers(args.file)
        except CallersFileError as exc:
            print(exc, file=err)
            return 2
        for name in sorted(directory.names):
            caller = directory.by_name(name)
            assert caller is not None
            permissions = ",".join(sorted(p.value for p in caller.permissions))
            print(f"{name}: {permissions}; signs {','.join(sorted(caller.signs))}", file=out)
        return 0
    key = new_key()
    entry = _entry(args, hex_digest(key))
    try:
        parse_callers("callers:\n" + entry, source="the new entry")
    except CallersFileError as exc:
        print(exc, file=err)
        return 2
    if args.append is None:
        print(f"# The key of caller {args.name!r}: shown once, store it now.", file=out)
        print(key, file=out)
        print("# Its entry in the callers file (SMSGW_CALLERS_FILE):", file=out)
        print(entry, end="", file=out)
        return 0
    return _append(args.append, entry, key, args.name, out, err)


def _append(path: Path, entry: str, key: str, name: str, out: TextIO, err: TextIO) -> int:
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    text = (existing.rstrip("\n") + "\n" if existing.strip() else "callers:\n") + entry
    try:
        parse_callers(text, source=str(path))
    except CallersFileError as exc:
        print(exc, file=err)
        return 2
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"# caller {name!r} added to {path}; its key (shown once, store it now):", file=err)
    print(key, file=out)
    return 0


def _entry(args: argparse.Namespace, key_sha256: str) -> str:
    permissions = [p.strip() for p in args.permissions.split(",") if p.strip()]
    signs = [s.strip() for s in args.signs.split(",") if s.strip()]
    lines = [
        f"  - name: {json.dumps(args.name, ensure_ascii=False)}",
        f'    key_sha256: "{key_sha256}"',
        f"    permissions: [{', '.join(json.dumps(p) for p in permissions)}]",
    ]
    if signs or "admin" not in permissions:
        lines.append(f"    signs: [{', '.join(json.dumps(s, ensure_ascii=False) for s in signs)}]")
    if args.rate_limit is not None:
        lines.append(f"    rate_limit_per_second: {args.rate_limit:g}")
    if args.daily_quota is not None:
        lines.append(f"    daily_recipient_quota: {args.daily_quota}")
    return "\n".join(lines) + "\n"
