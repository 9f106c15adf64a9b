"""Sign, content, segments and template rules of the provider's send calls.

Lengths are counted as the provider counts them. The provider is a Java service and
its limits ("最大长度") are string lengths, i.e. UTF-16 code units; an SMS travels as
UCS-2/UTF-16 too. So a Chinese character, a letter, a digit, a space, a line break and
each of the brackets 【】 count 1, and a character outside the Basic Multilingual Plane
(most emoji) counts 2. This never under-counts what the provider will count.

Decisions:

* The sign is checked as given (no trimming): 1 to 20 characters, no surrounding
  whitespace, no brackets ``【】〖〗[]`` (the gateway adds 【】, and the provider may take
  ``[x]`` for a sign as well), no control or format characters, no line breaks.
* Content is trimmed of surrounding whitespace. If it starts with ``【sign】`` (the
  request's sign) it is kept; otherwise ``【sign】`` is put in front. Content that starts
  with a *different* ``【x】`` is rejected: adding our prefix would send two signs, which
  operators refuse, and sending it as is would use a sign the caller did not ask for.
  (Write ``【sign】【x】...`` to really start the text with ``【x】``.) The 1,000
  character limit applies to the text as sent, prefix included.
* Control characters other than line breaks and tabs are rejected in content.
* Template parameters are sent with the insignificant whitespace (outside strings)
  removed and everything else verbatim: numbers such as ``1.10`` keep their spelling,
  which a decode/encode round trip would not. The 100 character limit applies to that
  text. Duplicate keys, ``NaN`` and ``Infinity`` are rejected (not JSON, or ambiguous).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Final

from smsgateway.messaging.violations import Violation

SIGN_MAX: Final = 20
"""The provider's limit on the sign, brackets excluded."""
CONTENT_MAX: Final = 1000
"""The provider's limit on the content, 【sign】 included."""
TEMPLATE_PARAMS_MAX: Final = 100
"""The provider's limit on ``paramJson``."""
TEMPLATE_ID_MAX: Final = 20
"""The provider's limit on ``templateId``."""
SINGLE_SEGMENT_MAX: Final = 70
"""Characters that fit in one SMS."""
MULTI_SEGMENT_PART: Final = 67
"""Characters per part of a long (concatenated) SMS; the rest of a part is its header."""

_SIGN_BRACKETS: Final = frozenset("【】〖〗[]")
_SIGN_BAD_CATEGORIES: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_CONTENT_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TEMPLATE_ID: Final = re.compile(r"[A-Za-z0-9]+\Z")
_JSON_TOKEN: Final = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\n\r]+', re.DOTALL)
_QUOTE_MAX: Final = 40
_TEMPLATE_PARAMS_PARSE_MAX: Final = 4000
"""Longer parameter text is rejected unparsed: it cannot shrink to 100 characters
unless it is mostly whitespace, and parsing it only costs time."""


def provider_length(text: str) -> int:
    """The length of `text` as the provider counts it (UTF-16 code units)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def validate_sign(sign: str, field: str = "sign") -> list[Violation]:
    """Check a sign (the sender's name, without 【】)."""
    if not sign or sign.isspace():
        return [Violation(field, f"a sign is required (1 to {SIGN_MAX} characters, without 【】)")]
    violations: list[Violation] = []
    if sign != sign.strip():
        violations.append(Violation(field, f"{_quote(sign)} must not start or end with whitespace"))
    brackets = sorted({ch for ch in sign if ch in _SIGN_BRACKETS})
    if brackets:
        violations.append(
            Violation(
                field,
                f"{_quote(sign)} must not contain {' '.join(brackets)}: give the sign without "
                "brackets, the gateway adds 【】",
            )
        )
    for ch in sign:
        if unicodedata.category(ch) in _SIGN_BAD_CATEGORIES:
            violations.append(
                Violation(
                    field,
                    f"{_quote(sign)} contains the control or invisible character U+{ord(ch):04X}",
                )
            )
            break
    length = provider_length(sign)
    if length > SIGN_MAX:
        violations.append(
            Violation(field, f"is {length} characters long; at most {SIGN_MAX} are allowed")
        )
    return violations


def prepare_content(sign: str, content: str, field: str = "content") -> tuple[str, list[Violation]]:
    """The content as it will be sent (``【sign】`` in front), and what is wrong with it.

    The sign itself is not checked here (see `validate_sign`); with an empty sign no
    prefix is added or expected.
    """
    text = content.strip()
    if not text:
        return "", [Violation(field, "a message text is required")]
    violations: list[Violation] = []
    control = _CONTENT_CONTROL.search(content)
    if control is not None:
        violations.append(
            Violation(
                field,
                f"contains the control character U+{ord(control.group()):04X} "
                f"at position {control.start()}",
            )
        )
    if not sign:
        full = text
    else:
        prefix = f"【{sign}】"
        if text.startswith(prefix):
            full = text
            if not text[len(prefix) :].strip():
                violations.append(Violation(field, f"has no text after the sign {prefix}"))
        else:
            full = prefix + text
            other = _leading_sign(text)
            if other is not None:
                violations.append(
                    Violation(
                        field,
                        f"starts with the sign 【{other}】, which is not the request's sign "
                        f"{_quote(sign)}: leave the sign out of the content (the gateway adds "
                        f"{prefix}), or write {prefix}【{other}】… to keep 【{other}】 as text",
                    )
                )
    length = provider_length(full)
    if length > CONTENT_MAX:
        violations.append(
            Violation(
                field,
                f"is {length} characters long with the 【sign】 prefix; "
                f"at most {CONTENT_MAX} are allowed",
            )
        )
    return full, violations


def _leading_sign(text: str) -> str | None:
    """The x of a leading 【x】 that has the shape of a sign, else None."""
    if not text.startswith("【"):
        return None
    end = text.find("】", 1, SIGN_MAX + 2)
    if end <= 1:
        return None
    return text[1:end]


def estimate_segments(content: str) -> int:
    """Billed SMS per recipient: 1 up to 70 characters, else one per 67 (rounded up).

    Pass the content as sent (``【sign】`` included); counted as `provider_length` counts.
    Empty text is 0 segments.
    """
    length = provider_length(content)
    if length == 0:
        return 0
    if length <= SINGLE_SEGMENT_MAX:
        return 1
    return -(-length // MULTI_SEGMENT_PART)


def validate_template_id(template_id: str, field: str = "template_id") -> list[Violation]:
    """Check a template id: 1 to 20 ASCII letters or digits."""
    if not template_id:
        return [Violation(field, "a template id is required")]
    violations: list[Violation] = []
    if not (template_id.isascii() and _TEMPLATE_ID.match(template_id)):
        shown = template_id if len(template_id) <= 40 else template_id[:40] + "…"
        violations.append(Violation(field, f"{shown!r} may contain only ASCII letters and digits"))
    if len(template_id) > TEMPLATE_ID_MAX:
        violations.append(
            Violation(
                field,
                f"is {len(template_id)} characters long; at most {TEMPLATE_ID_MAX} are allowed",
            )
        )
    return violations


def validate_template_params(
    params_json: str, field: str = "template_params_json"
) -> tuple[str, list[Violation]]:
    """The parameter text to send (whitespace outside strings removed), and what is wrong.

    Must be a JSON object or array of at most 100 characters as sent.
    """
    text = params_json.strip()
    if not text:
        return "", [Violation(field, 'template parameters are required, e.g. {"code":"123456"}')]
    if len(text) > _TEMPLATE_PARAMS_PARSE_MAX:
        return text, [
            Violation(
                field,
                f"is {len(text)} characters long; at most {TEMPLATE_PARAMS_MAX} are allowed",
            )
        ]
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_dup_keys)
    except json.JSONDecodeError as exc:
        return text, [
            Violation(
                field,
                f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            )
        ]
    except _RejectedJsonError as exc:
        return text, [Violation(field, str(exc))]
    except RecursionError:
        return text, [Violation(field, "is nested too deeply")]
    if not isinstance(value, dict | list):
        return text, [Violation(field, f"must be a JSON object or array, not {_json_kind(value)}")]
    compact = _JSON_TOKEN.sub(_keep_strings, text)
    length = provider_length(compact)
    if length > TEMPLATE_PARAMS_MAX:
        return compact, [
            Violation(
                field,
                f"is {length} characters long as sent (whitespace removed); "
                f"at most {TEMPLATE_PARAMS_MAX} are allowed",
            )
        ]
    return compact, []


class _RejectedJsonError(ValueError):
    """JSON that `json.loads` would take but the gateway refuses; the text is the reason."""


def _no_dup_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RejectedJsonError(f"has the key {key!r} more than once")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN/Infinity, which JSON does not have.
    raise _RejectedJsonError(f"is not valid JSON: {name} is not a JSON value")


def _quote(text: str) -> str:
    """The caller's text for an error message, cut short if it is long."""
    return repr(text if len(text) <= _QUOTE_MAX else text[:_QUOTE_MAX] + "…")


def _keep_strings(match: re.Match[str]) -> str:
    return match.group(1) or ""


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a number"
