"""Recipient phone numbers: normalise, validate, de-duplicate, mask.

The provider delivers to mainland China mobiles only, so every accepted number is
normalised to its 11-digit national form (``13651688564``). Decisions:

* Accepted forms: ``13651688564``, ``136 5168 8564``, ``136-5168-8564``,
  ``+86 136-5168-8564``, ``8613651688564``, ``008613651688564``, full-width digits,
  ``＋``, full-width punctuation and ideographic spaces, and whatever else
  `phonenumbers` parses as a mainland mobile (a trunk ``0``, carrier prefixes).
* One entry may hold several numbers separated by ``,`` ``，`` ``;`` ``；`` ``、`` or line
  breaks; empty pieces between separators (a trailing comma) are ignored, an entry with
  no number at all is a violation. Spaces are *not* separators: they occur inside
  formatted numbers.
* Letters, ``#``, ``*`` and other characters are rejected outright (`phonenumbers`
  would read letters as a keypad spelling and silently drop trailing junk).
* Valid numbers outside mainland China (Hong Kong, +1, ...) are rejected: "only
  mainland China mobile numbers are supported". Valid mainland numbers that are not
  mobiles (landlines, 400/800 numbers) are rejected as such.

* A request that holds more than `MAX_VIOLATIONS` invalid numbers lists the first ones
  and says there are more: the error must fit in gRPC trailers, and garbage must not
  cost a general parse per entry.

Speed: plain 11-digit mainland mobiles are recognised a few thousand at a time by
regular expressions over the joined list (`mobiles.not_plain`, ~0.3 µs a number), and
de-duplicated with one set, without Python code per number; the ``+86``/``86``/
``0086``/trunk-``0`` and formatted spellings by one regular expression each (~3 µs).
Both are compiled from `phonenumbers`' own metadata, so they agree with the library
exactly; only rarer forms and invalid input pay for the general parse (~50 µs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from smsgateway.messaging.mobiles import FAST_MOBILE, MOBILE_DIGITS, not_plain
from smsgateway.messaging.violations import Violation

MAX_NUMBERS: Final = 100_000
"""Default cap on recipients per request (numbers as given, before de-duplication)."""

MAX_VIOLATIONS: Final = 20
"""Default cap on listed invalid numbers: about 3 KiB of ``BadRequest`` in the trailers."""

_REGION: Final = "CN"
_COUNTRY_CODE: Final = 86
_QUOTE_MAX: Final = 40
"""Longest input quoted verbatim in a violation; longer input is cut with an ellipsis."""
_CHUNK: Final = 4096
"""Entries checked per bulk pass: a pass holds the GIL for about a millisecond."""

_SEPARATORS: Final = re.compile(r"[,，;；、\r\n\u2028\u2029]")

_TO_ASCII: Final = str.maketrans(
    {
        **{chr(0xFF10 + d): str(d) for d in range(10)},  # full-width digits
        "＋": "+",
        "－": "-",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "−": "-",
        "（": "(",
        "）": ")",
        "．": ".",
        "\u3000": " ",  # ideographic space
        "\u00a0": " ",
        "\u202f": " ",
        "\t": " ",
    }
)
_BAD_CHAR: Final = re.compile(r"[^0-9+\-(). ]")
_FORMATTING: Final = b"+-(). "
"""Deleted from an all-ASCII number to leave its digits (bytes.translate is the fast way)."""

_PARSE_ERRORS: Final = {
    NumberParseException.INVALID_COUNTRY_CODE: "is not a valid phone number: unknown country code",
    NumberParseException.NOT_A_NUMBER: "is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is not a valid phone number: too short",
    NumberParseException.TOO_SHORT_NSN: "is not a valid phone number: too short",
    NumberParseException.TOO_LONG: "is not a valid phone number: too long",
}
_NOT_MOBILE: Final = {
    PhoneNumberType.FIXED_LINE: "is a landline number",
    PhoneNumberType.TOLL_FREE: "is a toll-free number",
    PhoneNumberType.PREMIUM_RATE: "is a premium-rate number",
    PhoneNumberType.SHARED_COST: "is a shared-cost number",
    PhoneNumberType.VOIP: "is a VoIP number",
}
_LENGTH_HINTS: Final = {
    phonenumbers.ValidationResult.TOO_SHORT: ": too short",
    phonenumbers.ValidationResult.TOO_LONG: ": too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: ": wrong number of digits",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: ": unknown country code",
}
_ONLY_MOBILES: Final = "only mobile numbers can receive SMS"
_ONLY_MAINLAND: Final = "only mainland China mobile numbers are supported"


@dataclass(frozen=True, slots=True)
class PhoneNumbers:
    """The outcome of validating a request's recipients."""

    numbers: tuple[str, ...]
    """Valid numbers, normalised to 11 digits, de-duplicated, in first-seen order."""
    violations: tuple[Violation, ...]
    """One per invalid number or empty entry (field ``phone_numbers[i]``), up to a cap
    (then one on the whole field saying more were left out), or one on the whole field
    when the list is empty or too long. Empty when every number is valid."""
    duplicates: int
    """How many valid numbers were dropped because an equal one came earlier."""


def normalize_phone_numbers(
    entries: Sequence[str],
    field: str = "phone_numbers",
    max_numbers: int = MAX_NUMBERS,
    *,
    max_violations: int = MAX_VIOLATIONS,
) -> PhoneNumbers:
    """Validate and normalise a request's recipient list.

    `max_numbers` caps the numbers as given (before de-duplication); past the cap the
    list is not examined further and a single violation on `field` is returned.
    After `max_violations` invalid numbers the list is not examined further either: one
    more violation on `field` says so, and `numbers` holds only what came before.
    """
    if not entries:
        return _whole_field(field, "at least one phone number is required")
    if len(entries) > max_numbers:
        return _too_many(field, max_numbers, f"got {len(entries)}")
    tally = _Tally(field, max_numbers, max_violations)
    for base in range(0, len(entries), _CHUNK):
        chunk = entries[base : base + _CHUNK]
        start = 0
        for offset in not_plain(chunk):  # usually none: one pass of C per chunk
            tally.plain(chunk[start:offset])
            start = offset + 1
            stop = tally.other(base + offset, chunk[offset])
            if stop is not None:
                return stop
        tally.plain(chunk[start:])
    return tally.result()


class _Tally:
    """What `normalize_phone_numbers` found so far, entry by entry in request order."""

    __slots__ = (
        "distinct",
        "field",
        "given",
        "max_numbers",
        "max_violations",
        "valid",
        "violations",
    )

    def __init__(self, field: str, max_numbers: int, max_violations: int) -> None:
        self.field, self.max_numbers, self.max_violations = field, max_numbers, max_violations
        self.valid: list[str] = []
        """Valid numbers, normalised, duplicates included, in request order."""
        self.distinct: set[str] = set()
        self.violations: list[Violation] = []
        self.given = 0
        """Numbers as given: entries so far, each separated piece counted."""

    def result(self) -> PhoneNumbers:
        valid, distinct = self.valid, len(self.distinct)
        # Duplicates are rare: then the order is kept without another pass.
        numbers = tuple(valid) if distinct == len(valid) else tuple(dict.fromkeys(valid))
        return PhoneNumbers(numbers, tuple(self.violations), len(valid) - distinct)

    def plain(self, run: Sequence[str]) -> None:
        """Entries that are each one plain 11-digit mobile (the common case)."""
        self.valid += run
        self.distinct.update(run)
        self.given += len(run)

    def other(self, index: int, entry: str) -> PhoneNumbers | None:
        """Any other entry; returns the final outcome when the list is not to be
        examined further (too many numbers, too many violations)."""
        pieces = [piece for piece in (p.strip() for p in _SEPARATORS.split(entry)) if piece]
        self.given += len(pieces)
        if self.given > self.max_numbers:
            return _too_many(self.field, self.max_numbers, "the request holds more")
        violations, cap = self.violations, self.max_violations
        problems: list[str] = [] if pieces else ["empty entry: expected a phone number"]
        for piece in pieces:
            number, reason = _parse(piece)
            if number is not None:
                self.valid.append(number)
                self.distinct.add(number)
                continue
            problems.append(f"{_quote(piece)} {reason}")
            if len(violations) + len(problems) > cap:
                # The request fails anyway; more only bloats the error (gRPC trailers
                # hold a few KiB) and costs a general parse per invalid number.
                break
        for problem in problems:
            if len(violations) == cap:
                violations.append(
                    Violation(
                        self.field,
                        f"more than {cap} invalid phone numbers; only the first {cap} are listed",
                    )
                )
                return self.result()
            violations.append(Violation(f"{self.field}[{index}]", problem))
        return None


def normalize_phone_number(text: str) -> str | None:
    """One number in any accepted form -> its 11-digit form, or None if not acceptable."""
    if FAST_MOBILE.match(text):
        return text
    piece = text.strip()
    if not piece or _SEPARATORS.search(piece):
        return None
    return _parse(piece)[0]


def phone_number_problem(text: str) -> str | None:
    """Why `text` is not one acceptable number (e.g. "is not a valid phone number: too
    short"), or None when it is. For callers that validate single numbers themselves."""
    piece = text.strip()
    if not piece:
        return "is empty: expected a phone number"
    if _SEPARATORS.search(piece):
        return "holds more than one phone number"
    return _parse(piece)[1] or None


def _parse(piece: str) -> tuple[str | None, str]:
    """(normalised number, "") or (None, reason). `piece` is stripped and non-empty."""
    text = piece if piece.isascii() else piece.translate(_TO_ASCII)
    if text.isascii() and text.isdigit():
        plus = False
        digits = text
    else:
        bad = _BAD_CHAR.search(text)
        if bad is not None:
            return None, f"is not a valid phone number: it contains {bad.group()!r}"
        start = text.lstrip("( ")  # "(+86) 136..." is a common way to write it
        plus = start.startswith("+")
        if "+" in start[1:] or (not plus and "+" in text):
            return None, "is not a valid phone number: '+' may only come first"
        digits = text.encode("ascii").translate(None, _FORMATTING).decode("ascii")
        if not digits:
            return None, "is not a phone number: it has no digits"
    national = _mainland_mobile(digits, plus)
    if national is not None:
        return national, ""
    return _parse_general(text)


def _mainland_mobile(digits: str, plus: bool) -> str | None:
    """The common spellings of a mainland mobile, without the general parse.

    Strips ``+86``, ``0086``, a bare ``86`` before 11 digits and then a trunk ``0``, the
    way `phonenumbers` would; anything else is left to it.
    """
    if plus:
        if not digits.startswith("86"):
            return None
        digits = digits[2:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == MOBILE_DIGITS + 2 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == MOBILE_DIGITS + 1 and digits.startswith("0"):
        digits = digits[1:]
    return digits if FAST_MOBILE.match(digits) else None


def _parse_general(text: str) -> tuple[str | None, str]:
    """The slow path through `phonenumbers`, which also explains what is wrong."""
    try:
        parsed = phonenumbers.parse(text, _REGION)
    except NumberParseException as exc:
        return None, _PARSE_ERRORS.get(exc.error_type, "is not a phone number")
    valid = phonenumbers.is_valid_number(parsed)
    if parsed.country_code != _COUNTRY_CODE:
        if valid:
            return None, f"is a number outside mainland China: {_ONLY_MAINLAND}"
        return None, f"is not a valid phone number{_length_hint(parsed)}"
    national = phonenumbers.national_significant_number(parsed)
    if valid:
        kind = phonenumbers.number_type(parsed)
        if (
            kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
            and len(national) == MOBILE_DIGITS
            and not parsed.extension
        ):
            return national, ""
        return None, f"{_NOT_MOBILE.get(kind, 'is not a mobile number')}: {_ONLY_MOBILES}"
    if national.startswith("1"):  # meant as a mobile
        if len(national) != MOBILE_DIGITS:
            word = "short" if len(national) < MOBILE_DIGITS else "long"
            return None, (
                f"is not a valid phone number: too {word} (a mainland mobile number has "
                f"{MOBILE_DIGITS} digits, this has {len(national)})"
            )
        return None, "is not a valid phone number: no mobile network uses this number range"
    return None, f"is not a valid phone number{_length_hint(parsed)}"


def _length_hint(parsed: phonenumbers.PhoneNumber) -> str:
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    return _LENGTH_HINTS.get(reason, "")


def _quote(text: str) -> str:
    if len(text) > _QUOTE_MAX:
        text = text[:_QUOTE_MAX] + "…"
    return repr(text)


def _whole_field(field: str, description: str) -> PhoneNumbers:
    return PhoneNumbers((), (Violation(field, description),), 0)


def _too_many(field: str, max_numbers: int, got: str) -> PhoneNumbers:
    return _whole_field(field, f"at most {max_numbers} phone numbers are allowed, {got}")


# --- masking -----------------------------------------------------------------

_D: Final = "[0-9０-９]"
# Every match starts with one of a few characters, which lets the regex engine skip
# ahead cheaply (a log formatter runs this on every record); the lookbehinds then say
# which of the forms in `mask_phones_in_text` may follow, and that no digit precedes.
_PHONE_IN_TEXT: Final = re.compile(
    rf"""[+＋0０1１8８]
    (?:
        (?<=[+＋])(?:{_D}{{7,15}}|[8８][6６][ -]?[1１]{_D}{{2}}[ -]{_D}{{4}}[ -]{_D}{{4}})
      | (?<!{_D}[0０1１8８])
        (?:
            (?<=[0０])[0０][8８][6６][1１]{_D}{{10}}
          | (?<=[8８])[6６][1１]{_D}{{10}}
          | (?<=[1１])(?:{_D}{{10}}|{_D}{{2}}[ -]{_D}{{4}}[ -]{_D}{{4}})
        )
    )
    (?!{_D})""",
    re.VERBOSE,
)


def mask_phone(number: str) -> str:
    """``13651688564`` -> ``136****8564``.

    Keeps the length; never shows more than 7 characters, and for short input (an
    invalid or truncated number) shows at most 4, none at all up to 6 characters.
    """
    size = len(number)
    if size >= MOBILE_DIGITS:
        return number[:3] + "*" * (size - 7) + number[-4:]
    if size >= 7:
        return number[:2] + "*" * (size - 4) + number[-2:]
    return "*" * size


def mask_phones_in_text(text: str) -> str:
    """Mask every phone-number-looking digit run in free text (for log records).

    Masked (ASCII or full-width digits): ``+`` followed by 7-15 digits; 11-digit runs
    starting with 1 (mainland mobiles), also prefixed with 86 or 0086; the same grouped
    3-4-4 by single spaces or hyphens, maybe after ``+86``. Digit runs of other lengths
    (bizIds, cursors, timestamps) are left alone.
    """
    if len(text) < 8:  # the shortest match is "+" and 7 digits
        return text
    return _PHONE_IN_TEXT.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    return mask_phone(match.group())
