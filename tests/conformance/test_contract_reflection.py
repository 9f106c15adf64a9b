"""Server reflection with `reflection_pool()`: the service's files bring the google.rpc
error detail types along, so a client that knows only what reflection served for the
service decodes the details (field violations, ErrorInfo) instead of showing base64.

A real grpc.aio server on a free port answers SendSms with the error the gateway gives
bad input (its own error table) and serves reflection as app.py does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from smsgateway.api.errors import FieldViolation, invalid_argument
from smsgateway.api.reflection import reflection_pool
from smsgateway.v1 import smsgateway_pb2, smsgateway_pb2_grpc

SERVICE = smsgateway_pb2.DESCRIPTOR.services_by_name["SmsGateway"].full_name


class Refusing(smsgateway_pb2_grpc.SmsGatewayServicer):  # type: ignore[misc]
    async def SendSms(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        error = invalid_argument([FieldViolation("phone_numbers[0]", "'12' is too short")])
        await context.abort_with_status(error.to_status())


@pytest.fixture
async def target() -> AsyncIterator[str]:
    server = grpc.aio.server()
    smsgateway_pb2_grpc.add_SmsGatewayServicer_to_server(Refusing(), server)
    names = (SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server, pool=reflection_pool())
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


async def reflected_files(target: str, symbol: str) -> list[descriptor_pb2.FileDescriptorProto]:
    """What a reflection client gets for one symbol: its file and every dependency."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
        call = stub.ServerReflectionInfo(iter([request]), timeout=10)
        answer = await call.read()
        call.cancel()
    assert answer.HasField("file_descriptor_response"), answer
    return [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in answer.file_descriptor_response.file_descriptor_proto
    ]


async def test_the_service_brings_the_error_detail_types_along(target: str) -> None:
    # A client that only knows what reflection served for the service (no lazy lookup
    # of Any types, no googleapis of its own) can decode the gateway's error details.
    files = await reflected_files(target, SERVICE)
    names = {f.name for f in files}
    assert {"smsgateway/v1/smsgateway.proto", "google/rpc/error_details.proto"} <= names
    pool = descriptor_pool.DescriptorPool()
    pending = {f.name: f for f in files}
    while pending:  # dependencies first
        for name, file in list(pending.items()):
            if all(d not in pending for d in file.dependency):
                pool.Add(file)
                del pending[name]
    for detail in ("BadRequest", "ErrorInfo", "RetryInfo", "QuotaFailure"):
        pool.FindMessageTypeByName(f"google.rpc.{detail}")
    pool.FindMessageTypeByName("smsgateway.v1.SendFailure")

    async with grpc.aio.insecure_channel(target) as channel:
        stub = smsgateway_pb2_grpc.SmsGatewayStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SendSms(smsgateway_pb2.SendSmsRequest(phone_numbers=["12"]), timeout=10)
    status = rpc_status.from_call(caught.value)
    assert status is not None
    decoded = {}
    for detail in status.details:
        type_name = detail.type_url.rsplit("/", 1)[1]
        message_class = message_factory.GetMessageClass(pool.FindMessageTypeByName(type_name))
        decoded[type_name] = json_format.MessageToDict(message_class.FromString(detail.value))
    assert decoded["google.rpc.BadRequest"] == {
        "fieldViolations": [{"field": "phone_numbers[0]", "description": "'12' is too short"}]
    }
    assert decoded["google.rpc.ErrorInfo"]["reason"] == "INVALID_ARGUMENT"


async def test_reflection_still_serves_every_service(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        call = stub.ServerReflectionInfo(iter([request]), timeout=10)
        answer = await call.read()
        call.cancel()
    listed = {s.name for s in answer.list_services_response.service}
    assert listed == {SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME}
    for service in listed:
        assert await reflected_files(target, service)
