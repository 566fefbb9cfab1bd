"""The fairness ledger's reading of recorded decisions (`leadflow.fairness`, pure)."""

from __future__ import annotations

from typing import Any

import pytest

from leadflow.fairness import OTHER, decision_lines, skip_kind, tally


def cand(rep: str, weight: int | None, skipped: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"rep_id": rep, "name": rep.title(), "eligible": skipped is None, "skipped": skipped,
            "weight": weight, "step": "pool"} | extra  # fmt: skip


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("inactive", "inactive"),
        ("out_of_office until 2030-01-08T00:00:00+00:00", "out_of_office"),
        ("outside working hours (Europe/Berlin 19:05)", "outside_working_hours"),
        ("at capacity 25/25", "at_capacity"),
        ("territory: FR not in US", "territory"),
        ("segment: smb not in enterprise", "segment"),
        ("weight 0 (not in round robin)", "weight_zero"),
        ("unknown rep", "unknown_rep"),
        ("already tried for this lead", "already_tried"),
        ("declined this lead", "declined"),
        ("on a boat", OTHER),
        (None, OTHER),
    ],
)
def test_each_reason_the_routing_writes_has_its_kind(text: str | None, kind: str) -> None:
    assert skip_kind(text) == kind


def test_an_eligible_rep_expects_its_weight_over_the_eligible_weight() -> None:
    lines = decision_lines(
        [cand("ann", 3), cand("bob", 1), cand("cid", 5, "at capacity 2/2")], chosen="bob"
    )
    assert lines is not None
    got = {(x.rep_id, x.eligible, x.share, x.chosen, x.skipped) for x in lines}
    assert got == {
        ("ann", True, 0.75, False, ()),
        ("bob", True, 0.25, True, ()),
        ("cid", False, 0.0, False, ("at_capacity",)),
    }


def test_a_rep_listed_as_owner_and_in_the_pool_counts_once_with_each_reason() -> None:
    owner = cand("ann", 2, "already tried for this lead", step="account_owner")
    lines = decision_lines(
        [owner, cand("ann", 2, "territory: FR not in US"), cand("bob", 1)], "bob"
    )
    assert lines is not None
    assert [(x.rep_id, x.eligible, x.share, x.skipped) for x in lines] == [
        ("ann", False, 0.0, ("already_tried", "territory")),
        ("bob", True, 1.0, ()),
    ]
    # Eligible in one of its lines (an owner given the lead again): eligible, no skip.
    again = decision_lines([cand("ann", 2, step="account_owner"), cand("ann", 2, "x")], "ann")
    assert again is not None
    assert [(x.eligible, x.share, x.chosen, x.skipped) for x in again] == [(True, 1.0, True, ())]


def test_an_owner_of_weight_zero_alone_eligible_expects_the_whole_lead() -> None:
    lines = decision_lines([cand("ann", 0, step="account_owner")], chosen="ann")
    assert lines is not None
    assert [(x.share, x.chosen) for x in lines] == [(1.0, True)]


def test_a_queued_decision_has_only_skips_and_an_old_one_no_lines() -> None:
    queued = decision_lines(
        [cand("ann", 1, "inactive"), cand("bob", 2, "declined this lead")], None
    )
    assert queued is not None
    assert [(x.eligible, x.share, x.chosen, x.skipped) for x in queued] == [
        (False, 0.0, False, ("inactive",)),
        (False, 0.0, False, ("declined",)),
    ]
    old = [{"rep_id": "ann", "name": "Ann", "eligible": True, "skipped": None}]
    assert decision_lines(old, "ann") is None  # recorded before weights were: unknowable


def test_tally_sums_per_rep_sorted_by_name() -> None:
    one = decision_lines([cand("bob", 1), cand("ann", 2)], "ann")
    two = decision_lines([cand("bob", 1), cand("ann", 2, "inactive")], "bob")
    assert one is not None
    assert two is not None
    reps = tally([one, two])
    assert [(r.name, r.eligible, r.expected, r.actual, r.skipped) for r in reps] == [
        ("Ann", 1, 0.67, 1, {"inactive": 1}),
        ("Bob", 2, 1.33, 1, {}),
    ]
