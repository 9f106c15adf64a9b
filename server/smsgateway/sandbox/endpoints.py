"""The provider's endpoints: /api/token, /sms/send, /sms/sendTemplate, /sms/deliver,
/sms/smsUp and /sms/balance (see shared/upstream/http-api-v1.0.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP

from aiohttp import web

from smsgateway.sandbox.config import (
    PATH_BALANCE,
    PATH_DELIVER,
    PATH_SEND,
    PATH_SEND_TEMPLATE,
    PATH_SMS_UP,
    PATH_TOKEN,
)
from smsgateway.sandbox.replies import (
    CENT,
    CODE_OK,
    Rejection,
    json_response,
    render_report,
    render_uplink,
    reply,
    wire_code,
)
from smsgateway.sandbox.state import SandboxState
from smsgateway.sandbox.tokens import check_credentials
from smsgateway.sandbox.traffic import accept_send
from smsgateway.sandbox.validation import (
    MAX_TOKEN_SEND,
    MAX_TOKEN_SHORT,
    SendParams,
    check_send,
    check_send_template,
    form_params,
    parse_sign,
)


class ProviderEndpoints:
    """The aiohttp handlers of the provider's API, over the sandbox's state."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(PATH_TOKEN, self._handle_token)
        router.add_post(PATH_SEND, self._handle_send)
        router.add_post(PATH_SEND_TEMPLATE, self._handle_send_template)
        router.add_get(PATH_DELIVER, self._handle_deliver)
        router.add_get(PATH_SMS_UP, self._handle_sms_up)
        router.add_get(PATH_BALANCE, self._handle_balance)

    def _reject(self, rej: Rejection) -> web.Response:
        return reply(self._state.config, rej.code, rej.message, rej.status)

    def _check_token(self, params: Mapping[str, str], max_len: int) -> None:
        state = self._state
        status = state.config.token_rejection_http_status
        state.tokens.check(params, max_len, state.clock, status)

    def _accept(self, send: SendParams) -> web.Response:
        biz_id = accept_send(self._state, send)
        return reply(self._state.config, CODE_OK, "操作成功", bizId=biz_id)

    async def _handle_token(self, request: web.Request) -> web.Response:
        state = self._state
        try:
            cfg = state.config
            check_credentials(request.query, cfg)
            now = state.clock()
            if state.tokens.issue(now, cfg.token_ttl_seconds):
                state.tokens_issued += 1
            expires_in = state.tokens.expires_in(now)
            token = state.tokens.current
            return reply(cfg, CODE_OK, "操作成功", token=token, expires_in=expires_in)
        except Rejection as rej:
            return self._reject(rej)

    async def _handle_send(self, request: web.Request) -> web.Response:
        try:
            params = await form_params(request)
            self._check_token(params, MAX_TOKEN_SEND)
            return self._accept(check_send(params, self._state.config.require_kind))
        except Rejection as rej:
            return self._reject(rej)

    async def _handle_send_template(self, request: web.Request) -> web.Response:
        try:
            params = await form_params(request)
            self._check_token(params, MAX_TOKEN_SEND)
            approved = self._state.config.approved_templates
            return self._accept(check_send_template(params, approved))
        except Rejection as rej:
            return self._reject(rej)

    async def _handle_deliver(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request.query, MAX_TOKEN_SEND)
            sign = parse_sign(request.query.get("sign", ""), required=False) or None
        except Rejection as rej:
            return self._reject(rej)
        state = self._state
        cfg = state.config
        reports = state.reports.pull(
            state.clock(),
            sign,
            cfg.pull_max_items,
            repeat=cfg.pull_repeat,
            keep_for_push=cfg.report_push_url is not None,
        )
        return json_response([render_report(cfg, r) for r in reports])

    async def _handle_sms_up(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request.query, MAX_TOKEN_SHORT)
            sign = parse_sign(request.query.get("sign", ""), required=True)
        except Rejection as rej:
            return self._reject(rej)
        state = self._state
        cfg = state.config
        uplinks = state.uplinks.pull(
            state.clock(),
            sign,
            cfg.pull_max_items,
            repeat=cfg.pull_repeat,
            keep_for_push=cfg.uplink_push_url is not None,
        )
        return json_response([render_uplink(cfg, u, with_sign=False) for u in uplinks])

    async def _handle_balance(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request.query, MAX_TOKEN_SHORT)
        except Rejection as rej:
            return self._reject(rej)
        # Written by hand: json.dumps cannot emit 100.00 (it would be 100.0 as a float).
        amount = self._state.balance.quantize(CENT, ROUND_HALF_UP)
        code = json.dumps(wire_code(self._state.config, CODE_OK))
        body = f'{{"code":{code},"message":"请求成功","balance":{amount:.2f}}}'
        return web.Response(body=body.encode(), content_type="application/json", charset="utf-8")
