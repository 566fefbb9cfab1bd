"""`AssignmentReason.variant` (routing experiments) is an additive v1 field: absent from the
event without an experiment (byte for byte as before), carried and decoded with one, and
ignored by a consumer whose model predates it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ConfigDict

from leadflow.events import AssignmentReason, Envelope, LeadAssigned, RepRef, decode

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def assigned(reason: AssignmentReason) -> Envelope:
    rep = RepRef(rep_id=uuid.UUID(int=1), name="Ann", email="ann@seller.example")
    event = LeadAssigned(
        lead_id=uuid.UUID(int=2), rep=rep, reason=reason, assigned_at=NOW, attempt=1
    )
    return Envelope(data=event, source="/sales-assignment")


def test_without_an_experiment_the_reason_is_what_it_was_before_the_field() -> None:
    env = assigned(AssignmentReason(rule="default", detail="rr"))
    assert json.loads(env.value())["reason"] == {
        "rule": "default",
        "candidates": [],
        "detail": "rr",
    }
    assert decode(env.value(), env.headers()).data == env.data


def test_the_arm_travels_and_decodes() -> None:
    tag = {"experiment": "pair", "arm": "variant"}
    env = assigned(AssignmentReason(rule="pair", variant=tag))
    assert json.loads(env.value())["reason"]["variant"] == tag
    got = decode(env.value(), env.headers()).data
    assert isinstance(got, LeadAssigned)
    assert got.reason.variant == tag


def test_a_consumer_built_before_the_field_ignores_it() -> None:
    class OldReason(AssignmentReason):
        model_config = ConfigDict(extra="ignore")

    doc: dict[str, Any] = json.loads(
        assigned(AssignmentReason(rule="r", variant={"experiment": "e", "arm": "control"})).value()
    )
    old = {k: v for k, v in doc["reason"].items() if k != "variant"}
    assert OldReason.model_validate(old).rule == OldReason.model_validate(doc["reason"]).rule
