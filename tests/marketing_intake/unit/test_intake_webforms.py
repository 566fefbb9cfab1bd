"""Web form rules: origins, settings, bot timing, clutter, redirects."""

from __future__ import annotations

import pytest

from marketing_intake.webforms import (
    check_settings,
    clean_submission,
    filled_too_fast,
    flatten,
    normalize_origin,
    request_origin,
    with_lead_id,
)


def test_origins_are_normalised_and_taken_from_origin_else_referer() -> None:
    assert normalize_origin("HTTPS://Www.Example.com:443/") == "https://www.example.com"
    assert normalize_origin("http://localhost:8080") == "http://localhost:8080"
    for bad in ("ftp://x.example", "https://x.example/path", "example.com", "https://"):
        with pytest.raises(ValueError):  # noqa: PT011
            normalize_origin(bad)
    assert request_origin("https://a.example", "https://b.example/x") == "https://a.example"
    assert request_origin(None, "https://b.example/x?y=1") == "https://b.example"
    assert request_origin("null", "https://b.example/") is None
    assert request_origin(None, None) is None


def test_settings_name_each_bad_field() -> None:
    origins, errors = check_settings(
        field_map={"mail": "email", "x": "nope", "b": "custom.budget", "_lf_ts": "email"},
        required=["company", "custom.budget", "colour"],
        honeypot_field="mail",
        allowed_origins=["https://a.example/", "https://a.example"],
        redirect_url="https://a.example/thanks",
    )
    assert origins == ["https://a.example"]
    assert [f for f, _ in errors] == [
        "field_map.x",
        "field_map._lf_ts",
        "required.2",
        "honeypot_field",
    ]


def test_fill_time_is_measured_only_when_the_snippet_gave_it() -> None:
    assert filled_too_fast({"_lf_ts": "1000", "_lf_sub": "2000"}, 3, now_ms=10**13)
    assert not filled_too_fast({"_lf_ts": "1000", "_lf_sub": "5000"}, 3, now_ms=0)
    assert filled_too_fast({"_lf_ts": "9000"}, 3, now_ms=10_000)
    assert not filled_too_fast({"_lf_ts": ""}, 3, now_ms=10_000)
    assert not filled_too_fast({"_lf_ts": "20000"}, 3, now_ms=10_000)  # clock ahead: unknown
    assert not filled_too_fast({"_lf_ts": "9000"}, 0, now_ms=10_000)


def test_clutter_goes_and_the_page_fills_gaps() -> None:
    raw = {
        "email": "a@b.co",
        "g-recaptcha-response": "t",
        "Submit": "Send",
        "csrf_token": "x",
        "_lf_ts": "1",
        "_lf_page": "https://a.example/?utm_source=x",
        "_lf_ref": "https://search.example/",
        "submit": "mapped",
    }
    assert clean_submission(raw, {"submit": "custom.button"}) == {
        "email": "a@b.co",
        "submit": "mapped",
        "landing_page": "https://a.example/?utm_source=x",
        "referrer": "https://search.example/",
    }
    assert flatten([("a", "1"), ("b", "2"), ("a", "3")]) == {"a": ["1", "3"], "b": "2"}
    assert with_lead_id("https://a.example/t?x=1", "L") == "https://a.example/t?x=1&lead_id=L"
