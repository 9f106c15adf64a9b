"""The callers file (validation, reload on change and SIGHUP, bad reloads), keys, the CLI."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import grpc
import pytest

from smsgateway.cli import main
from smsgateway.config import ConfigError
from smsgateway.security.callers import CallersFileError, Permission, parse_callers
from smsgateway.security.keys import bearer_key, hex_digest, new_key
from smsgateway.security.registry import CallerRegistry
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.callers import CALLERS, SIGN_A, callers_yaml
from testkit.rich_status import details_of
from testkit.secure_gateway import SecureGateway, bearer, report

DIGEST = "ab" * 32


def entry(**fields: object) -> str:
    values: dict[str, object] = {"name": "x", "key_sha256": DIGEST, "permissions": ["send"]}
    values.update(fields)
    import json

    body = "\n".join(f"    {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in values.items())
    return "callers:\n  -" + body[3:] + "\n"


def test_keys_are_long_random_and_url_safe() -> None:
    keys = {new_key() for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert key.startswith("smsgw_") and len(key) == 6 + 43
        assert all(c.isalnum() or c in "-_" for c in key[6:])
    assert hex_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("Bearer k1", "k1"),
        ("bearer  k1 ", "k1"),
        ("Basic k1", None),
        ("Bearer", None),
        ("Bearer a b", None),
        ("Bearer " + "k" * 600, None),
        ("Bearer ключ", None),
        (b"Bearer k1", "k1"),
        (b"Bearer \xff", None),
        (None, None),
    ],
)
def test_bearer_parsing(value: str | bytes | None, key: str | None) -> None:
    assert bearer_key(value) == key


def test_a_valid_file_parses() -> None:
    directory = parse_callers(callers_yaml({n: f"key-{n}" for n in CALLERS}), source="callers.yaml")
    assert directory.names == frozenset(CALLERS)
    tenant = directory.authenticate("key-tenant_a")
    assert tenant is not None and tenant.name == "tenant_a"
    assert tenant.allows(Permission.SEND) and not tenant.allows(Permission.ADMIN)
    assert tenant.may_use_sign(SIGN_A) and not tenant.may_use_sign("别的")
    assert directory.authenticate("key-nobody") is None
    limited = directory.by_name("limited")
    assert limited is not None
    assert (limited.rate_limit_per_second, limited.daily_recipient_quota) == (2.0, 5)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("callers: [", "not valid YAML"),
        ("- a\n", "one key, `callers`"),
        ("callers: []\n", "non-empty list"),
        (entry(name="has space"), ".name must be"),
        (entry(name="anonymous"), "reserved"),
        (entry(key_sha256="abc"), "key_sha256 must be 64 hex"),
        (entry(permissions=["sned"]), "'sned' is not one of"),
        (entry(permissions=[]), "permissions must be a non-empty list"),
        (entry(), "signs must be a list"),
        (entry(signs=["【bad】"]), "must not contain"),
        (entry(signs=["ok"], rate_limit=5), "unknown field(s) rate_limit"),
        (entry(signs=["ok"], rate_limit_per_second=0), "rate_limit_per_second must be"),
        (entry(signs=["ok"], daily_recipient_quota=1.5), "daily_recipient_quota must be"),
    ],
)
def test_a_bad_file_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(CallersFileError) as caught:
        parse_callers(text, source="callers.yaml")
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    assert isinstance(caught.value, ConfigError)


def test_duplicates_are_refused_and_every_problem_is_listed() -> None:
    text = (
        "callers:\n"
        f'  - {{name: a, key_sha256: "{DIGEST}", permissions: [admin]}}\n'
        f'  - {{name: a, key_sha256: "{DIGEST}", permissions: [admin]}}\n'
        '  - {name: "", key_sha256: "x", permissions: [nope]}\n'
    )
    with pytest.raises(CallersFileError) as caught:
        parse_callers(text)
    text_all = "\n".join(caught.value.problems)
    assert "name is used by another caller" in text_all
    assert "key_sha256 is used by another caller" in text_all
    assert "callers[2]" in text_all and "'nope'" in text_all


def test_reload_applies_a_good_file_and_keeps_the_old_callers_on_a_bad_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "callers.yaml"
    keys = {n: new_key() for n in CALLERS}
    path.write_text(callers_yaml(keys), encoding="utf-8")
    registry = CallerRegistry(path)
    registry.load()
    assert registry.reload() is False  # unchanged
    version = registry.version

    path.write_text("callers: [\n", encoding="utf-8")
    assert registry.reload() is False
    assert registry.version == version
    assert registry.directory.authenticate(keys["admin"]) is not None
    assert "not reloaded" in caplog.text and "not valid YAML" in caplog.text

    fresh = {n: new_key() for n in CALLERS}
    path.write_text(callers_yaml(fresh), encoding="utf-8")
    assert registry.reload() is True
    assert registry.directory.authenticate(keys["admin"]) is None
    assert registry.directory.authenticate(fresh["admin"]) is not None

    path.unlink()
    assert registry.reload() is False
    assert registry.directory.authenticate(fresh["admin"]) is not None


async def test_a_key_works_after_a_change_without_restart_and_a_removed_key_stops(
    secure_gw: SecureGateway, callers_file: Path, keys: dict[str, str]
) -> None:
    registry = secure_gw.security.registry
    assert registry is not None
    stub = secure_gw.stub()
    new = new_key()
    # Open a stream as tenant_a, then remove tenant_a and add a new caller.
    stream = stub.StreamDeliveryReports(
        pb.StreamDeliveryReportsRequest(), metadata=bearer(keys["tenant_a"]), timeout=20
    )
    await asyncio.sleep(0.2)
    callers = {**keys, "newbie": new}
    spec = {n: s for n, s in CALLERS.items() if n != "tenant_a"}
    spec["newbie"] = {"permissions": ["send"], "signs": [SIGN_A]}
    await asyncio.to_thread(callers_file.write_text, callers_yaml(callers, spec), "utf-8")
    # SIGHUP reloads at once (the watcher would within its poll interval).
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(100):
        if registry.directory.by_name("newbie") is not None:
            break
        await asyncio.sleep(0.05)
    balance = await stub.GetBalance(pb.GetBalanceRequest(), metadata=bearer(new))
    assert balance.balance
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetBalance(pb.GetBalanceRequest(), metadata=bearer(keys["tenant_a"]))
    assert details_of(caught.value).reason == "INVALID_KEY"
    # The open stream of the removed key ends at its next event.
    await secure_gw.add_reports([report("9" * 20, "13651688564")])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stream:
            pass
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert details_of(caught.value).reason == "KEY_REVOKED"


async def test_the_watcher_notices_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "callers.yaml"
    path.write_text(entry(signs=["ok"]), encoding="utf-8")
    registry = CallerRegistry(path, poll_seconds=0.05)
    registry.load()
    registry.start()
    try:
        # A Secret update: a new file swapped in.
        swapped = tmp_path / "callers.new"
        swapped.write_text(entry(name="y", signs=["ok"]), encoding="utf-8")
        swapped.replace(path)
        for _ in range(100):
            if registry.directory.by_name("y") is not None:
                break
            await asyncio.sleep(0.05)
        assert registry.directory.by_name("y") is not None
    finally:
        await registry.stop()


def test_cli_prints_a_key_once_with_its_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["callers", "new", "--name", "billing", "--permissions", "send,read_events",
         "--signs", SIGN_A, "--rate-limit", "50", "--daily-quota", "100000"]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    key = next(line for line in out.splitlines() if line.startswith("smsgw_"))
    yaml_text = "callers:\n" + "".join(
        line + "\n" for line in out.splitlines() if line.startswith("  ")
    )
    caller = parse_callers(yaml_text).authenticate(key)
    assert caller is not None and caller.name == "billing"
    assert caller.rate_limit_per_second == 50 and caller.daily_recipient_quota == 100000
    assert hex_digest(key) in out

    path = tmp_path / "callers.yaml"
    assert (
        main(["callers", "new", "--name", "me", "--permissions", "admin", "--append", str(path)])
        == 0
    )
    first_key = capsys.readouterr().out.strip()
    assert main(["callers", "new", "--name", "ci", "--permissions", "send", "--signs", "Demo",
                 "--append", str(path)]) == 0  # fmt: skip
    capsys.readouterr()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert first_key not in path.read_text()
    assert main(["callers", "check", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["ci: send; signs Demo", "me: admin; signs *"]
    # A duplicate name is refused and leaves the file alone.
    before = path.read_text()
    assert (
        main(["callers", "new", "--name", "me", "--permissions", "admin", "--append", str(path)])
        == 2
    )
    assert "used by another caller" in capsys.readouterr().err
    assert path.read_text() == before
    assert main(["callers", "new", "--name", "bad", "--permissions", "fly"]) == 2
