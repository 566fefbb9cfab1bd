"""The bodies of the routing-experiment API (`api_experiments`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sales_assignment.schemas import RuleDoc

ExperimentName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]


class ExperimentIn(BaseModel):
    """A variant rule set to try: in shadow, or on a share of live leads (split)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "territory-first",
                    "mode": "split",
                    "share": 0.2,
                    "rules": [{"name": "by-territory", "countries": ["EMEA", "US"]}],
                }
            ]
        },
    )

    name: ExperimentName = Field(
        description='Unique; feedback groups outcomes by "<name>/<arm>" (group_by=routing_variant)'
    )
    mode: Literal["shadow", "split"] = Field(
        description="shadow: every lead is routed by the active rules and the variant's "
        "decision is only recorded; split: the leads whose lead_id (salted by the experiment's "
        "id) hashes below `share` are "
        "routed by the variant rules"
    )
    share: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="split only: the variant's share of leads, 0 < share < 1",
    )
    rules: list[RuleDoc] = Field(
        max_length=200,
        description="The variant rule set, written and validated as PUT /v1/routing/rules takes it",
    )


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    promote: bool = Field(
        description="true: the variant rules become the next active rules version (as PUT "
        "/v1/routing/rules stores it); false: the active rules stay as they are"
    )
    over_version: int | None = Field(
        default=None,
        ge=0,
        description="With promote: true, the active rules version the admin has seen. Needed "
        "when the rules changed since the experiment started (active_version != "
        "base_version): promoting replaces them with the variant alone; without it, or with "
        "another version than the active one, 409",
    )


class ArmOut(BaseModel):
    decisions: int = Field(description="Routing decisions (assigned, reassigned, queued)")
    leads: int = Field(description="Distinct leads decided in this arm")


class RepShadowOut(BaseModel):
    rep_id: uuid.UUID
    name: str | None
    actual: int = Field(description="Decisions that gave the rep the lead")
    shadow: int = Field(description="Decisions in which the variant would have")


class ShadowOut(BaseModel):
    decisions: int
    would_differ: int = Field(
        description="Decisions the variant would have made otherwise: another rep, or "
        "queued where the lead was handed out (and the reverse)"
    )
    queued_actual: int
    queued_shadow: int
    per_rep: list[RepShadowOut]


class ExperimentOut(BaseModel):
    experiment_id: uuid.UUID
    name: str
    mode: Literal["shadow", "split"]
    share: float | None
    rules: list[dict[str, Any]]
    base_version: int = Field(description="The active rules version when it started")
    active_version: int = Field(description="The active rules version now (0: none stored)")
    control_changed: bool = Field(
        description="The active rules (the control arm) changed while it ran: a version "
        "stored after base_version, before it ended, other than the one it was promoted to"
    )
    status: Literal["running", "ended"]
    started_at: datetime
    ended_at: datetime | None
    outcome: Literal["promoted", "ended"] | None
    promoted_version: int | None = Field(description="The rules version the variant became")
    arms: dict[str, ArmOut] = Field(description="control and variant")
    shadow: ShadowOut | None = Field(description="Shadow experiments: live vs variant")
