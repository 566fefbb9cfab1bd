"""Hostile text in a lead's fields is answered at once: no pattern backtracks on it."""

from __future__ import annotations

import pytest

from leadflow.leadbody import fields
from support.budget import seconds_taken

# Generous for a busy 2-core machine; the quadratic pattern needed minutes for these.
BUDGET_SECONDS = 2.0


@pytest.mark.parametrize(
    "value",
    [
        "'1' + ' ' * 100_000 + 'x'",
        "'1' + ' ' * 100_000 + '-' + ' ' * 100_000 + 'x'",
        "'1,000' + '\\t' * 100_000 + 'k' + '\\u00a0' * 100_000 + '+x'",
    ],
    ids=["spaces", "range", "tabs-and-nbsp"],
)
def test_a_company_size_with_a_long_run_of_whitespace_is_refused_within_the_budget(
    value: str,
) -> None:
    taken = seconds_taken(
        "from leadflow.leadbody import fields", f"fields.company_size({value})", deadline=20
    )
    assert taken < BUDGET_SECONDS


@pytest.mark.parametrize(
    ("given", "expected"),
    [("50   -   200", 50), ("1\u00a0000", 1000), ("10 \t k +", 10_000), ("7\n", 7)],
)
def test_a_company_size_reads_a_run_of_whitespace_as_one_space(given: str, expected: int) -> None:
    assert fields.company_size(given) == expected


def test_a_company_size_longer_than_any_way_of_writing_one_is_refused() -> None:
    with pytest.raises(fields.Bad, match="at most 64 characters"):
        fields.company_size("1" + " -" * 40 + " 2")


@pytest.mark.parametrize("value", ["\ud800", "Acme \udfff Ltd", "\udbff\udc00"[0]])
def test_a_lone_surrogate_is_not_text(value: str) -> None:
    with pytest.raises(fields.Bad, match="not valid Unicode"):
        fields.text(value, 100)
    with pytest.raises(fields.Bad, match="not valid Unicode"):
        fields.check_json({"note": [value]}, depth=0)
    with pytest.raises(fields.Bad, match="not valid Unicode"):
        fields.check_json({value: 1}, depth=0)


def test_a_surrogate_pair_written_out_is_text() -> None:
    assert fields.text("\U0001f600 Acme", 100) == "\U0001f600 Acme"
