"""Pure messaging rules (no I/O): phone numbers, sign and content, segments, batching.

Imports nothing else of smsgateway; the gRPC edge turns the `Violation`s into a
`google.rpc.BadRequest`.
"""

from smsgateway.messaging.batching import MAX_CHARS_PER_CALL, MAX_NUMBERS_PER_CALL, plan_batches
from smsgateway.messaging.content import (
    CONTENT_MAX,
    MULTI_SEGMENT_PART,
    SIGN_MAX,
    SINGLE_SEGMENT_MAX,
    TEMPLATE_ID_MAX,
    TEMPLATE_PARAMS_MAX,
    estimate_segments,
    prepare_content,
    provider_length,
    validate_sign,
    validate_template_id,
    validate_template_params,
)
from smsgateway.messaging.phones import (
    MAX_NUMBERS,
    MAX_VIOLATIONS,
    PhoneNumbers,
    mask_phone,
    mask_phones_in_text,
    normalize_phone_number,
    normalize_phone_numbers,
    phone_number_problem,
)
from smsgateway.messaging.violations import Violation

__all__ = [
    "CONTENT_MAX",
    "MAX_CHARS_PER_CALL",
    "MAX_NUMBERS",
    "MAX_NUMBERS_PER_CALL",
    "MAX_VIOLATIONS",
    "MULTI_SEGMENT_PART",
    "SIGN_MAX",
    "SINGLE_SEGMENT_MAX",
    "TEMPLATE_ID_MAX",
    "TEMPLATE_PARAMS_MAX",
    "PhoneNumbers",
    "Violation",
    "estimate_segments",
    "mask_phone",
    "mask_phones_in_text",
    "normalize_phone_number",
    "normalize_phone_numbers",
    "phone_number_problem",
    "plan_batches",
    "prepare_content",
    "provider_length",
    "validate_sign",
    "validate_template_id",
    "validate_template_params",
]
