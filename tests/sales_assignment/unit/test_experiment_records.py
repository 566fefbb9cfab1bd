"""What a running experiment records, without a database: one record per decision, built
where the team decides, for the decisions the transaction stages (assigned, reassigned,
queued) and none for a routing call that decides nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from assigner_kit import NOW, assigner, qualified

from leadflow.uow import MemoryUnitOfWork
from sales_assignment.experiment_models import ExperimentDecisionRow
from sales_assignment.experiment_trial import Trial, staged_as
from sales_assignment.experiments import Experiment
from sales_assignment.models import AssignmentRow, HistoryRow, RepRow
from sales_assignment.replay_models import DecisionRow
from sales_assignment.routing import Assignment, NoRepAvailable
from sales_assignment.rules import RoutingRule
from sales_assignment.staging import Staged
from sales_assignment.team import Team

ANN, BOB = uuid.UUID(int=1), uuid.UUID(int=2)
GIVEN = Assignment(BOB, "default", {}, {})
KEPT = Assignment(ANN, "default", {}, {})
NOBODY = NoRepAvailable("default", {}, {})


@pytest.mark.parametrize(
    ("kind", "result", "attempt", "step"),
    [
        ("new", GIVEN, 0, "assigned"),
        ("new", NOBODY, 0, "queued"),
        ("recycled", GIVEN, 0, "assigned"),
        ("queue", GIVEN, 1, "reassigned"),
        ("queue", NOBODY, 1, None),  # the lead waits as it was
        ("sla", GIVEN, 1, "reassigned"),
        ("sla", KEPT, 1, None),  # nobody else: the rep keeps it
        ("sla", NOBODY, 1, None),
        ("declined", GIVEN, 1, "reassigned"),
        ("declined", NOBODY, 1, "queued"),
        ("retired", NOBODY, 2, "queued"),
    ],
)
def test_the_step_a_routing_call_stages_is_what_the_assigner_does_with_its_outcome(
    kind: str, result: Assignment | NoRepAvailable, attempt: int, step: str | None
) -> None:
    assert staged_as(kind, result, ANN, attempt) == step


def rep(rep_id: uuid.UUID, name: str) -> RepRow:
    return RepRow(rep_id=rep_id, name=name, email=f"{name.lower()}@seller.example",
                  active=True, weight=1, max_open_leads=None, territories=[], segments=[],
                  timezone="UTC", working_hours=None, out_of_office=[], created_at=NOW,
                  updated_at=NOW, deleted_at=None)  # fmt: skip


def shadow_team(*reps: RepRow) -> Team:
    """A team whose running experiment, in shadow, gives every lead to Bob."""
    trial = Trial(Experiment(uuid.UUID(int=0xE1), "bob", "shadow", [RoutingRule("b", pool=[BOB])]))
    return Team({r.rep_id: r for r in reps}, {}, {}, trial=trial)


def staged(uow: MemoryUnitOfWork, table: str) -> list[dict[str, Any]]:
    return [row for part in uow.staged.rows if part.table.name == table for row in part.rows]


@pytest.mark.parametrize("names", [("Ann", "Bob"), ()])  # handed out, or queued
async def test_the_experiment_records_each_decision_the_assigner_stages_as_history(
    names: tuple[str, ...],
) -> None:
    a = assigner()
    team = shadow_team(*(rep(uuid.UUID(int=i + 1), name) for i, name in enumerate(names)))
    uow = MemoryUnitOfWork()
    todo = [qualified() for _ in range(4)]

    await a.assign_new(uow, team, todo, Staged(_endpoints=[]))

    history = staged(uow, HistoryRow.__tablename__)
    recorded = staged(uow, ExperimentDecisionRow.__tablename__)
    assert [(r["lead_id"], r["event"], r["rep_id"], r["decided_at"]) for r in recorded] == [
        (h["lead_id"], h["event"], h["rep_id"], h["at"]) for h in history
    ]
    assert {r["arm"] for r in recorded} == {"control"}
    assert len(recorded) == len(todo)
    assert {r["event"] for r in recorded} == ({"assigned"} if names else {"queued"})
    assert {r["shadow_rep_id"] for r in recorded} == ({BOB} if names else {None})
    assert [r["differs"] for r in recorded] == [r["rep_id"] != r["shadow_rep_id"] for r in recorded]


def test_an_sla_check_that_keeps_the_rep_is_replayed_but_is_no_experiment_decision() -> None:
    team = shadow_team(rep(ANN, "Ann"))  # nobody else to take it
    row = AssignmentRow(lead_id=uuid.uuid4(), rep_id=ANN, status="assigned", attempt=1,
                        rule="default", reason={}, lead={}, facts={}, score={})  # fmt: skip
    uow = MemoryUnitOfWork()

    result = team.decide(row, NOW, {ANN}, set(), kind="sla")
    team.save(uow, NOW)

    assert isinstance(result, Assignment)
    assert result.rep_id == ANN
    assert [d["kind"] for d in staged(uow, DecisionRow.__tablename__)] == ["sla"]
    assert staged(uow, ExperimentDecisionRow.__tablename__) == []
