"""Recipient numbers: accepted forms, rejections with reasons, de-duplication, masking."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smsgateway.messaging import (
    MAX_NUMBERS,
    PhoneNumbers,
    Violation,
    mask_phone,
    mask_phones_in_text,
    normalize_phone_number,
    normalize_phone_numbers,
    phone_number_problem,
)

NUMBER = "13651688564"


@pytest.mark.parametrize(
    "text",
    [
        "13651688564",
        " 13651688564 ",
        "+86 136-5168-8564",
        "+8613651688564",
        "8613651688564",
        "008613651688564",
        "86 136 5168 8564",
        "136 5168 8564",
        "136-5168-8564",
        "(+86) 136.5168.8564",
        "１３６５１６８８５６４",  # full-width digits
        "＋８６ １３６－５１６８－８５６４",  # full-width plus, hyphen
        "００８６１３６５１６８８５６４",
        "+86\u3000136\u30005168\u30008564",  # ideographic spaces
        "013651688564",  # trunk prefix, via phonenumbers
        "+86 (0) 136 5168 8564",
    ],
)
def test_accepted_forms_normalise_to_11_digits(text: str) -> None:
    assert normalize_phone_number(text) == NUMBER
    assert phone_number_problem(text) is None
    result = normalize_phone_numbers([text])
    assert result == PhoneNumbers((NUMBER,), (), 0)


def test_provider_sample_with_full_width_comma_is_two_numbers() -> None:
    result = normalize_phone_numbers(["13651688564，13568988547"])
    assert result.numbers == ("13651688564", "13568988547")
    assert result.violations == ()


@pytest.mark.parametrize(
    "entry",
    [
        "13651688564,13568988547",
        "13651688564;13568988547",
        "13651688564；13568988547",
        "13651688564、13568988547",
        "13651688564\n13568988547",
        "13651688564\r\n13568988547,",  # trailing separator is tolerated
        " 13651688564 ,, +86 135-6898-8547 ",
    ],
)
def test_separators_inside_one_entry(entry: str) -> None:
    result = normalize_phone_numbers([entry])
    assert result.numbers == ("13651688564", "13568988547")
    assert result.violations == ()


def test_duplicates_across_forms_are_dropped_first_seen_order_kept() -> None:
    result = normalize_phone_numbers(
        [
            "13568988547",
            "+8613651688564",
            "13651688564",
            "8613651688564，１３６５１６８８５６４",
            "13568988547",
            "17012345678",
        ]
    )
    assert result.numbers == ("13568988547", "13651688564", "17012345678")
    assert result.duplicates == 4
    assert result.violations == ()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1365168856", "too short (a mainland mobile number has 11 digits, this has 10)"),
        ("136516885641", "too long (a mainland mobile number has 11 digits, this has 12)"),
        ("1440123456789", "too long"),
        ("12345678901", "no mobile network uses this number range"),
        ("1365168856a", "it contains 'a'"),
        ("136516885a4", "it contains 'a'"),  # phonenumbers alone would drop the 'a'
        ("13651688564 ext 12", "it contains 'e'"),
        ("13651688564#", "it contains '#'"),
        ("++8613651688564", "'+' may only come first"),
        ("---", "has no digits"),
        ("010-12345678", "is a landline number: only mobile numbers can receive SMS"),
        ("+86 21 6234 5678", "is a landline number"),
        ("4001234567", "is a shared-cost number"),
        ("8008008000", "is a toll-free number"),
        ("+85291234567", "only mainland China mobile numbers are supported"),
        ("+1 415 555 2671", "only mainland China mobile numbers are supported"),
        ("+999123", "unknown country code"),
        ("٠١٣٦٥١٦٨٨٥٦٤", "it contains"),  # Arabic-Indic digits are not accepted
    ],
)
def test_invalid_numbers_are_rejected_with_the_reason(text: str, reason: str) -> None:
    assert normalize_phone_number(text) is None
    problem = phone_number_problem(text)
    assert problem is not None and reason in problem
    result = normalize_phone_numbers(["13651688564", text])
    assert result.numbers == ("13651688564",)
    assert len(result.violations) == 1
    violation = result.violations[0]
    assert violation.field == "phone_numbers[1]"
    # The caller's own text is quoted verbatim so they can find it.
    assert violation.description.startswith(repr(text.strip()))
    assert reason in violation.description


def test_every_invalid_number_is_reported_with_its_entry_index() -> None:
    result = normalize_phone_numbers(
        ["abc", "13651688564,123,+8613568988547,1365168856", "13711112222"],
        field="recipients",
    )
    assert result.numbers == ("13651688564", "13568988547", "13711112222")
    assert [v.field for v in result.violations] == [
        "recipients[0]",
        "recipients[1]",
        "recipients[1]",
    ]
    assert result.violations[1].description.startswith("'123' is not a valid phone number")
    assert result.violations[2].description.startswith("'1365168856' is not a valid")


def test_empty_list_and_empty_entries() -> None:
    assert normalize_phone_numbers([]) == PhoneNumbers(
        (), (Violation("phone_numbers", "at least one phone number is required"),), 0
    )
    result = normalize_phone_numbers(["13651688564", "", " ，,\u3000"])
    assert result.numbers == ("13651688564",)
    assert result.violations == (
        Violation("phone_numbers[1]", "empty entry: expected a phone number"),
        Violation("phone_numbers[2]", "empty entry: expected a phone number"),
    )


def test_too_many_numbers_is_one_violation_on_the_field() -> None:
    numbers = [f"1365168{i:04d}" for i in range(5)]
    result = normalize_phone_numbers(numbers, max_numbers=4)
    assert result.numbers == ()
    assert result.violations == (
        Violation("phone_numbers", "at most 4 phone numbers are allowed, got 5"),
    )
    # The cap counts numbers, not entries: two entries holding five numbers.
    result = normalize_phone_numbers([",".join(numbers[:3]), ",".join(numbers[3:])], max_numbers=4)
    assert result.numbers == ()
    assert len(result.violations) == 1
    assert result.violations[0].field == "phone_numbers"
    assert "at most 4 phone numbers" in result.violations[0].description
    # Exactly at the cap is fine, and duplicates count as given.
    assert len(normalize_phone_numbers(numbers[:4], max_numbers=4).numbers) == 4
    assert MAX_NUMBERS == 100_000


def test_huge_garbage_entry_is_quoted_shortened() -> None:
    result = normalize_phone_numbers(["x" * 10_000])
    (violation,) = result.violations
    assert len(violation.description) < 120
    assert violation.description.startswith("'" + "x" * 40 + "…'")


def test_single_number_api_rejects_several_numbers_and_blank() -> None:
    assert normalize_phone_number("13651688564,13568988547") is None
    assert phone_number_problem("13651688564,13568988547") == "holds more than one phone number"
    assert normalize_phone_number("") is None
    assert normalize_phone_number("  ") is None
    assert phone_number_problem(" ") == "is empty: expected a phone number"


def _library_verdict(text: str) -> str | None:
    """What phonenumbers alone says: the national number of a CN mobile, else None."""
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        return None
    if phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return None
    return phonenumbers.national_significant_number(parsed)


eleven_digits = st.text(alphabet="0123456789", min_size=11, max_size=11)
mobile_like = st.from_regex(r"1[0-9]{10}", fullmatch=True)


@given(
    st.one_of(eleven_digits, mobile_like),
    st.sampled_from(["", "+86", "86", "0086", "+86 ", "0", "+860", "00860", "860", "+1", "852"]),
)
@example("13651688564", "")
@example("19912345678", "+86")
@example("16212345678", "")
def test_fast_path_agrees_with_phonenumbers(national: str, prefix: str) -> None:
    text = prefix + national
    assert normalize_phone_number(text) == _library_verdict(text)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("13651688564", "136****8564"),
        ("+8613651688564", "+86*******8564"),
        ("1365168856", "13******56"),
        ("1234567", "12***67"),
        ("123456", "******"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


@given(st.text(max_size=30))
def test_mask_phone_never_shows_the_whole_input(number: str) -> None:
    masked = mask_phone(number)
    assert len(masked) == len(number)
    visible = sum(1 for a, b in zip(masked, number, strict=True) if a == b and b != "*")
    assert visible <= 7
    if number and "*" not in number:
        assert masked != number


def test_mask_phones_in_text() -> None:
    text = (
        'sent {"phoneNumbers":"13651688564,13568988547","bizId":"39036632588910887018"} '
        "to +86 136-5168-8564 / 8613651688564 / １３６５１６８８５６４ / +14155552671 "
        "at 2026-11-25 04:47:45 ts=1764045965123 cursor=12345"
    )
    masked = mask_phones_in_text(text)
    assert masked == (
        'sent {"phoneNumbers":"136****8564,135****8547","bizId":"39036632588910887018"} '
        "to +86**********8564 / 861******8564 / １３６****８５６４ / +14*****2671 "
        "at 2026-11-25 04:47:45 ts=1764045965123 cursor=12345"
    )
    assert mask_phones_in_text("no numbers here") == "no numbers here"
    assert mask_phones_in_text("") == ""


@given(
    mobile_like,
    st.text(alphabet=st.characters(exclude_categories=["Nd"]), max_size=5),
    st.text(alphabet=st.characters(exclude_categories=["Nd"]), max_size=5),
    st.sampled_from(["", "+86", "86", "0086", "+86 "]),
)
def test_masked_text_never_holds_the_number(
    number: str, before: str, after: str, prefix: str
) -> None:
    masked = mask_phones_in_text(before + prefix + number + after)
    assert number not in masked
    assert "****" in masked


def test_invalid_numbers_are_listed_up_to_a_cap() -> None:
    entries = ["13651688564", *(f"bad{i}" for i in range(30)), "13568988547"]
    result = normalize_phone_numbers(entries, max_violations=5)
    assert [v.field for v in result.violations] == [f"phone_numbers[{i}]" for i in range(1, 6)] + [
        "phone_numbers"
    ]
    assert result.violations[-1].description == (
        "more than 5 invalid phone numbers; only the first 5 are listed"
    )
    # The default keeps the error small enough for gRPC trailers.
    result = normalize_phone_numbers([f"bad{i}" for i in range(100_000)])
    assert len(result.violations) == 21
    assert sum(len(v.field) + len(v.description) for v in result.violations) < 3000


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+86 13651688564.", "+86 136****8564."),
        ("tel:008613651688564;", "tel:008********8564;"),
        ("＋８６１３６５１６８８５６４", "＋８６*******８５６４"),
        ("(136-5168-8564)", "(136******8564)"),
        ("+86-136-5168-8564", "+86**********8564"),
        ("a13651688564b", "a136****8564b"),  # letters around do not protect a number
        ("913651688564", "913651688564"),  # 12 digits: not a mobile
        ("1365168856", "1365168856"),  # 10 digits: not a mobile
        ("cursor 13651688564123", "cursor 13651688564123"),
    ],
)
def test_mask_phones_in_text_forms(text: str, masked: str) -> None:
    assert mask_phones_in_text(text) == masked


def test_violation_cap_applies_inside_one_entry() -> None:
    result = normalize_phone_numbers([",".join(["1"] * 50_000)], max_violations=3)
    assert [v.field for v in result.violations] == ["phone_numbers[0]"] * 3 + ["phone_numbers"]
    assert result.violations[-1].description.startswith("more than 3 invalid phone numbers")
