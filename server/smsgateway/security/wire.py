"""Requests that do not decode: answer `INVALID_ARGUMENT` naming the field, not `UNKNOWN`.

grpc turns a deserializer's exception into `UNKNOWN` plus an ERROR log line with a
traceback, per call: a cheap way to flood the logs. `tolerant_deserializer` returns
an `Undecodable` marker instead, and the security interceptor answers it with a
`BadRequest`. To name the field, `invalid_utf8_field` walks the protobuf wire
format along the message's descriptor and reports the first string field whose
bytes are not UTF-8 (e.g. `filter.phone_numbers[2]`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError

_MAX_DEPTH: Final = 64


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A request whose bytes are not a valid message of its type."""

    type_name: str
    field: str
    """The offending field path, or "" when no single field is to blame."""


def tolerant_deserializer(
    deserializer: Callable[[bytes], Any] | None, descriptor: Descriptor | None
) -> Callable[[bytes], Any] | None:
    """Wrap a request deserializer so that bad bytes give an `Undecodable`, not an exception."""
    if deserializer is None:
        return None
    type_name = descriptor.full_name if descriptor is not None else "request"

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError:
            path = invalid_utf8_field(descriptor, data) if descriptor is not None else None
            return Undecodable(type_name, path or "")

    return deserialize


class _Malformed(Exception):
    pass


def invalid_utf8_field(descriptor: Descriptor, data: bytes) -> str | None:
    """The path of the first string field with invalid UTF-8, or None."""
    try:
        return _walk(descriptor, memoryview(data), "", 0)
    except (_Malformed, IndexError, RecursionError):
        return None


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Malformed
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _walk(descriptor: Descriptor, data: memoryview, prefix: str, depth: int) -> str | None:
    if depth > _MAX_DEPTH:
        raise _Malformed
    counts: dict[int, int] = {}
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            _, pos = _varint(data, pos)
            continue
        if wire_type == 1:
            pos += 8
            continue
        if wire_type == 5:
            pos += 4
            continue
        if wire_type != 2:
            raise _Malformed
        length, pos = _varint(data, pos)
        chunk = data[pos : pos + length]
        if len(chunk) != length:
            raise _Malformed
        pos += length
        field = descriptor.fields_by_number.get(number)
        if field is None:
            continue
        index = counts.get(number, 0)
        counts[number] = index + 1
        path = prefix + field.name
        if _is_repeated(field):
            path += f"[{index}]"
        if field.type == FieldDescriptor.TYPE_STRING:
            try:
                bytes(chunk).decode("utf-8")
            except UnicodeDecodeError:
                return path
        elif field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type is not None:
            found = _walk(field.message_type, chunk, path + ".", depth + 1)
            if found is not None:
                return found
    return None


def _is_repeated(field: FieldDescriptor) -> bool:
    is_repeated = getattr(field, "is_repeated", None)
    if isinstance(is_repeated, bool):
        return is_repeated
    return bool(getattr(field, "label", None) == FieldDescriptor.LABEL_REPEATED)
