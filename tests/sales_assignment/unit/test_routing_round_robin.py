"""Smooth weighted round robin: the sequence, ties, weight 0, and the state as input/output."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from sales_assignment.account_match import Account, AccountIndex
from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.routing import (
    Assignment,
    NoRepAvailable,
    RoutingPolicy,
    route,
    smooth_weighted_pick,
)
from sales_assignment.rules import RoutingRule

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
A, B, C = UUID(int=1), UUID(int=2), UUID(int=3)
LEAD = LeadFacts(lead_id=UUID(int=999), country="DE")


def rep(rep_id: UUID, weight: int, **overrides: Any) -> Rep:
    return Rep(rep_id=rep_id, name=f"rep{rep_id.int}", email="r@x.io", weight=weight, **overrides)


def run(reps: list[Rep], leads: int, state: dict[str, dict[str, int]] | None = None) -> list[UUID]:
    """Route `leads` leads in a row, carrying the state as the caller would."""
    policy = RoutingPolicy(rr_state=state or {})
    picks = []
    for _ in range(leads):
        result = route(LEAD, reps, policy, now=NOW)
        assert isinstance(result, Assignment), result.reason
        picks.append(result.rep_id)
        policy = RoutingPolicy(rr_state=result.new_rr_state)
    return picks


def test_follows_the_nginx_smooth_sequence_for_weights_5_1_1() -> None:
    # The sequence nginx documents for {a:5, b:1, c:1}: spread out, not a a a a a b c.
    assert run([rep(A, 5), rep(B, 1), rep(C, 1)], 7) == [A, A, B, A, C, A, A]


@pytest.mark.parametrize("weights", [(1, 1, 1), (3, 2, 1), (1, 5, 2), (7, 0, 3)])
def test_each_rep_gets_exactly_their_weight_share_over_one_cycle(weights: tuple[int, ...]) -> None:
    reps = [rep(UUID(int=i + 1), w) for i, w in enumerate(weights)]
    counts = Counter(run(reps, sum(weights) * 4))
    assert [counts[r.rep_id] for r in reps] == [w * 4 for w in weights]


def test_equal_weights_break_ties_by_rep_id_whatever_the_input_order() -> None:
    assert run([rep(C, 1), rep(A, 1), rep(B, 1)], 3) == [A, B, C]


def test_weight_zero_is_never_chosen_and_does_not_crash() -> None:
    picks = run([rep(A, 0), rep(B, 2), rep(C, 0)], 20)
    assert set(picks) == {B}


def test_only_weight_zero_reps_leave_the_lead_unassigned_with_the_reason() -> None:
    result = route(LEAD, [rep(A, 0), rep(B, 0)], RoutingPolicy(), now=NOW)
    assert isinstance(result, NoRepAvailable)
    skips = {c["skipped"] for c in result.reason["candidates"]}
    assert skips == {"weight 0 (not in round robin)"}


def test_an_account_owner_of_weight_zero_still_gets_their_accounts() -> None:
    policy = RoutingPolicy(accounts=AccountIndex.build([Account("acme.com", A)]))
    lead = LeadFacts(lead_id=UUID(int=1), email_domain="acme.com")
    result = route(lead, [rep(A, 0), rep(B, 1)], policy, now=NOW)
    assert isinstance(result, Assignment)
    assert result.rep_id == A


def test_route_is_pure_it_returns_new_state_and_leaves_the_input_alone() -> None:
    state = {"default": {str(A): 2, str(B): -2}, "other-pool": {str(C): 1}}
    snapshot = {k: dict(v) for k, v in state.items()}
    reps = [rep(A, 1), rep(B, 1)]
    first = route(LEAD, reps, RoutingPolicy(rr_state=state), now=NOW)
    again = route(LEAD, reps, RoutingPolicy(rr_state=state), now=NOW)
    assert state == snapshot
    assert first == again
    assert isinstance(first, Assignment)
    assert first.rep_id == A
    assert first.new_rr_state == {"default": {str(A): 1, str(B): -1}, "other-pool": {str(C): 1}}


def test_the_state_is_kept_per_rule_pool() -> None:
    team = RoutingRule(name="team", pool=[A, B], countries=["DE"])
    policy = RoutingPolicy(rules=[team])
    result = route(LEAD, [rep(A, 1), rep(B, 1), rep(C, 1)], policy, now=NOW)
    assert isinstance(result, Assignment)
    assert set(result.new_rr_state) == {"team"}


def test_reps_gone_from_the_pool_are_dropped_from_the_state() -> None:
    state = {"default": {str(A): 4, str(C): 9}}
    result = route(LEAD, [rep(A, 1), rep(B, 1)], RoutingPolicy(rr_state=state), now=NOW)
    assert isinstance(result, Assignment)
    assert str(C) not in result.new_rr_state["default"]


def test_an_unavailable_rep_keeps_their_place_and_is_not_charged() -> None:
    away = rep(B, 1, active=False)
    result = route(
        LEAD, [rep(A, 1), away], RoutingPolicy(rr_state={"default": {str(B): 5}}), now=NOW
    )
    assert isinstance(result, Assignment)
    assert result.rep_id == A
    assert result.new_rr_state["default"][str(B)] == 5


def test_smooth_weighted_pick_refuses_an_empty_choice() -> None:
    with pytest.raises(ValueError, match="weight > 0"):
        smooth_weighted_pick([rep(A, 0)], {})
