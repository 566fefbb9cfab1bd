"""The routing replay over hand-made records (pure): misses are explained, not guessed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sales_assignment.facts import LeadFacts
from sales_assignment.kept_decisions import coarse_facts, vocabulary
from sales_assignment.places import segment_of
from sales_assignment.replay import Replay
from sales_assignment.replay_inputs import Checkpoint, Decision, Draft, Snapshot, rep_id
from sales_assignment.rules import validate_rules

ANN, BOB = rep_id(uuid.UUID(int=1)), rep_id(uuid.UUID(int=2))
NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
SNAPSHOT = Snapshot.of(
    "s1",
    {
        "rules_version": 0,
        "rules": [],
        "reps": [{"rep_id": str(ANN), "weight": 1}, {"rep_id": str(BOB), "weight": 1}],
    },
)
CHECKPOINT = Checkpoint(uuid.uuid4(), "s1", (0, 0), {})


def decided(rep: uuid.UUID | None, n: int, **facts: Any) -> Decision:
    return Decision(
        checkpoint_id=CHECKPOINT.checkpoint_id,
        decided_at=NOW + timedelta(minutes=n),
        lead_id=uuid.UUID(int=100 + n),
        kind="new",
        facts={"country": "DE"} | facts,
        owner_id=None,
        prev_id=None,
        exclude=None,
        barred=frozenset(),
        rep_id=rep,
        rule="default",
    )


def replay(*decisions: Decision, snapshot: Snapshot | None = SNAPSHOT) -> dict[str, Any]:
    r = Replay(Draft())
    for d in decisions:
        r.feed(d, snapshot, CHECKPOINT if snapshot else None, in_window=True)
    return r.report({})


def test_equal_weights_alternate_from_the_lowest_rep_id_and_are_reproduced() -> None:
    report = replay(decided(ANN, 0), decided(BOB, 1), decided(ANN, 2))
    assert (report["reproduced"], report["misses"], report["changed"]) == (1.0, [], 0)


def test_a_record_routing_cannot_give_again_is_a_miss_and_taints_its_team() -> None:
    report = replay(decided(BOB, 0), decided(BOB, 1), decided(ANN, 2))
    reasons = {m["reason"]: m["count"] for m in report["misses"]}
    assert reasons == {"replay_differs": 1, "after_earlier_miss": 1}
    assert report["reproduced"] == round(1 / 3, 4)


def test_a_split_experiments_variant_decision_is_explained_and_leaves_the_rotation() -> None:
    report = replay(decided(BOB, 0, variant="exp"), decided(ANN, 1), decided(BOB, 2))
    assert [(m["reason"], m["count"]) for m in report["misses"]] == [("experiment_variant", 1)]
    assert report["reproduced"] == round(2 / 3, 4)


def test_a_decision_whose_team_is_gone_is_explained() -> None:
    report = replay(decided(ANN, 0), snapshot=None)
    assert [(m["reason"], m["count"]) for m in report["misses"]] == [("team_not_recorded", 1)]
    assert report["misses"][0]["example_lead_ids"] == [str(uuid.UUID(int=100))]


def test_an_erased_leads_coarse_facts_match_every_rule_and_segment_as_its_own_did() -> None:
    rule_sets = [
        [{"name": "mid", "min_employees": 120, "max_employees": 480, "industries": ["Widgets"]}],
        [{"name": "big", "min_employees": 2500}, {"name": "any", "pool": "territory"}],
    ]
    vocab = vocabulary(rule_sets)
    rules = [rule for docs in rule_sets for rule in validate_rules(docs)]
    for size in range(0, 6000):
        own = LeadFacts(uuid.UUID(int=size), country="DE", company_size=size, industry="widgets")
        doc = coarse_facts({"country": "DE", "company_size": size, "industry": "widgets"}, vocab)
        kept = LeadFacts(
            own.lead_id,
            country=doc["country"],
            company_size=doc["company_size"],
            industry=doc["industry"],
        )
        assert [r.matches(kept) for r in rules] == [r.matches(own) for r in rules], size
        assert segment_of(kept.company_size) == segment_of(size), size
        low, high = doc["size_band"]
        assert low == doc["company_size"] <= size
        assert high is None or size <= high
    assert vocab.cuts == (0, 100, 120, 481, 1000, 2500)
    named = coarse_facts({"industry": "WIDGETS", "country": "FR", "score": 7}, vocab)
    unnamed = coarse_facts({"industry": "quill carving", "country": "Deutschland"}, vocab)
    assert named == {"industry": "WIDGETS", "country": "FR", "score": 7}
    assert unnamed == {"industry": None, "country": "ZZ"}  # ZZ matches nothing, as before
