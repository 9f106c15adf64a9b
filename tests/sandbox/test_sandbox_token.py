"""/api/token: same token while valid, new after TTL or a secret reset; rejections."""

from __future__ import annotations

from sandbox_helpers import FakeClock, StartSandbox, Wire, fast_config
from yarl import URL


async def test_same_token_while_valid_and_it_needs_url_encoding(wire: Wire) -> None:
    cfg = wire.provider.config
    params = {"appId": cfg.app_id, "secret": cfg.secret}
    status, first, _ = await wire.call("GET", "/api/token", params=params)
    _, second, _ = await wire.call("GET", "/api/token", params=params)

    assert status == 200
    assert first["code"] == "10000" and first["message"] == "操作成功"
    assert first["expires_in"] == 7200
    assert second["token"] == first["token"]
    assert wire.provider.tokens_issued == 1
    token = first["token"]
    assert {"-", "+", "="} <= set(token) and len(token) <= 64


async def test_unencoded_token_is_rejected(wire: Wire) -> None:
    token = await wire.token()
    # A client that pastes the token raw into the URL turns "+" into a space.
    raw_url = f"{wire.url}/sms/balance?token={token}"
    async with wire.session.get(URL(raw_url, encoded=True)) as resp:
        assert resp.status == 401
        assert (await resp.json())["code"] == "40001"


async def test_new_token_after_ttl(start_sandbox: StartSandbox) -> None:
    clock = FakeClock()
    wire = await start_sandbox(fast_config(token_ttl_seconds=100), clock)
    old = await wire.token()
    clock.now += 60
    status, body, _ = await wire.call(
        "GET",
        "/api/token",
        params={"appId": "sandbox-app", "secret": "sandbox-secret"},
    )
    assert body["token"] == old and body["expires_in"] == 40  # remaining lifetime

    clock.now += 40  # expired exactly now
    status, body, _ = await wire.call("GET", "/sms/balance", params={"token": old})
    assert (status, body) == (401, {"code": "40001", "message": "token无效"})

    new = await wire.token()
    assert new != old
    assert wire.provider.tokens_issued == 2
    status, body, _ = await wire.call("GET", "/sms/balance", params={"token": new})
    assert status == 200 and body["code"] == "10000"


async def test_reset_secret_revokes_token(wire: Wire) -> None:
    old = await wire.token()
    new_secret = wire.provider.reset_secret("rotated-secret")
    assert new_secret == "rotated-secret"

    status, body = await wire.send(token=old, phoneNumbers="13900000001")
    assert (status, body["code"]) == (401, "40001")
    status, body, _ = await wire.call(
        "GET", "/api/token", params={"appId": "sandbox-app", "secret": "sandbox-secret"}
    )
    assert status == 200 and body["code"] == "10001"  # old secret no longer accepted

    new = await wire.token()  # Wire reads the provider's current secret
    assert new != old
    status, body = await wire.send(token=new, phoneNumbers="13900000001")
    assert (status, body["code"]) == (200, "10000")


async def test_admin_reset_secret_generates_one(wire: Wire) -> None:
    old = await wire.token()
    status, body, _ = await wire.call("POST", "/admin/reset-secret")
    assert status == 200 and body["secret"] and body["secret"] != "sandbox-secret"
    assert wire.provider.config.secret == body["secret"]
    status, _, _ = await wire.call("GET", "/sms/balance", params={"token": old})
    assert status == 401


async def test_bad_credentials_and_missing_parameters(wire: Wire) -> None:
    _, body, _ = await wire.call(
        "GET", "/api/token", params={"appId": "someone-else", "secret": "sandbox-secret"}
    )
    assert body["code"] == "10001"
    _, body, _ = await wire.call("GET", "/api/token", params={"appId": "sandbox-app"})
    assert body["code"] == "10002" and "secret" in body["message"]
    assert wire.provider.tokens_issued == 0


async def test_missing_and_unknown_token(wire: Wire) -> None:
    status, body, _ = await wire.call("GET", "/sms/balance")
    assert status == 200 and body["code"] == "10002" and "token" in body["message"]
    status, body, _ = await wire.call("GET", "/sms/deliver", params={"token": "forged"})
    assert status == 401 and body["code"] == "40001"


async def test_token_rejection_can_answer_http_200(start_sandbox: StartSandbox) -> None:
    wire = await start_sandbox(fast_config(token_rejection_http_status=200))
    status, body, _ = await wire.call("GET", "/sms/smsUp", params={"token": "x", "sign": "s"})
    assert (status, body["code"]) == (200, "40001")
