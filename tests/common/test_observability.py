"""JSON log lines: one object per line, ids kept, personal data masked."""

from __future__ import annotations

import json
import logging

import pytest

from leadflow.observability import JsonFormatter, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail ada@example.com now", "mail [email] now"),
        ("call +49 30 901820", "call [phone]"),
        ("call 030-1234567.", "call [phone]."),
        ("lead 12899713-ddf9-4a87-8b70-206847ac8c50", "lead 12899713-ddf9-4a87-8b70-206847ac8c50"),
        ("order 12345", "order 12345"),
    ],
)
def test_redact_masks_emails_and_phones_but_not_ids(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_record_becomes_one_json_line_with_its_extras() -> None:
    record = logging.makeLogRecord(
        {
            "name": "x",
            "levelname": "INFO",
            "msg": "failed for %s",
            "args": ("ada@example.com",),
            "lead_id": "12899713-ddf9-4a87-8b70-206847ac8c50",
            "note": "ring +44 20 7946 0958",
        }
    )
    line = JsonFormatter("svc").format(record)
    assert "\n" not in line
    out = json.loads(line)
    assert out["service"] == "svc"
    assert out["msg"] == "failed for [email]"
    assert out["lead_id"] == "12899713-ddf9-4a87-8b70-206847ac8c50"
    assert out["note"] == "ring [phone]"
