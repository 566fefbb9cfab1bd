"""Log redaction answers at once on any text: its patterns never backtrack quadratically."""

from __future__ import annotations

import pytest

from leadflow.observability import redact
from support.budget import seconds_taken

BUDGET_SECONDS = 2.0  # generous on a busy machine; these took minutes before


@pytest.mark.parametrize(
    "text",
    [
        "'a.' * 100_000",
        "'1-' * 100_000",
        "'-' * 200_000",
        "'(1-' * 60_000",
        "'a' * 200_000",
        "'[parameters: ' * 20_000",
        "'input_value=' * 20_000",
    ],
)
def test_redacting_a_long_run_without_an_address_takes_linear_time(text: str) -> None:
    taken = seconds_taken("from leadflow.observability import redact", f"redact({text})")
    assert taken < BUDGET_SECONDS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail ada.l+x@example.co.uk now", "mail [email] now"),
        ("path/ann@x.org;", "path/[email];"),
        ("call +49 (30) 1234-5678.", "call [phone]."),
        ("id 0b6f4a52-2a53-4c1f-9a53-8f1d6f3e2c11", "id 0b6f4a52-2a53-4c1f-9a53-8f1d6f3e2c11"),
        ("digits 1 2 3 4 5 6 7 8 9 0", "digits [phone]"),
        ("x [parameters: ('Ada', 'Acme')] y\nz]", "x [parameters: hidden] y\nz]"),
        ("[parameters: [1]] [parameters: 2]", "[parameters: hidden]"),
        ("[parameters: no end\n]", "[parameters: no end\n]"),
        (
            "value input_value='Ada', input_type=str, input_value='B', input_type=str]",
            "value input_value=hidden, input_type=str]",
        ),
    ],
)
def test_redaction_still_masks_addresses_and_numbers(text: str, expected: str) -> None:
    assert redact(text) == expected
