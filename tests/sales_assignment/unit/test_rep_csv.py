"""The CSV rep parser: columns, defaults, lists, working hours, and one error per bad cell."""

from __future__ import annotations

import pytest

from sales_assignment.rep_csv import parse_reps_csv, parse_working_hours

HEADER = "name,email,active,weight,max_open_leads,territories,segments,timezone,working_hours"


def test_a_full_file_becomes_reps_with_row_numbers() -> None:
    parsed = parse_reps_csv(
        "\ufeff"
        + HEADER
        + "\n"
        + "Ann Seller,Ann@Seller.example,yes,2,25,EMEA;us,smb;mid_market,Europe/Berlin,"
        + "mon-fri 09:00-17:00\n"
        + "\n"  # blank lines are skipped
        + 'Bob,bob@seller.example,,,,,,,"{""sat"": [""10:00-14:00""]}"\n'
    )
    assert parsed.errors == []
    [(n1, ann), (n2, bob)] = parsed.reps
    assert (n1, n2) == (2, 4)
    assert (ann.email, ann.active, ann.weight, ann.max_open_leads) == (
        "ann@seller.example",
        True,
        2,
        25,
    )
    assert ann.territories == ["EMEA", "US"]
    assert ann.segments == ["smb", "mid_market"]
    assert ann.working_hours == {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    # Empty cells take the API's defaults.
    assert (bob.active, bob.weight, bob.max_open_leads, bob.timezone) == (True, 1, None, "UTC")
    assert (bob.territories, bob.segments) == ([], [])
    assert bob.working_hours == {"sat": ["10:00-14:00"]}


def test_only_name_and_email_are_required_and_columns_come_in_any_order() -> None:
    parsed = parse_reps_csv("email,name\nann@seller.example,Ann\n")
    assert parsed.ok
    assert parsed.reps[0][1].name == "Ann"


def test_each_bad_cell_is_reported_with_its_row_and_column() -> None:
    parsed = parse_reps_csv(
        HEADER
        + "\n"
        + "Ann,ann@seller.example,,,,,,,\n"
        + "Bob,not-an-email,maybe,heavy,,EU,huge,Mars/Olympus,mon-fri 17:00-09:00\n"
        + ",carl@seller.example,,-1,,,,,\n"
        + "Dee,ANN@seller.example,,,,,,,\n"
    )
    assert parsed.reps == [] or [n for n, _ in parsed.reps] == [2]
    lines = [str(e) for e in parsed.errors]
    assert "row 3: email: not an email address" in lines
    assert "row 3: active: 'maybe' is not true or false" in lines
    assert "row 3: weight: 'heavy' is not a whole number" in lines
    assert "row 4: name: required" in lines
    assert any(line.startswith("row 4: weight: ") for line in lines)
    assert "row 5: email: same email as row 2" in lines
    assert not parsed.ok


def test_bad_cells_that_pass_the_first_check_are_named_by_the_rep_schema() -> None:
    parsed = parse_reps_csv(
        HEADER + "\nBob,bob@seller.example,,,,EU,huge,Mars/Olympus,mon-fri 17:00-09:00\n"
    )
    columns = {e.column for e in parsed.errors}
    assert {"territories", "segments", "timezone", "working_hours"} <= columns
    assert all(e.row == 2 for e in parsed.errors)
    territory = next(e for e in parsed.errors if e.column == "territories")
    assert "did you mean EMEA" in territory.message


def test_header_problems_are_row_1() -> None:
    parsed = parse_reps_csv("name,mail,name\nAnn,ann@seller.example,Ann\n")
    lines = [str(e) for e in parsed.errors]
    assert any(line.startswith("row 1: mail: unknown column") for line in lines)
    assert "row 1: name: column appears twice" in lines
    assert "row 1: email: required column missing" in lines
    assert parsed.reps == []


def test_too_many_cells_and_an_empty_file_are_errors() -> None:
    assert [str(e) for e in parse_reps_csv("name,email\nAnn,ann@x.example,extra\n").errors] == [
        "row 2: row: 3 cells but 2 columns"
    ]
    assert [str(e) for e in parse_reps_csv("name,email\n").errors] == [
        "row 2: row: no reps in the file"
    ]
    assert parse_reps_csv("").errors[0].row == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon 09:00-17:00", {"mon": ["09:00-17:00"]}),
        (
            "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00",
            {d: ["09:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu")}
            | {"fri": ["09:00-13:00"]},
        ),
        ("Mon,Wed 08:00-16:00", {"mon": ["08:00-16:00"], "wed": ["08:00-16:00"]}),
        ('{"sun": ["10:00-12:00"]}', {"sun": ["10:00-12:00"]}),
    ],
)
def test_working_hours_shorthand(text: str, expected: dict[str, list[str]]) -> None:
    assert parse_working_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mon-fri", "expected 'DAYS HH:MM-HH:MM'"),
        ("mon-fry 09:00-17:00", "unknown day 'fry'"),
        ("fri-mon 09:00-17:00", "runs backwards"),
        ("{not json", "not valid JSON"),
        ('["mon"]', "must be an object"),
    ],
)
def test_bad_working_hours_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_working_hours(text)
