"""A hostile CSV header is refused at once, with one error rather than one per column."""

from __future__ import annotations

from sales_assignment.rep_csv import parse_reps_csv
from support.budget import seconds_taken

COLUMNS = 100_000
REST = "\nAnn,ann@seller.example\n"


def test_a_header_of_100000_columns_is_one_error_found_at_once() -> None:
    # Timed in a child process (cut off at the deadline if it runs away, as the old code
    # did), which builds the text itself: it is too long for a command line.
    setup = f"""
        from sales_assignment.rep_csv import parse_reps_csv
        text = ",".join(["x"] * {COLUMNS}) + {REST!r}
    """
    taken = seconds_taken(setup, "parse_reps_csv(text)", deadline=20)
    assert taken < 2.0  # counting each name in the header: minutes
    parsed = parse_reps_csv(",".join(["x"] * COLUMNS) + REST)
    assert [str(e) for e in parsed.errors] == ["row 1: row: 100000 columns, at most 20"]


def test_a_repeated_column_is_still_named() -> None:
    parsed = parse_reps_csv("name,email,email\nAnn,ann@seller.example,x\n")
    assert [str(e) for e in parsed.errors] == ["row 1: email: column appears twice"]


def test_a_cell_over_the_csv_modules_field_limit_is_an_error_not_a_crash() -> None:
    parsed = parse_reps_csv("name,email\n" + "A" * 200_000 + ",ann@seller.example\n")
    assert [str(e) for e in parsed.errors] == [
        "row 2: row: not a CSV file: field larger than field limit (131072)"
    ]
    parsed = parse_reps_csv("\t" * 600_000)
    assert [str(e) for e in parsed.errors] == [
        "row 1: row: not a CSV file: field larger than field limit (131072)"
    ]
