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
