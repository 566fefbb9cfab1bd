"""normalize_lead turns a JSON body or a mapped web form into a valid Lead, or says what's wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from leadflow.events import Lead
from leadflow.leadbody.normalize import (
    MAPPABLE_FIELDS,
    FieldError,
    FormSpec,
    LeadInvalid,
    dedupe_key,
    is_honeypot_filled,
    normalize_lead,
)

LEAD_ID = UUID("00000000-0000-4000-8000-000000000001")
CAPTURED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def normalize(raw: dict[str, Any], **kwargs: Any) -> Lead:
    return normalize_lead(
        {"email": "ada@example.com", **raw}, lead_id=LEAD_ID, captured_at=CAPTURED_AT, **kwargs
    )


def errors_of(raw: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(LeadInvalid) as caught:
        normalize(raw, **kwargs)
    return {e.field: e.message for e in caught.value.errors}


# ---------------------------------------------------------------- email


def test_lowercases_the_whole_email() -> None:
    assert normalize({"email": "  Ada.Lovelace+News@Example.COM "}).email == (
        "ada.lovelace+news@example.com"
    )


@pytest.mark.parametrize("email", ["ada", "ada@", "@example.com", "ada@localhost", "a b@x.com"])
def test_rejects_an_email_that_is_not_an_address(email: str) -> None:
    assert "email" in errors_of({"email": email})


@pytest.mark.parametrize("email", [None, "", "   "])
def test_requires_an_email(email: str | None) -> None:
    assert errors_of({"email": email}) == {"email": "is required"}


def test_requires_an_email_even_when_the_key_is_absent() -> None:
    with pytest.raises(LeadInvalid) as caught:
        normalize_lead({"first_name": "Ada"}, lead_id=LEAD_ID, captured_at=CAPTURED_AT)
    assert caught.value.errors == [FieldError("email", "is required")]


# ---------------------------------------------------------------- phone and country


def test_formats_a_german_mobile_number_as_e164_using_the_country_hint() -> None:
    lead = normalize({"phone": "0151 2345 6789", "country": "Deutschland"})
    assert (lead.phone, lead.country) == ("+4915123456789", "DE")


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        ("(415) 555-2671", "USA", "+14155552671"),
        ("020 7946 0958", "UK", "+442079460958"),
        ("+41 44 668 18 00", None, "+41446681800"),
        ("+49 (0)30 901820", "France", "+4930901820"),  # an explicit +code beats the hint
    ],
)
def test_formats_phone_numbers_as_e164(phone: str, country: str | None, expected: str) -> None:
    assert normalize({"phone": phone, "country": country}).phone == expected


@pytest.mark.parametrize(
    ("phone", "country"),
    [("0151 23456789", None), ("12", "DE"), ("+49 123", None), ("call me", "DE"), (4915123, "DE")],
)
def test_rejects_a_phone_number_it_cannot_make_valid(phone: Any, country: str | None) -> None:
    assert set(errors_of({"phone": phone, "country": country})) == {"phone"}


def test_reports_an_unknown_country() -> None:
    assert errors_of({"country": "Atlantis"}) == {
        "country": "is not a known country name or ISO 3166 code"
    }


# ---------------------------------------------------------------- text fields


def test_trims_strings_and_collapses_whitespace_inside_names() -> None:
    lead = normalize(
        {"first_name": "  Ada \t Augusta ", "last_name": "\nLovelace ", "company": " Acme  GmbH "}
    )
    assert (lead.first_name, lead.last_name, lead.company) == (
        "Ada Augusta",
        "Lovelace",
        "Acme GmbH",
    )


def test_turns_empty_strings_into_none() -> None:
    lead = normalize({"first_name": "", "company": "   ", "utm_source": "", "phone": " "})
    assert (lead.first_name, lead.company, lead.attribution.utm_source, lead.phone) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("first_name", 100),
        ("last_name", 100),
        ("company", 200),
        ("job_title", 150),
        ("industry", 100),
        ("utm_campaign", 200),
        ("referrer", 2048),
        ("landing_page", 2048),
    ],
)
def test_enforces_each_fields_length_limit(field: str, limit: int) -> None:
    assert normalize({field: "x" * limit}) is not None
    assert errors_of({field: "x" * (limit + 1)}) == {field: f"must be at most {limit} characters"}


@pytest.mark.parametrize("value", [42, ["Ada"], {"name": "Ada"}, True])
def test_rejects_a_non_string_for_a_text_field(value: Any) -> None:
    assert errors_of({"first_name": value}) == {"first_name": "must be a string"}


def test_rejects_control_characters_that_postgres_would_refuse() -> None:
    assert errors_of({"company": "Acme\x00"}) == {"company": "must not contain control characters"}


# ---------------------------------------------------------------- company size


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (250, 250),
        (250.0, 250),
        ("250", 250),
        (" 1,000 ", 1000),
        ("1.000", 1000),
        ("1'000", 1000),
        ("50-200", 50),
        ("51 – 200", 51),
        ("50 to 200", 50),
        ("1,000+", 1000),
        ("10k", 10000),
        ("5K+", 5000),
        ("1", 1),
        (10_000_000, 10_000_000),
        ("", None),
    ],
)
def test_reads_company_size_as_the_lower_bound_of_what_was_given(
    given: Any, expected: int | None
) -> None:
    assert normalize({"company_size": given}).company_size == expected


@pytest.mark.parametrize(
    "given",
    [
        0,
        -5,
        10_000_001,
        "0",
        "lots",
        "1.5",
        12.5,
        True,
        "200-50",
        "<10",
        [50],
        "1" * 5000,
        "1-" + "9" * 5000,
        10**100,
    ],
)
def test_rejects_a_company_size_that_is_not_1_to_10_million_employees(given: Any) -> None:
    assert set(errors_of({"company_size": given})) == {"company_size"}


# ---------------------------------------------------------------- website


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("acme.com", "https://acme.com"),
        ("www.Acme.COM/About?x=1", "https://www.acme.com/About?x=1"),
        ("HTTP://Acme.com/", "http://acme.com"),
        ("https://acme.com:8443/x", "https://acme.com:8443/x"),
        ("//acme.co.uk", "https://acme.co.uk"),
        ("bücher.DE", "https://bücher.de"),
    ],
)
def test_normalises_the_website(given: str, expected: str) -> None:
    assert normalize({"website": given}).website == expected


@pytest.mark.parametrize(
    "given",
    [
        "ftp://acme.com",
        "javascript:alert(1)",
        "acme",
        "acme .com",
        "https://user:secret@acme.com",
        "http://10.0.0.1",
        "https://acme.com:99999",
        "https://-acme.com",
    ],
)
def test_rejects_a_website_that_is_not_a_web_address(given: str) -> None:
    assert set(errors_of({"website": given})) == {"website"}


# ---------------------------------------------------------------- attribution


def test_takes_attribution_given_flat_at_the_top_level() -> None:
    lead = normalize({"utm_source": "google", "source": "ads", "referrer": "https://g.co/"})
    assert (lead.attribution.utm_source, lead.attribution.source, lead.attribution.referrer) == (
        "google",
        "ads",
        "https://g.co/",
    )


def test_takes_attribution_nested_and_prefers_it_over_the_flat_field() -> None:
    lead = normalize(
        {"utm_source": "flat", "utm_medium": "cpc", "attribution": {"utm_source": "nested"}}
    )
    assert (lead.attribution.utm_source, lead.attribution.utm_medium) == ("nested", "cpc")


def test_takes_utm_parameters_from_the_landing_page_when_the_body_has_none() -> None:
    lead = normalize(
        {"landing_page": "https://acme.com/p?utm_source=linkedin&utm_medium=social&utm_term=crm"}
    )
    assert lead.attribution.model_dump(include={"utm_source", "utm_medium", "utm_term"}) == {
        "utm_source": "linkedin",
        "utm_medium": "social",
        "utm_term": "crm",
    }


def test_prefers_utm_parameters_from_the_body_over_the_landing_page() -> None:
    lead = normalize(
        {
            "utm_source": "newsletter",
            "landing_page": "https://acme.com/?utm_source=google&utm_campaign=spring",
        }
    )
    assert (lead.attribution.utm_source, lead.attribution.utm_campaign) == ("newsletter", "spring")


def test_truncates_an_overlong_utm_parameter_from_the_landing_page_instead_of_failing() -> None:
    lead = normalize({"landing_page": "https://acme.com/?utm_content=" + "x" * 300})
    assert lead.attribution.utm_content == "x" * 200


def test_uses_the_default_source_only_when_the_body_gives_none() -> None:
    assert normalize({}, source="api").attribution.source == "api"
    assert normalize({"source": "webinar"}, source="api").attribution.source == "webinar"


def test_reports_unknown_fields_inside_attribution_and_consent() -> None:
    assert errors_of({"attribution": {"utm_sorce": "x"}, "consent": {"marketting": True}}) == {
        "attribution.utm_sorce": "is not a known field",
        "consent.marketting": "is not a known field",
    }


# ---------------------------------------------------------------- consent


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("on", True),
        ("Yes", True),
        ("1", True),
        (1, True),
        ("false", False),
        ("off", False),
        ("no", False),
        ("0", False),
        ("", False),
        (None, False),
    ],
)
def test_reads_marketing_consent_from_checkbox_style_values(given: Any, expected: bool) -> None:
    assert normalize({"consent_marketing": given}).consent.marketing is expected


@pytest.mark.parametrize("given", ["maybe", 2, [True]])
def test_rejects_a_consent_that_is_not_true_or_false(given: Any) -> None:
    assert errors_of({"consent_marketing": given}) == {"consent_marketing": "must be true or false"}


def test_stamps_granted_consent_with_the_capture_time() -> None:
    consent = normalize({"consent_marketing": "on", "consent_text": " v3: yes, email me "}).consent
    assert (consent.marketing, consent.text, consent.granted_at) == (
        True,
        "v3: yes, email me",
        CAPTURED_AT,
    )


def test_keeps_the_grant_time_given_in_a_consent_object() -> None:
    consent = normalize(
        {"consent": {"marketing": True, "text": "v3", "granted_at": "2025-03-01T11:59:00+01:00"}}
    ).consent
    assert consent.granted_at == datetime(2025, 3, 1, 10, 59, tzinfo=UTC)


def test_reads_a_lone_consent_checkbox_as_marketing_consent() -> None:
    assert normalize({"consent": "on"}).consent.marketing is True


def test_drops_the_grant_time_when_consent_was_not_given() -> None:
    consent = normalize(
        {"consent": {"marketing": False, "granted_at": "2025-03-01T11:00:00Z"}}
    ).consent
    assert consent.granted_at is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("yesterday", "must be an ISO 8601 date and time"),
        ((CAPTURED_AT + timedelta(hours=1)).isoformat(), "must not be in the future"),
    ],
)
def test_rejects_a_bad_grant_time(given: str, message: str) -> None:
    raw = {"consent": {"marketing": True, "granted_at": given}}
    assert errors_of(raw) == {"consent.granted_at": message}


# ---------------------------------------------------------------- web forms

FORM = FormSpec(
    form_id="contact-us",
    field_map={"your-email": "email", "fname": "first_name", "agree": "consent_marketing"},
    required=["email", "first_name", "company"],
    require_consent=True,
    honeypot_field="website_url",
)


def test_maps_form_fields_to_lead_fields() -> None:
    lead = normalize_lead(
        {
            "your-email": "Ada@Example.com",
            "fname": "Ada",
            "company": "Acme",  # unmapped, but already a lead field name
            "agree": "on",
            "website_url": "",
            "favourite_colour": "teal",
        },
        lead_id=LEAD_ID,
        captured_at=CAPTURED_AT,
        form=FORM,
    )
    assert (lead.email, lead.first_name, lead.company, lead.consent.marketing) == (
        "ada@example.com",
        "Ada",
        "Acme",
        True,
    )
    assert lead.attribution.form_id == "contact-us"
    assert lead.custom == {"favourite_colour": "teal"}  # the honeypot is not kept


def test_prefers_the_mapped_form_field_over_a_same_named_one() -> None:
    form = FormSpec(form_id="f", field_map={"work_email": "email"})
    lead = normalize_lead(
        {"work_email": "work@acme.com", "email": "home@example.com"},
        lead_id=LEAD_ID,
        captured_at=CAPTURED_AT,
        form=form,
    )
    assert lead.email == "work@acme.com"


def test_names_missing_required_fields_as_the_form_calls_them() -> None:
    with pytest.raises(LeadInvalid) as caught:
        normalize_lead({"company": " "}, lead_id=LEAD_ID, captured_at=CAPTURED_AT, form=FORM)
    assert caught.value.errors == [
        FieldError("your-email", "is required"),
        FieldError("fname", "is required"),
        FieldError("company", "is required"),
        FieldError("agree", "consent is required"),
    ]


def test_requires_consent_to_be_true_when_the_form_says_so() -> None:
    raw = {"your-email": "ada@acme.com", "fname": "Ada", "company": "Acme", "agree": "no"}
    with pytest.raises(LeadInvalid) as caught:
        normalize_lead(raw, lead_id=LEAD_ID, captured_at=CAPTURED_AT, form=FORM)
    assert caught.value.errors == [FieldError("agree", "consent is required")]


def test_reports_a_bad_mapped_field_under_its_form_name() -> None:
    raw = {"your-email": "nope", "fname": "Ada", "company": "Acme", "agree": "on"}
    with pytest.raises(LeadInvalid) as caught:
        normalize_lead(raw, lead_id=LEAD_ID, captured_at=CAPTURED_AT, form=FORM)
    assert [e.field for e in caught.value.errors] == ["your-email"]


def test_renames_a_form_field_into_custom_when_mapped_to_a_custom_name() -> None:
    form = FormSpec(form_id="f", field_map={"q1": "custom.budget"})
    lead = normalize_lead(
        {"email": "a@acme.com", "q1": "10k"}, lead_id=LEAD_ID, captured_at=CAPTURED_AT, form=form
    )
    assert lead.custom == {"budget": "10k"}


@pytest.mark.parametrize(
    ("raw", "form", "expected"),
    [
        ({"website_url": "http://spam"}, FORM, True),
        ({"website_url": "  "}, FORM, False),
        ({}, FORM, False),
        ({"website_url": "http://spam"}, FormSpec(form_id="f"), False),
        ({"website_url": "http://spam"}, None, False),
    ],
)
def test_tells_whether_the_honeypot_was_filled(
    raw: dict[str, Any], form: FormSpec | None, expected: bool
) -> None:
    assert is_honeypot_filled(raw, form) is expected


def test_offers_every_lead_attribution_and_consent_field_for_mapping() -> None:
    assert {"email", "company_size", "utm_campaign", "landing_page", "consent_marketing"} <= (
        MAPPABLE_FIELDS
    )
    assert "custom" not in MAPPABLE_FIELDS


# ---------------------------------------------------------------- custom fields


def test_keeps_unknown_fields_and_the_custom_object_as_custom() -> None:
    lead = normalize({"plan": "pro", "seats": 12, "custom": {"tags": ["a", "b"], "plan": "team"}})
    assert lead.custom == {"plan": "team", "seats": 12, "tags": ["a", "b"]}


def test_rejects_custom_fields_larger_than_the_cap() -> None:
    assert normalize({"notes": "x" * 80}, custom_max_bytes=100).custom == {"notes": "x" * 80}
    assert set(errors_of({"notes": "x" * 100}, custom_max_bytes=100)) == {"custom"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"k" * 65: 1}, "k" * 64 + "…"),
        ({"nan": float("nan")}, "nan"),
        ({"when": datetime(2025, 1, 1)}, "when"),
        ({"custom": {"blob": b"bytes"}}, "custom.blob"),
        ({"nul": "a\x00b"}, "nul"),
        ({"deep": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}, "deep"),
        ({"custom": "not an object"}, "custom"),
    ],
)
def test_rejects_custom_fields_that_are_not_plain_json(raw: dict[str, Any], field: str) -> None:
    assert set(errors_of(raw)) == {field}


def test_ignores_the_ids_and_times_that_intake_assigns_itself() -> None:
    lead = normalize({"lead_id": "not-this", "captured_at": "2000-01-01T00:00:00Z"})
    assert (lead.lead_id, lead.captured_at, lead.custom) == (LEAD_ID, CAPTURED_AT, {})


# ---------------------------------------------------------------- the whole


def test_reports_every_bad_field_at_once() -> None:
    assert set(
        errors_of(
            {
                "email": "not-an-email",
                "phone": "123",
                "country": "Narnia",
                "company_size": "many",
                "website": "ftp://acme.com",
                "first_name": "x" * 101,
                "consent_marketing": "perhaps",
            }
        )
    ) == {"email", "phone", "country", "company_size", "website", "first_name", "consent_marketing"}


def test_builds_a_complete_lead() -> None:
    lead = normalize_lead(
        {
            "email": "Grace@Navy.MIL",
            "first_name": "Grace",
            "last_name": "Hopper",
            "phone": "+1 415 555 2671",
            "company": "US Navy",
            "job_title": "Rear Admiral",
            "company_size": "1,000+",
            "industry": "Defense",
            "country": "U.S.",
            "website": "navy.mil",
            "attribution": {"source": "event", "utm_campaign": "cobol"},
            "consent": {"marketing": True, "text": "v1"},
        },
        lead_id=LEAD_ID,
        captured_at=CAPTURED_AT,
    )
    assert lead.model_dump(exclude={"attribution", "consent"}) == {
        "lead_id": LEAD_ID,
        "email": "grace@navy.mil",
        "first_name": "Grace",
        "last_name": "Hopper",
        "phone": "+14155552671",
        "company": "US Navy",
        "job_title": "Rear Admiral",
        "company_size": 1000,
        "industry": "Defense",
        "country": "US",
        "website": "https://navy.mil",
        "custom": {},
        "captured_at": CAPTURED_AT,
    }
    assert (lead.attribution.source, lead.attribution.utm_campaign) == ("event", "cobol")
    assert lead.consent.granted_at == CAPTURED_AT


# ---------------------------------------------------------------- dedupe key


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("Ada@Example.com", "ada@example.com"),
        ("ada+news@example.com", "ada@example.com"),
        ("a.da@example.com", "a.da@example.com"),
        ("A.Da+promo@GoogleMail.com", "ada@gmail.com"),
        ("a.d.a@gmail.com", "ada@gmail.com"),
        ("+only@example.com", "+only@example.com"),
        ("no-at-sign", "no-at-sign"),
    ],
)
def test_dedupe_key_identifies_a_mailbox(email: str, expected: str) -> None:
    assert dedupe_key(email) == expected


def test_lets_a_form_require_one_of_its_custom_fields() -> None:
    form = FormSpec(form_id="f", required=["budget"])
    with pytest.raises(LeadInvalid) as caught:
        normalize_lead(
            {"email": "a@acme.com", "budget": ""},
            lead_id=LEAD_ID,
            captured_at=CAPTURED_AT,
            form=form,
        )
    assert caught.value.errors == [FieldError("budget", "is required")]
