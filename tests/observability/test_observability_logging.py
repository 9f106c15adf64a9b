"""JSON-lines logs: shape, masking of phone numbers, redaction of secrets, trace ids, level."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from smsgateway.observability.logging import JsonFormatter, configure_logging, scrub

PHONE = "13651688564"
MASKED = "136****8564"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.abc-def_123"
SECRET = "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0"


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    root = logging.getLogger()
    saved_level = root.level
    handler = configure_logging("DEBUG", stream=buffer)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(saved_level)


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_one_json_object_per_line_with_standard_fields(out: io.StringIO) -> None:
    log = logging.getLogger("smsgateway.test")
    log.info("first line\nsecond line")
    log.warning("sent %d batches", 3, extra={"kind": "notice", "batches": 3, "ratio": 0.5})
    records = _lines(out)
    assert len(records) == 2
    first, second = records
    assert first["message"] == "first line\nsecond line"
    assert first["level"] == "INFO"
    assert first["logger"] == "smsgateway.test"
    assert first["time"].endswith("+00:00")
    assert "trace_id" not in first
    assert second["message"] == "sent 3 batches"
    assert second["level"] == "WARNING"
    assert (second["kind"], second["batches"], second["ratio"]) == ("notice", 3, 0.5)


def test_phone_numbers_masked_in_message_args_extras_and_exceptions(out: io.StringIO) -> None:
    log = logging.getLogger("smsgateway.test")
    log.info("sending to %s and +86%s", PHONE, PHONE, extra={"recipient": PHONE})
    try:
        raise ValueError(f"invalid number {PHONE}")
    except ValueError:
        log.exception("send failed for %s", [PHONE])
    text = out.getvalue()
    assert PHONE not in text
    first, second = _lines(out)
    assert first["message"] == f"sending to {MASKED} and +86*******8564"
    assert first["recipient"] == MASKED
    assert second["message"] == f"send failed for ['{MASKED}']"
    assert "ValueError: invalid number " + MASKED in second["exception"]
    assert second["level"] == "ERROR"


def test_biz_ids_and_cursors_are_not_masked(out: io.StringIO) -> None:
    logging.getLogger("t").info("bizId 39036632588910887018 cursor 1234567")
    assert _lines(out)[0]["message"] == "bizId 39036632588910887018 cursor 1234567"


def test_secrets_never_appear(out: io.StringIO) -> None:
    log = logging.getLogger("smsgateway.upstream")
    log.error("GET http://gw/api/token?appId=1234567890&secret=%s", SECRET)
    log.error("POST body token=%s&phoneNumbers=%s", TOKEN, PHONE)
    log.error('provider answered {"code":"10000","token":"%s","expires_in":7200}', TOKEN)
    log.error("header", extra={"headers": {"Authorization": f"Bearer {TOKEN}"}})
    log.error("fields", extra={"token": TOKEN, "appId": "1234567890", "secret": SECRET})
    try:
        raise ConnectionError(f"cannot reach http://gw/sms/deliver?token={TOKEN}")
    except ConnectionError:
        log.exception("poll failed")
    text = out.getvalue()
    assert SECRET not in text
    assert TOKEN not in text
    assert PHONE not in text
    records = _lines(out)
    assert records[0]["message"] == "GET http://gw/api/token?appId=***&secret=***"
    assert '"expires_in":7200' in records[2]["message"]
    assert (records[4]["token"], records[4]["appId"], records[4]["secret"]) == ("***",) * 3
    assert "token=***" in records[5]["exception"]


def test_trace_and_span_ids_inside_a_span(out: io.StringIO, spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("tests.logging")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("t").info("inside")
    logging.getLogger("t").info("outside")
    inside, outside = _lines(out)
    ctx = span.get_span_context()
    assert inside["trace_id"] == f"{ctx.trace_id:032x}"
    assert inside["span_id"] == f"{ctx.span_id:016x}"
    assert "trace_id" not in outside and "span_id" not in outside


def test_level_filter() -> None:
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = root.level
    handler = configure_logging("warning", stream=buffer)
    try:
        log = logging.getLogger("smsgateway.level")
        log.debug("d")
        log.info("i")
        log.warning("w")
        log.error("e")
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
    assert [r["message"] for r in _lines(buffer)] == ["w", "e"]


def test_reconfiguring_replaces_the_previous_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    saved = root.level
    configure_logging("INFO", stream=first)
    handler = configure_logging("INFO", stream=second)
    try:
        logging.getLogger("t").info("once")
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
    assert first.getvalue() == ""
    assert [r["message"] for r in _lines(second)] == ["once"]


@pytest.mark.parametrize("bad", ["", "LOUD", "notset", "5"])
def test_unknown_level_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging(bad, stream=io.StringIO())


def test_unserialisable_extra_is_rendered_and_scrubbed() -> None:
    class Opaque:
        def __str__(self) -> str:
            return f"Opaque(to={PHONE}, token={TOKEN})"

    record = logging.LogRecord("t", logging.INFO, __file__, 1, "x", (), None)
    record.thing = Opaque()
    line = json.loads(JsonFormatter().format(record))
    assert line["thing"] == f"Opaque(to={MASKED}, token=***)"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        ("appid=1234567890", "appid=***"),
        ("token:abc.def", "token:***"),
        ("secret = s3cr3t", "secret = ***"),
        ("token: provider refused the credentials", "token: provider refused the credentials"),
        ("tokens=5", "tokens=5"),
        ("no secrets here", "no secrets here"),
    ],
)
def test_scrub(raw: str, clean: str) -> None:
    assert scrub(raw) == clean
