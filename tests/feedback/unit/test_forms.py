"""The dashboard's one form reader (login and lab posts): fields, limits and refusals."""

from __future__ import annotations

from feedback.forms import NOT_UNDERSTOOD, FormLimits, parse_form


def test_a_form_keeps_the_first_value_of_each_field_and_blank_ones() -> None:
    form = parse_form(b"token=abc&next=%2Flab&token=other&empty=", max_fields=10)
    assert form == {"token": "abc", "next": "/lab", "empty": ""}


def test_too_many_fields_or_bytes_that_are_not_utf8_are_not_a_form() -> None:
    assert parse_form(b"a=1&b=2&c=3", max_fields=2) is None
    assert parse_form(b"a=1&b=2", max_fields=2) == {"a": "1", "b": "2"}
    assert parse_form(b"token=%ff", max_fields=10) is None
    assert parse_form(b"token=\xff", max_fields=10) is None
    assert NOT_UNDERSTOOD.status == 400


def test_a_form_over_its_limit_is_refused_with_413_naming_the_limit() -> None:
    refused = FormLimits(max_bytes=262_144, max_fields=20).too_large()
    assert (refused.status, refused.message) == (413, "The form is too large (at most 256 KiB).")
    assert "at most 8 KiB" in FormLimits(max_bytes=8192, max_fields=10).too_large().message
