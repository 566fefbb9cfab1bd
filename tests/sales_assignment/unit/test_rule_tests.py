"""rule_tests: golden cases judged on a fresh round robin, reps named by id or exact name."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sales_assignment.account_match import AccountIndex
from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.rule_tests import Case, Expect, check_all, differences, resolve
from sales_assignment.rules import RoutingRule

NOW = datetime(2027, 1, 4, 10, tzinfo=UTC)
ANN, BOB, BOB2 = (UUID(int=i) for i in (1, 2, 3))
REPS = [
    Rep(ANN, "Ann", "ann@seller.example", weight=2),
    Rep(BOB, "Bob", "bob@seller.example"),
    Rep(BOB2, "Bob", "bob2@seller.example", active=False),
]
DACH = RoutingRule("dach", pool=[ANN, BOB], countries=["DE"])


def test_a_rep_is_named_by_id_or_by_one_exact_name() -> None:
    assert resolve("Ann", REPS) == (ANN, None)
    assert resolve(str(BOB2), REPS) == (BOB2, None)
    assert resolve("ann", REPS) == (None, "no rep named 'ann' on the team")
    assert resolve("Bob", REPS) == (None, "2 reps are named 'Bob': name the rep by id")
    ghost = UUID(int=9)
    assert resolve(str(ghost), REPS) == (None, f"no rep {ghost} on the team")


def test_each_missed_part_of_an_expectation_is_one_difference() -> None:
    assert differences(Expect(rule="dach", rep="Ann"), "dach", ANN, REPS) == []
    assert differences(Expect(queued=True), "fr", None, REPS) == []
    assert differences(Expect(pool=["Ann", str(BOB)]), "dach", BOB, REPS) == []
    assert differences(Expect(rule="us", queued=True), "dach", ANN, REPS) == [
        "rule: expected 'us', got 'dach'",
        f"queued: expected the lead to be queued, got Ann ({ANN})",
    ]
    # A rep or pool expected of a queued lead: one difference, not one per part.
    assert differences(Expect(rep="Ann", pool=["Ann"]), "fr", None, REPS) == [
        "queued: expected a rep, the lead was queued"
    ]
    assert differences(Expect(pool=["Bob", "Zed"]), "dach", ANN, REPS) == [
        "pool: 2 reps are named 'Bob': name the rep by id",
        "pool: no rep named 'Zed' on the team",
        f"pool: expected one of Bob, Zed, got Ann ({ANN})",
    ]


def test_every_case_starts_a_fresh_rotation_so_order_does_not_matter() -> None:
    lead = LeadFacts(UUID(int=100), country="DE")
    cases = [Case(f"c{i}", lead, Expect(rep="Ann")) for i in range(3)]
    outcomes = check_all(cases, REPS, [DACH], AccountIndex(), now=NOW)
    # A live rotation of Ann 2 : Bob 1 would give the second lead to Bob.
    assert [(o.passed, o.rule, o.rep_id) for o in outcomes] == [(True, "dach", ANN)] * 3
    assert all(o.at == NOW for o in outcomes)


def test_a_case_is_judged_at_its_own_time() -> None:
    away = Rep(
        ANN, "Ann", "ann@seller.example", out_of_office=[(NOW, datetime(2027, 2, 1, tzinfo=UTC))]
    )
    lead = LeadFacts(UUID(int=100), country="DE")
    before = datetime(2026, 12, 1, tzinfo=UTC)
    cases = [Case("now", lead, Expect(rep="Bob")), Case("before", lead, Expect(rep="Ann"), before)]
    outcomes = check_all(cases, [away, REPS[1]], [DACH], AccountIndex(), now=NOW)
    assert [(o.passed, o.at) for o in outcomes] == [(True, NOW), (True, before)]
