"""The fast paths for everyday emails and international numbers agree with the full parsers
(email_validator, phonenumbers) wherever they answer."""

from __future__ import annotations

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.leadbody import fields
from leadflow.leadbody.fields import _plain_email, _plain_international


def validator_says(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


LOCAL_CHARS = "abcXYZ019.+-_!#$%&'*/=?^`{|}~\"(),:;<>@[\\] é"
DOMAIN_CHARS = "abcxnXYZ019.-_ é"
TLDS = ["com", "de", "co.uk", "io", "x1", "1x", "123", "local", "test", "arpa", "onion", "é"]

# Mostly near-valid addresses (where the two could disagree), some from anywhere.
local_parts = st.one_of(
    st.text("abcXYZ019.+-_'", min_size=1, max_size=70),
    st.text(LOCAL_CHARS, min_size=0, max_size=70),
)
labels = st.one_of(
    st.text("abXY09-", min_size=1, max_size=66),
    st.text(DOMAIN_CHARS, min_size=0, max_size=70),
)
domains = st.builds(
    lambda parts, tld: ".".join([*parts, tld]),
    st.lists(labels, min_size=0, max_size=4),
    st.sampled_from(TLDS),
)


@settings(max_examples=1500, deadline=None)
@given(local=local_parts, domain=domains)
def test_an_address_the_fast_path_takes_is_one_email_validator_takes_alike(
    local: str, domain: str
) -> None:
    text = f"{local}@{domain}"
    fast = _plain_email(text)
    if fast is not None:
        assert fast == validator_says(text)


@pytest.mark.parametrize(
    "text",
    [
        "ada@example.com",
        "Ada.Lovelace+News@Example.COM",
        "o'brien@mail.example.ie",
        "x@a-b.example.org",
        "first.last@sub.domain.example.co.uk",
        "a" * 64 + "@example.com",
        "a@" + ".".join(["b" * 63] * 3) + ".com",
    ],
)
def test_takes_the_everyday_addresses_without_email_validator(text: str) -> None:
    assert _plain_email(text) == validator_says(text) == text.lower()


@pytest.mark.parametrize(
    "text",
    [
        "a" * 65 + "@example.com",  # local part over 64
        "a@" + ".".join(["b" * 63] * 4) + ".com",  # domain over 253
        "ada@xn--bcher-kva.example",  # Punycode: email_validator decodes it
        "ada@ab--cd.example.com",  # R-LDH label
        "ada@printer.local",  # special use
        "ada@example.123",  # numeric top-level label
        "ada@localhost",
        "ada..b@example.com",
        ".ada@example.com",
        "ada@-example.com",
        "ada@exa_mple.com",
        "ädä@example.com",
        "ada@exämple.com",
        '"ada b"@example.com',
    ],
)
def test_leaves_everything_else_to_email_validator(text: str) -> None:
    assert _plain_email(text) is None
    try:
        expected: str | None = fields.email(text)
    except fields.Bad:
        expected = None
    assert expected == validator_says(text)


# ---------------------------------------------------------------- phone numbers


def phonenumbers_says(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _examples() -> list[tuple[int, str]]:
    """Every region's example numbers of every type: (calling code, national number)."""
    found = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.add((number.country_code, str(number.national_number)))
    return sorted(found)


# Real numbers with their last digits changed (mostly still valid), and loose digit strings,
# the way people type them: with separators, a national 0 or a stray digit.
real = st.builds(
    lambda example, tail, cut: (example[0], example[1][: len(example[1]) - cut] + tail),
    st.sampled_from(_examples()),
    st.text("0123456789", max_size=4),
    st.integers(0, 4),
)
loose = st.tuples(
    st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    st.text("0123456789 -.()", min_size=1, max_size=18),
)


@settings(max_examples=2000, deadline=None)
@given(number=st.one_of(real, real, real, loose), lead=st.sampled_from(["", "", " ", "0", " (0) "]))
def test_an_international_number_the_fast_path_takes_is_one_phonenumbers_takes_alike(
    number: tuple[int, str], lead: str
) -> None:
    text = f"+{number[0]}{lead}{number[1]}"
    fast = _plain_international(text)
    if fast is not None:
        assert fast == phonenumbers_says(text)


def test_agrees_with_phonenumbers_on_every_regions_example_numbers() -> None:
    taken = 0
    for code, national in _examples():
        for text in (f"+{code}{national}", f"+{code} {national[:3]} {national[3:]}"):
            fast = _plain_international(text)
            if fast is not None:
                taken += 1
                assert fast == phonenumbers_says(text), text
    assert taken > len(_examples())  # most are taken, written both ways


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+4930901820", "+4930901820"),
        ("+49 30 901820", "+4930901820"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+33.1.42.68.53.00", "+33142685300"),
    ],
)
def test_takes_international_numbers_without_the_full_parse(text: str, expected: str) -> None:
    assert _plain_international(text) == phonenumbers_says(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "+49 (0) 30 901820",  # a national prefix in brackets: the full parse drops it
        "+39 06 6982 8010",  # Italy keeps its leading zero
        "030 901820",  # national format: needs the country hint
        "+1 415 555 267",  # too short for its country
        "+999 1234567",  # no such country code
        "+49 30 901820 ext. 12",
    ],
)
def test_leaves_other_numbers_to_the_full_parse(text: str) -> None:
    assert _plain_international(text) is None
