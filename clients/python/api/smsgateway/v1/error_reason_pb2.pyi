from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    INVALID_ARGUMENT: _ClassVar[ErrorReason]
    REQUEST_ID_REUSED: _ClassVar[ErrorReason]
    SEND_NOT_FOUND: _ClassVar[ErrorReason]
    UPSTREAM_UNAVAILABLE: _ClassVar[ErrorReason]
    UPSTREAM_UNREACHABLE: _ClassVar[ErrorReason]
    UPSTREAM_TOKEN_UNAVAILABLE: _ClassVar[ErrorReason]
    UPSTREAM_TOKEN_REJECTED: _ClassVar[ErrorReason]
    UPSTREAM_REJECTED: _ClassVar[ErrorReason]
    UPSTREAM_OUTCOME_UNKNOWN: _ClassVar[ErrorReason]
    UPSTREAM_ERROR: _ClassVar[ErrorReason]
    CURSOR_OUT_OF_RANGE: _ClassVar[ErrorReason]
    CURSOR_AHEAD: _ClassVar[ErrorReason]
    CONSUMER_GROUP_FILTER_MISMATCH: _ClassVar[ErrorReason]
    CONSUMER_GROUP_DELETED: _ClassVar[ErrorReason]
    SHUTTING_DOWN: _ClassVar[ErrorReason]
    INTERNAL: _ClassVar[ErrorReason]
    STORE_UNAVAILABLE: _ClassVar[ErrorReason]
    STORE_FULL: _ClassVar[ErrorReason]
    TOO_MANY_CONSUMER_GROUPS: _ClassVar[ErrorReason]
    MISSING_KEY: _ClassVar[ErrorReason]
    INVALID_KEY: _ClassVar[ErrorReason]
    KEY_REVOKED: _ClassVar[ErrorReason]
    PERMISSION_MISSING: _ClassVar[ErrorReason]
    SIGN_NOT_ALLOWED: _ClassVar[ErrorReason]
    RATE_LIMITED: _ClassVar[ErrorReason]
    DAILY_QUOTA_EXCEEDED: _ClassVar[ErrorReason]
    VERIFICATION_CODE_LIMIT: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
INVALID_ARGUMENT: ErrorReason
REQUEST_ID_REUSED: ErrorReason
SEND_NOT_FOUND: ErrorReason
UPSTREAM_UNAVAILABLE: ErrorReason
UPSTREAM_UNREACHABLE: ErrorReason
UPSTREAM_TOKEN_UNAVAILABLE: ErrorReason
UPSTREAM_TOKEN_REJECTED: ErrorReason
UPSTREAM_REJECTED: ErrorReason
UPSTREAM_OUTCOME_UNKNOWN: ErrorReason
UPSTREAM_ERROR: ErrorReason
CURSOR_OUT_OF_RANGE: ErrorReason
CURSOR_AHEAD: ErrorReason
CONSUMER_GROUP_FILTER_MISMATCH: ErrorReason
CONSUMER_GROUP_DELETED: ErrorReason
SHUTTING_DOWN: ErrorReason
INTERNAL: ErrorReason
STORE_UNAVAILABLE: ErrorReason
STORE_FULL: ErrorReason
TOO_MANY_CONSUMER_GROUPS: ErrorReason
MISSING_KEY: ErrorReason
INVALID_KEY: ErrorReason
KEY_REVOKED: ErrorReason
PERMISSION_MISSING: ErrorReason
SIGN_NOT_ALLOWED: ErrorReason
RATE_LIMITED: ErrorReason
DAILY_QUOTA_EXCEEDED: ErrorReason
VERIFICATION_CODE_LIMIT: ErrorReason
