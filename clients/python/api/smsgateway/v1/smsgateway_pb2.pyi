import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SmsKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SMS_KIND_UNSPECIFIED: _ClassVar[SmsKind]
    SMS_KIND_VERIFICATION_CODE: _ClassVar[SmsKind]
    SMS_KIND_NOTICE: _ClassVar[SmsKind]
    SMS_KIND_MARKETING: _ClassVar[SmsKind]

class CallOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALL_OUTCOME_UNSPECIFIED: _ClassVar[CallOutcome]
    CALL_OUTCOME_ACCEPTED: _ClassVar[CallOutcome]
    CALL_OUTCOME_REJECTED: _ClassVar[CallOutcome]
    CALL_OUTCOME_NOT_SENT: _ClassVar[CallOutcome]
    CALL_OUTCOME_UNKNOWN: _ClassVar[CallOutcome]

class StartPosition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    START_POSITION_UNSPECIFIED: _ClassVar[StartPosition]
    START_POSITION_LATEST: _ClassVar[StartPosition]
    START_POSITION_EARLIEST: _ClassVar[StartPosition]

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_PENDING: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DELIVERED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_SUBMIT_FAILED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_FAILED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_BLOCKED_WORD: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_REVIEW_REJECTED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_BLOCKLISTED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_RATE_LIMITED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_UNKNOWN: _ClassVar[DeliveryStatus]

class IngestSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INGEST_SOURCE_UNSPECIFIED: _ClassVar[IngestSource]
    INGEST_SOURCE_PUSH: _ClassVar[IngestSource]
    INGEST_SOURCE_PULL: _ClassVar[IngestSource]

class EventStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_STREAM_UNSPECIFIED: _ClassVar[EventStream]
    EVENT_STREAM_DELIVERY_REPORTS: _ClassVar[EventStream]
    EVENT_STREAM_UPLINKS: _ClassVar[EventStream]
SMS_KIND_UNSPECIFIED: SmsKind
SMS_KIND_VERIFICATION_CODE: SmsKind
SMS_KIND_NOTICE: SmsKind
SMS_KIND_MARKETING: SmsKind
CALL_OUTCOME_UNSPECIFIED: CallOutcome
CALL_OUTCOME_ACCEPTED: CallOutcome
CALL_OUTCOME_REJECTED: CallOutcome
CALL_OUTCOME_NOT_SENT: CallOutcome
CALL_OUTCOME_UNKNOWN: CallOutcome
START_POSITION_UNSPECIFIED: StartPosition
START_POSITION_LATEST: StartPosition
START_POSITION_EARLIEST: StartPosition
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_PENDING: DeliveryStatus
DELIVERY_STATUS_DELIVERED: DeliveryStatus
DELIVERY_STATUS_SUBMIT_FAILED: DeliveryStatus
DELIVERY_STATUS_FAILED: DeliveryStatus
DELIVERY_STATUS_BLOCKED_WORD: DeliveryStatus
DELIVERY_STATUS_REVIEW_REJECTED: DeliveryStatus
DELIVERY_STATUS_BLOCKLISTED: DeliveryStatus
DELIVERY_STATUS_RATE_LIMITED: DeliveryStatus
DELIVERY_STATUS_UNKNOWN: DeliveryStatus
INGEST_SOURCE_UNSPECIFIED: IngestSource
INGEST_SOURCE_PUSH: IngestSource
INGEST_SOURCE_PULL: IngestSource
EVENT_STREAM_UNSPECIFIED: EventStream
EVENT_STREAM_DELIVERY_REPORTS: EventStream
EVENT_STREAM_UPLINKS: EventStream

class SendSmsRequest(_message.Message):
    __slots__ = ("phone_numbers", "sign", "content", "kind", "request_id")
    PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    SIGN_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    sign: str
    content: str
    kind: SmsKind
    request_id: str
    def __init__(self, phone_numbers: _Optional[_Iterable[str]] = ..., sign: _Optional[str] = ..., content: _Optional[str] = ..., kind: _Optional[_Union[SmsKind, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SendSmsResponse(_message.Message):
    __slots__ = ("request_id", "calls", "recipient_count", "accepted_count", "failed_count", "unknown_count", "suppressed_phone_numbers", "segments_per_message", "content", "replayed", "violations")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_PER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    calls: _containers.RepeatedCompositeFieldContainer[UpstreamCall]
    recipient_count: int
    accepted_count: int
    failed_count: int
    unknown_count: int
    suppressed_phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    segments_per_message: int
    content: str
    replayed: bool
    violations: _containers.RepeatedCompositeFieldContainer[RecipientViolation]
    def __init__(self, request_id: _Optional[str] = ..., calls: _Optional[_Iterable[_Union[UpstreamCall, _Mapping]]] = ..., recipient_count: _Optional[int] = ..., accepted_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., unknown_count: _Optional[int] = ..., suppressed_phone_numbers: _Optional[_Iterable[str]] = ..., segments_per_message: _Optional[int] = ..., content: _Optional[str] = ..., replayed: _Optional[bool] = ..., violations: _Optional[_Iterable[_Union[RecipientViolation, _Mapping]]] = ...) -> None: ...

class RecipientViolation(_message.Message):
    __slots__ = ("phone_number", "reason", "description", "retry_delay")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    reason: str
    description: str
    retry_delay: _duration_pb2.Duration
    def __init__(self, phone_number: _Optional[str] = ..., reason: _Optional[str] = ..., description: _Optional[str] = ..., retry_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SendFailure(_message.Message):
    __slots__ = ("request_id", "call_count", "recipient_count", "accepted_count", "failed_count", "unknown_count", "first_failures", "replayed")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_FAILURES_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    call_count: int
    recipient_count: int
    accepted_count: int
    failed_count: int
    unknown_count: int
    first_failures: _containers.RepeatedCompositeFieldContainer[FailedCall]
    replayed: bool
    def __init__(self, request_id: _Optional[str] = ..., call_count: _Optional[int] = ..., recipient_count: _Optional[int] = ..., accepted_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., unknown_count: _Optional[int] = ..., first_failures: _Optional[_Iterable[_Union[FailedCall, _Mapping]]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class FailedCall(_message.Message):
    __slots__ = ("index", "outcome", "recipient_count", "provider_code", "message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    outcome: CallOutcome
    recipient_count: int
    provider_code: str
    message: str
    def __init__(self, index: _Optional[int] = ..., outcome: _Optional[_Union[CallOutcome, str]] = ..., recipient_count: _Optional[int] = ..., provider_code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class UpstreamCall(_message.Message):
    __slots__ = ("index", "phone_numbers", "biz_id", "outcome", "provider_code", "message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    BIZ_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    biz_id: str
    outcome: CallOutcome
    provider_code: str
    message: str
    def __init__(self, index: _Optional[int] = ..., phone_numbers: _Optional[_Iterable[str]] = ..., biz_id: _Optional[str] = ..., outcome: _Optional[_Union[CallOutcome, str]] = ..., provider_code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class GetSendRequest(_message.Message):
    __slots__ = ("request_id", "page_size", "page_token")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    page_size: int
    page_token: str
    def __init__(self, request_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetSendResponse(_message.Message):
    __slots__ = ("request_id", "calls", "call_count", "recipient_count", "accepted_count", "failed_count", "unknown_count", "suppressed_phone_numbers", "segments_per_message", "content", "next_page_token")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    CALL_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_PER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    calls: _containers.RepeatedCompositeFieldContainer[SendCallStatus]
    call_count: int
    recipient_count: int
    accepted_count: int
    failed_count: int
    unknown_count: int
    suppressed_phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    segments_per_message: int
    content: str
    next_page_token: str
    def __init__(self, request_id: _Optional[str] = ..., calls: _Optional[_Iterable[_Union[SendCallStatus, _Mapping]]] = ..., call_count: _Optional[int] = ..., recipient_count: _Optional[int] = ..., accepted_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., unknown_count: _Optional[int] = ..., suppressed_phone_numbers: _Optional[_Iterable[str]] = ..., segments_per_message: _Optional[int] = ..., content: _Optional[str] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SendCallStatus(_message.Message):
    __slots__ = ("call", "recipients", "delivered_count", "pending_count", "undelivered_count")
    CALL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNDELIVERED_COUNT_FIELD_NUMBER: _ClassVar[int]
    call: UpstreamCall
    recipients: _containers.RepeatedCompositeFieldContainer[RecipientStatus]
    delivered_count: int
    pending_count: int
    undelivered_count: int
    def __init__(self, call: _Optional[_Union[UpstreamCall, _Mapping]] = ..., recipients: _Optional[_Iterable[_Union[RecipientStatus, _Mapping]]] = ..., delivered_count: _Optional[int] = ..., pending_count: _Optional[int] = ..., undelivered_count: _Optional[int] = ...) -> None: ...

class SendTemplateSmsRequest(_message.Message):
    __slots__ = ("phone_numbers", "sign", "template_id", "template_params_json", "content", "kind", "request_id")
    PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    SIGN_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    sign: str
    template_id: str
    template_params_json: str
    content: str
    kind: SmsKind
    request_id: str
    def __init__(self, phone_numbers: _Optional[_Iterable[str]] = ..., sign: _Optional[str] = ..., template_id: _Optional[str] = ..., template_params_json: _Optional[str] = ..., content: _Optional[str] = ..., kind: _Optional[_Union[SmsKind, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SendTemplateSmsResponse(_message.Message):
    __slots__ = ("request_id", "calls", "recipient_count", "accepted_count", "failed_count", "unknown_count", "suppressed_phone_numbers", "segments_per_message", "content", "replayed", "violations")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_PER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    calls: _containers.RepeatedCompositeFieldContainer[UpstreamCall]
    recipient_count: int
    accepted_count: int
    failed_count: int
    unknown_count: int
    suppressed_phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    segments_per_message: int
    content: str
    replayed: bool
    violations: _containers.RepeatedCompositeFieldContainer[RecipientViolation]
    def __init__(self, request_id: _Optional[str] = ..., calls: _Optional[_Iterable[_Union[UpstreamCall, _Mapping]]] = ..., recipient_count: _Optional[int] = ..., accepted_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., unknown_count: _Optional[int] = ..., suppressed_phone_numbers: _Optional[_Iterable[str]] = ..., segments_per_message: _Optional[int] = ..., content: _Optional[str] = ..., replayed: _Optional[bool] = ..., violations: _Optional[_Iterable[_Union[RecipientViolation, _Mapping]]] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("balance", "fetch_time")
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    FETCH_TIME_FIELD_NUMBER: _ClassVar[int]
    balance: str
    fetch_time: _timestamp_pb2.Timestamp
    def __init__(self, balance: _Optional[str] = ..., fetch_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeliveryReport(_message.Message):
    __slots__ = ("cursor", "biz_id", "phone_number", "status", "provider_code", "success", "message", "sms_size", "send_time", "report_time", "receive_time", "source")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    BIZ_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_CODE_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SMS_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    REPORT_TIME_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    cursor: int
    biz_id: str
    phone_number: str
    status: DeliveryStatus
    provider_code: str
    success: bool
    message: str
    sms_size: int
    send_time: _timestamp_pb2.Timestamp
    report_time: _timestamp_pb2.Timestamp
    receive_time: _timestamp_pb2.Timestamp
    source: IngestSource
    def __init__(self, cursor: _Optional[int] = ..., biz_id: _Optional[str] = ..., phone_number: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., provider_code: _Optional[str] = ..., success: _Optional[bool] = ..., message: _Optional[str] = ..., sms_size: _Optional[int] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., report_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[IngestSource, str]] = ...) -> None: ...

class Uplink(_message.Message):
    __slots__ = ("cursor", "phone_number", "content", "sign", "sequence_id", "send_time", "receive_time", "source", "opt_out")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SIGN_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    OPT_OUT_FIELD_NUMBER: _ClassVar[int]
    cursor: int
    phone_number: str
    content: str
    sign: str
    sequence_id: int
    send_time: _timestamp_pb2.Timestamp
    receive_time: _timestamp_pb2.Timestamp
    source: IngestSource
    opt_out: bool
    def __init__(self, cursor: _Optional[int] = ..., phone_number: _Optional[str] = ..., content: _Optional[str] = ..., sign: _Optional[str] = ..., sequence_id: _Optional[int] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[IngestSource, str]] = ..., opt_out: _Optional[bool] = ...) -> None: ...

class DeliveryReportFilter(_message.Message):
    __slots__ = ("biz_ids", "phone_numbers", "sign", "statuses")
    BIZ_IDS_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    SIGN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    biz_ids: _containers.RepeatedScalarFieldContainer[str]
    phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    sign: str
    statuses: _containers.RepeatedScalarFieldContainer[DeliveryStatus]
    def __init__(self, biz_ids: _Optional[_Iterable[str]] = ..., phone_numbers: _Optional[_Iterable[str]] = ..., sign: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[DeliveryStatus, str]]] = ...) -> None: ...

class UplinkFilter(_message.Message):
    __slots__ = ("phone_numbers", "sign")
    PHONE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    SIGN_FIELD_NUMBER: _ClassVar[int]
    phone_numbers: _containers.RepeatedScalarFieldContainer[str]
    sign: str
    def __init__(self, phone_numbers: _Optional[_Iterable[str]] = ..., sign: _Optional[str] = ...) -> None: ...

class StreamStart(_message.Message):
    __slots__ = ("position", "after_cursor", "start_time")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    position: StartPosition
    after_cursor: int
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, position: _Optional[_Union[StartPosition, str]] = ..., after_cursor: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConsumerGroupOptions(_message.Message):
    __slots__ = ("name", "ack_deadline", "max_outstanding")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACK_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    name: str
    ack_deadline: _duration_pb2.Duration
    max_outstanding: int
    def __init__(self, name: _Optional[str] = ..., ack_deadline: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_outstanding: _Optional[int] = ...) -> None: ...

class StreamDeliveryReportsRequest(_message.Message):
    __slots__ = ("start", "filter", "consumer_group", "max_events_per_response")
    START_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_GROUP_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_PER_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    start: StreamStart
    filter: DeliveryReportFilter
    consumer_group: ConsumerGroupOptions
    max_events_per_response: int
    def __init__(self, start: _Optional[_Union[StreamStart, _Mapping]] = ..., filter: _Optional[_Union[DeliveryReportFilter, _Mapping]] = ..., consumer_group: _Optional[_Union[ConsumerGroupOptions, _Mapping]] = ..., max_events_per_response: _Optional[int] = ...) -> None: ...

class StreamDeliveryReportsResponse(_message.Message):
    __slots__ = ("report", "reports")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    report: DeliveryReport
    reports: _containers.RepeatedCompositeFieldContainer[DeliveryReport]
    def __init__(self, report: _Optional[_Union[DeliveryReport, _Mapping]] = ..., reports: _Optional[_Iterable[_Union[DeliveryReport, _Mapping]]] = ...) -> None: ...

class StreamUplinksRequest(_message.Message):
    __slots__ = ("start", "filter", "consumer_group", "max_events_per_response")
    START_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_GROUP_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_PER_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    start: StreamStart
    filter: UplinkFilter
    consumer_group: ConsumerGroupOptions
    max_events_per_response: int
    def __init__(self, start: _Optional[_Union[StreamStart, _Mapping]] = ..., filter: _Optional[_Union[UplinkFilter, _Mapping]] = ..., consumer_group: _Optional[_Union[ConsumerGroupOptions, _Mapping]] = ..., max_events_per_response: _Optional[int] = ...) -> None: ...

class StreamUplinksResponse(_message.Message):
    __slots__ = ("uplink", "uplinks")
    UPLINK_FIELD_NUMBER: _ClassVar[int]
    UPLINKS_FIELD_NUMBER: _ClassVar[int]
    uplink: Uplink
    uplinks: _containers.RepeatedCompositeFieldContainer[Uplink]
    def __init__(self, uplink: _Optional[_Union[Uplink, _Mapping]] = ..., uplinks: _Optional[_Iterable[_Union[Uplink, _Mapping]]] = ...) -> None: ...

class AcknowledgeEventsRequest(_message.Message):
    __slots__ = ("stream", "consumer_group", "cursors")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_GROUP_FIELD_NUMBER: _ClassVar[int]
    CURSORS_FIELD_NUMBER: _ClassVar[int]
    stream: EventStream
    consumer_group: str
    cursors: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, stream: _Optional[_Union[EventStream, str]] = ..., consumer_group: _Optional[str] = ..., cursors: _Optional[_Iterable[int]] = ...) -> None: ...

class AcknowledgeEventsResponse(_message.Message):
    __slots__ = ("acknowledged_count",)
    ACKNOWLEDGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    acknowledged_count: int
    def __init__(self, acknowledged_count: _Optional[int] = ...) -> None: ...

class DeleteConsumerGroupRequest(_message.Message):
    __slots__ = ("stream", "consumer_group")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_GROUP_FIELD_NUMBER: _ClassVar[int]
    stream: EventStream
    consumer_group: str
    def __init__(self, stream: _Optional[_Union[EventStream, str]] = ..., consumer_group: _Optional[str] = ...) -> None: ...

class DeleteConsumerGroupResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class GetSendStatusRequest(_message.Message):
    __slots__ = ("biz_id",)
    BIZ_ID_FIELD_NUMBER: _ClassVar[int]
    biz_id: str
    def __init__(self, biz_id: _Optional[str] = ...) -> None: ...

class GetSendStatusResponse(_message.Message):
    __slots__ = ("biz_id", "recipients", "total_count", "delivered_count", "pending_count", "failed_count", "caller")
    BIZ_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    biz_id: str
    recipients: _containers.RepeatedCompositeFieldContainer[RecipientStatus]
    total_count: int
    delivered_count: int
    pending_count: int
    failed_count: int
    caller: str
    def __init__(self, biz_id: _Optional[str] = ..., recipients: _Optional[_Iterable[_Union[RecipientStatus, _Mapping]]] = ..., total_count: _Optional[int] = ..., delivered_count: _Optional[int] = ..., pending_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., caller: _Optional[str] = ...) -> None: ...

class RecipientStatus(_message.Message):
    __slots__ = ("phone_number", "status", "report")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    status: DeliveryStatus
    report: DeliveryReport
    def __init__(self, phone_number: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., report: _Optional[_Union[DeliveryReport, _Mapping]] = ...) -> None: ...

class ListDeliveryReportsRequest(_message.Message):
    __slots__ = ("filter", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: DeliveryReportFilter
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[DeliveryReportFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDeliveryReportsResponse(_message.Message):
    __slots__ = ("reports", "next_page_token")
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[DeliveryReport]
    next_page_token: str
    def __init__(self, reports: _Optional[_Iterable[_Union[DeliveryReport, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListUplinksRequest(_message.Message):
    __slots__ = ("filter", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: UplinkFilter
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[UplinkFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUplinksResponse(_message.Message):
    __slots__ = ("uplinks", "next_page_token")
    UPLINKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    uplinks: _containers.RepeatedCompositeFieldContainer[Uplink]
    next_page_token: str
    def __init__(self, uplinks: _Optional[_Iterable[_Union[Uplink, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Suppression(_message.Message):
    __slots__ = ("sign", "phone_number", "reason", "create_time")
    SIGN_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    sign: str
    phone_number: str
    reason: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, sign: _Optional[str] = ..., phone_number: _Optional[str] = ..., reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSuppressionsRequest(_message.Message):
    __slots__ = ("sign", "page_size", "page_token")
    SIGN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sign: str
    page_size: int
    page_token: str
    def __init__(self, sign: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSuppressionsResponse(_message.Message):
    __slots__ = ("suppressions", "next_page_token")
    SUPPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    suppressions: _containers.RepeatedCompositeFieldContainer[Suppression]
    next_page_token: str
    def __init__(self, suppressions: _Optional[_Iterable[_Union[Suppression, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AddSuppressionRequest(_message.Message):
    __slots__ = ("sign", "phone_number", "reason")
    SIGN_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    sign: str
    phone_number: str
    reason: str
    def __init__(self, sign: _Optional[str] = ..., phone_number: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AddSuppressionResponse(_message.Message):
    __slots__ = ("suppression",)
    SUPPRESSION_FIELD_NUMBER: _ClassVar[int]
    suppression: Suppression
    def __init__(self, suppression: _Optional[_Union[Suppression, _Mapping]] = ...) -> None: ...

class RemoveSuppressionRequest(_message.Message):
    __slots__ = ("sign", "phone_number")
    SIGN_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    sign: str
    phone_number: str
    def __init__(self, sign: _Optional[str] = ..., phone_number: _Optional[str] = ...) -> None: ...

class RemoveSuppressionResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: _Optional[bool] = ...) -> None: ...
