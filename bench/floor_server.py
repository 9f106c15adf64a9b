"""The floor a facade cannot beat: a bare grpc.aio SendSms that makes one aiohttp POST
per 125 numbers (8 at a time), as the gateway splits a send into provider calls.

No validation, idempotency, metrics or tracing: only the two costs every send
has (a unary RPC and its provider POSTs). `bench_send.py --floor` runs it in place
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

BATCH = 125
"""Numbers per provider call, as the gateway splits 11-digit numbers (1,500 characters)."""
CONCURRENT_CALLS = 8
"""Provider calls of one send in flight at once, as the gateway's default."""


class FloorServicer(smsgateway_pb2_grpc.SmsGatewayServicer):  # type: ignore[misc]
    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self._session, self._url, self._token = session, url, token

    async def SendSms(self, request: pb.SendSmsRequest, context: Any) -> pb.SendSmsResponse:
        numbers = list(request.phone_numbers)
        batches = [numbers[i : i + BATCH] for i in range(0, len(numbers), BATCH)]
        if len(batches) == 1:
            calls = [await self._post(request, batches[0], 0)]
        else:
            limit = asyncio.Semaphore(CONCURRENT_CALLS)

            async def post(batch: list[str], index: int) -> pb.UpstreamCall:
                async with limit:
                    return await self._post(request, batch, index)

            calls = list(await asyncio.gather(*(post(b, i) for i, b in enumerate(batches))))
        return pb.SendSmsResponse(calls=calls)

    async def _post(
        self, request: pb.SendSmsRequest, numbers: list[str], index: int
    ) -> pb.UpstreamCall:
        form = {
            "token": self._token,
            "phoneNumbers": ",".join(numbers),
            "sign": request.sign,
            "content": f"【{request.sign}】{request.content}",
            "kind": str(int(request.kind)),
        }
        async with self._session.post(f"{self._url}/sms/send", data=form) as resp:
            reply = await resp.json()
        return pb.UpstreamCall(index=index, biz_id=reply["bizId"], outcome=pb.CALL_OUTCOME_ACCEPTED)

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
