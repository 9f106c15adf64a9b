"""The floor a facade cannot beat: a bare grpc.aio SendSms that makes one aiohttp POST.

No validation, idempotency, metrics or tracing: only the two costs every send
has (a unary RPC and a provider POST). `bench_send.py --floor` runs it in place
of the gateway so the two are measured the same way.
Usage: python bench/floor_server.py GRPC_PORT PROVIDER_URL APP_ID SECRET
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import aiohttp
import grpc
import uvloop

from smsgateway.v1 import smsgateway_pb2 as pb
from smsgateway.v1 import smsgateway_pb2_grpc


class FloorServicer(smsgateway_pb2_grpc.SmsGatewayServicer):  # type: ignore[misc]
    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self._session, self._url, self._token = session, url, token

    async def SendSms(self, request: pb.SendSmsRequest, context: Any) -> pb.SendSmsResponse:
        form = {
            "token": self._token,
            "phoneNumbers": ",".join(request.phone_numbers),
            "sign": request.sign,
            "content": f"【{request.sign}】{request.content}",
            "kind": str(int(request.kind)),
        }
        async with self._session.post(f"{self._url}/sms/send", data=form) as resp:
            reply = await resp.json()
        call = pb.UpstreamCall(biz_id=reply["bizId"], outcome=pb.CALL_OUTCOME_ACCEPTED)
        return pb.SendSmsResponse(calls=[call])

    async def GetBalance(self, request: Any, context: Any) -> pb.GetBalanceResponse:
        return pb.GetBalanceResponse(balance="0")


async def main(port: int, url: str, app_id: str, secret: str) -> None:
    async with aiohttp.ClientSession() as session:
        params = {"appId": app_id, "secret": secret}
        for _ in range(100):  # the sandbox may still be starting
            try:
                async with session.get(f"{url}/api/token", params=params) as resp:
                    token = (await resp.json())["token"]
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        server = grpc.aio.server()
        smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(
            FloorServicer(session, url, token), server
        )
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
