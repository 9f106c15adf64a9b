"""Fuzzing request validation (hypothesis, bounded): whatever arrives — random bytes,
random field values — the answer is a status the caller can act on, never UNKNOWN or
INTERNAL, and every INVALID_ARGUMENT names its fields.

The gateway runs on an event loop in a thread of its own for the whole module, so that
hypothesis (synchronous) can drive it example after example.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsgateway.security.keys import new_key
from smsgateway.v1 import smsgateway_pb2 as pb
from testkit.callers import CALLERS, callers_yaml
from testkit.rich_status import details_of
from testkit.secure_gateway import SecureGateway, bearer, secure_settings, start_secure_gateway

T = TypeVar("T")
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
NEVER = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}


class Driver:
    """Runs coroutines on the gateway's loop from the (synchronous) test thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, gateway: SecureGateway, key: str) -> None:
        self.loop, self.gateway, self.key = loop, gateway, key
        self.channel = self.run(self._channel())

    async def _channel(self) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(self.gateway.target)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def call(self, method: str, body: bytes, *, streaming: bool = False) -> grpc.StatusCode:
        """The status of one call with raw request bytes; an error's details are checked."""

        async def go() -> grpc.StatusCode:
            path = f"/smsgateway.v1.SmsGateway/{method}"
            ident = {"request_serializer": lambda b: b, "response_deserializer": lambda b: b}
            try:
                if streaming:
                    call = self.channel.unary_stream(path, **ident)
                    async for _ in call(body, metadata=bearer(self.key), timeout=0.3):
                        break
                else:
                    await self.channel.unary_unary(path, **ident)(
                        body, metadata=bearer(self.key), timeout=10
                    )
            except grpc.aio.AioRpcError as exc:
                details = details_of(exc)
                if details.code == grpc.StatusCode.INVALID_ARGUMENT:
                    assert details.violations and all(details.violations), details
                    assert all(details.violations.values()), details
                if details.code not in (grpc.StatusCode.DEADLINE_EXCEEDED,):
                    assert details.reason and details.domain == "smsgateway", details
                return details.code
            return grpc.StatusCode.OK

        return self.run(go())


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    directory = tmp_path_factory.mktemp("fuzz")
    keys = {name: new_key() for name in CALLERS}
    callers = directory / "callers.yaml"
    callers.write_text(callers_yaml(keys), encoding="utf-8")
    gateway = asyncio.run_coroutine_threadsafe(
        start_secure_gateway(secure_settings(directory / "data", callers_file=callers)), loop
    ).result(timeout=30)
    try:
        yield Driver(loop, gateway, keys["admin"])
    finally:
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


UNARY = [
    "SendSms",
    "SendTemplateSms",
    "GetSend",
    "GetSendStatus",
    "ListDeliveryReports",
    "ListUplinks",
    "AcknowledgeEvents",
    "DeleteConsumerGroup",
    "ListSuppressions",
    "AddSuppression",
    "RemoveSuppression",
]
STREAMING = ["StreamDeliveryReports", "StreamUplinks"]


@FUZZ
@given(method=st.sampled_from(UNARY + STREAMING), body=st.binary(max_size=300))
def test_random_bytes_never_get_unknown_or_internal(
    driver: Driver, method: str, body: bytes
) -> None:
    code = driver.call(method, body, streaming=method in STREAMING)
    assert code not in NEVER


_TEXT = st.text(max_size=40) | st.sampled_from(["圆通快递", "Demo", "【x】", " ", "\x00", "T" * 25])
_PHONE = st.text(alphabet="0123456789+-， ,a", max_size=16) | st.sampled_from(
    ["13800000000", "+86 138 0000 0001", "8613800000002", ""]
)
_INT = st.integers(min_value=-(2**31), max_value=2**31 - 1)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, Message]:
    """A request of a random RPC with random (well-formed) field values."""
    method = draw(st.sampled_from(["SendSms", "ListDeliveryReports", "ListUplinks",
                                    "ListSuppressions", "AddSuppression", "GetSendStatus",
                                    "StreamDeliveryReports", "AcknowledgeEvents"]))  # fmt: skip
    if method == "SendSms":
        return method, pb.SendSmsRequest(
            phone_numbers=draw(st.lists(_PHONE, max_size=5)),
            sign=draw(_TEXT),
            content=draw(_TEXT),
            kind=draw(st.integers(min_value=-1, max_value=5)),  # type: ignore[arg-type]
            request_id=draw(st.text(max_size=130)),
        )
    if method in ("ListDeliveryReports", "StreamDeliveryReports"):
        report_filter = pb.DeliveryReportFilter(
            biz_ids=draw(st.lists(st.text(max_size=70), max_size=3)),
            phone_numbers=draw(st.lists(_PHONE, max_size=3)),
            sign=draw(_TEXT),
            statuses=draw(st.lists(st.integers(min_value=-1, max_value=12), max_size=3)),  # type: ignore[arg-type]
        )
        if method == "StreamDeliveryReports":
            return method, pb.StreamDeliveryReportsRequest(
                filter=report_filter,
                start=pb.StreamStart(after_cursor=draw(st.integers(-5, 2**63 - 1))),
            )
        return method, pb.ListDeliveryReportsRequest(
            filter=report_filter, page_size=draw(_INT), page_token=draw(st.text(max_size=60))
        )
    if method == "ListUplinks":
        return method, pb.ListUplinksRequest(
            filter=pb.UplinkFilter(
                sign=draw(_TEXT), phone_numbers=draw(st.lists(_PHONE, max_size=3))
            ),
            page_size=draw(_INT),
            page_token=draw(st.text(max_size=60)),
        )
    if method == "ListSuppressions":
        return method, pb.ListSuppressionsRequest(
            sign=draw(_TEXT), page_size=draw(_INT), page_token=draw(st.text(max_size=60))
        )
    if method == "AddSuppression":
        return method, pb.AddSuppressionRequest(
            sign=draw(_TEXT), phone_number=draw(_PHONE), reason=draw(st.text(max_size=210))
        )
    if method == "AcknowledgeEvents":
        return method, pb.AcknowledgeEventsRequest(
            stream=draw(st.integers(-1, 4)),  # type: ignore[arg-type]
            consumer_group=draw(st.text(max_size=70)),
            cursors=draw(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=4)),
        )
    return method, pb.GetSendStatusRequest(biz_id=draw(st.text(max_size=70)))


@FUZZ
@given(request=requests())
def test_random_field_values_are_validated_not_crashed_on(
    driver: Driver, request: tuple[str, Message]
) -> None:
    method, message = request
    code = driver.call(method, message.SerializeToString(), streaming=method.startswith("Stream"))
    assert code not in NEVER
