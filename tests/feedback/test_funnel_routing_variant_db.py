"""The funnel per routing experiment arm (group_by=routing_variant) from events folded by the
real handlers, on SQLite and PostgreSQL: the arm of a lead's latest leads.assigned, "none"
without one, the usual figures and the win rate's Wilson interval."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from feedback_events import ADMIN, RITA, SAM, at, captured, deliver, env, lead, scored

from leadflow.events import AssignmentReason, Envelope, LeadAssigned, LeadOutcome, RepRef
from leadflow.service import Runtime
from leadflow.stats import wilson_interval

pytestmark = pytest.mark.postgres
PERIOD = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}


def assigned(lead_id: uuid.UUID, arm: str | None, attempt: int = 1, rep: RepRef = RITA) -> Envelope:
    variant = {"experiment": "pair", "arm": arm} if arm else None
    reason = AssignmentReason(rule="r", variant=variant)
    return env(LeadAssigned(lead_id=lead_id, rep=rep, reason=reason,
                            assigned_at=at(minutes=5 + attempt), attempt=attempt))  # fmt: skip


def outcome(lead_id: uuid.UUID, stage: str, when: datetime) -> Envelope:
    amount = Decimal("1000") if stage == "won" else None
    return env(LeadOutcome(lead_id=lead_id, stage=stage, occurred_at=when, amount=amount,
                           currency="EUR" if amount else None))  # fmt: skip


async def funnel(client: httpx.AsyncClient) -> dict[str | None, dict[str, Any]]:
    r = await client.get(
        "/v1/metrics/funnel", params={"group_by": "routing_variant", **PERIOD}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    assert r.json()["group_by"] == "routing_variant"
    return {g["key"]: g for g in r.json()["groups"]}


async def test_the_funnel_per_arm_from_folded_events(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    plan = {  # arm of the latest assignment → the closes of its leads
        "variant": ["won", "won", "won", "lost", None],
        "control": ["won", "lost", "lost", "lost"],
        None: ["won", None],
    }
    for arm, closes in plan.items():
        for close in closes:
            one = lead(uuid.uuid4())
            await deliver(rt, captured(one))
            await deliver(rt, scored(one, 80, at(minutes=1)))
            await deliver(rt, assigned(one.lead_id, arm))
            if close:
                await deliver(rt, outcome(one.lead_id, close, at(days=3)))
    # The latest assignment decides, whatever the order events arrive in: attempt 2 was
    # made in the variant arm, attempt 1 (delivered late) in control.
    late = lead(uuid.uuid4())
    for envelope in (
        captured(late),
        scored(late, 90, at(minutes=1)),
        assigned(late.lead_id, "variant", attempt=2, rep=SAM),
        assigned(late.lead_id, "control", attempt=1),
        outcome(late.lead_id, "lost", at(days=4)),
    ):
        await deliver(rt, envelope)
    never = lead(uuid.uuid4())  # captured, never qualified nor assigned
    await deliver(rt, captured(never))

    groups = await funnel(client)
    assert set(groups) == {"pair/variant", "pair/control", "none"}
    variant, control, none = groups["pair/variant"], groups["pair/control"], groups["none"]
    assert (variant["leads"], variant["mqls"], variant["won"], variant["lost"]) == (6, 6, 3, 2)
    assert (control["leads"], control["won"], control["lost"]) == (4, 1, 3)
    assert (none["leads"], none["mqls"], none["won"]) == (3, 2, 1)
    assert variant["win_rate"] == 0.6
    assert control["win_rate"] == 0.25
    low, high = wilson_interval(3, 5) or (0, 0)
    assert (variant["win_rate_wilson_lower"], variant["win_rate_wilson_upper"]) == (
        round(low, 4),
        round(high, 4),
    )
    assert control["win_rate_wilson_lower"] < 0.25 < control["win_rate_wilson_upper"]
    assert (variant["revenue"], variant["currency"]) == (3000.0, "EUR")
    assert variant["median_speed_to_lead_seconds"] is not None
    assert variant["label"] == "pair/variant"

    # The same groups as CSV, and the grouping is in the OpenAPI enum.
    csv = await client.get(
        "/v1/metrics/funnel.csv", params={"group_by": "routing_variant", **PERIOD}, headers=ADMIN
    )
    header, *rows = csv.text.strip().split("\r\n")
    assert header.endswith("win_rate_wilson_lower,win_rate_wilson_upper")
    assert sorted(r.split(",")[0] for r in rows) == ["none", "pair/control", "pair/variant"]
    spec = (await client.get("/openapi.json")).json()
    [param] = [
        p
        for p in spec["paths"]["/v1/metrics/funnel"]["get"]["parameters"]
        if p["name"] == "group_by"
    ]
    assert "routing_variant" in param["schema"]["enum"]
