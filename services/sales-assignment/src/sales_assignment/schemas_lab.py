"""The what-if lab's request bodies: a routing simulation (`POST /v1/routing/simulations`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadflow.bounds import RANGE, BoundedDateTime
from sales_assignment.places import Place
from sales_assignment.schemas import Hours, Name, RuleDoc, Segment, Timezone

Action = Literal["add", "deactivate", "reweight", "leave", "cap"]
# What each action needs besides `rep_id` (an added rep may go without one: a new id).
_NEEDS: dict[str, tuple[str, ...]] = {
    "add": (),
    "deactivate": ("rep_id",),
    "reweight": ("rep_id", "weight"),
    "leave": ("rep_id", "start", "end"),
    "cap": ("rep_id", "max_open_leads"),
}
MAX_CHANGES = 200
MAX_RULES = 500


class RepChangeIn(BaseModel):
    """One change to the roster the simulation routes with."""

    model_config = ConfigDict(extra="forbid")

    action: Action = Field(
        description="`add` a rep (with its fields), `deactivate` one, `reweight` it "
        "(`weight`), give it `leave` ([`start`, `end`), out of office) or `cap` it "
        "(`max_open_leads`, null: no cap)"
    )
    rep_id: uuid.UUID | None = Field(
        default=None, description="The rep changed (required but for `add`)"
    )
    name: Name | None = None
    weight: Annotated[int, Field(ge=0, le=1000)] | None = None
    max_open_leads: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    territories: Annotated[list[Place], Field(max_length=300)] = []
    segments: Annotated[list[Segment], Field(max_length=3)] = []
    timezone: Timezone = "UTC"
    working_hours: Hours = None
    start: BoundedDateTime | None = Field(default=None, description=f"No zone: UTC; {RANGE}")
    end: BoundedDateTime | None = None

    @model_validator(mode="after")
    def _complete(self) -> RepChangeIn:
        sent = self.model_fields_set
        for name in _NEEDS[self.action]:
            if name not in sent or (getattr(self, name) is None and name != "max_open_leads"):
                raise ValueError(f"{self.action!r} needs {name!r}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class RoutingSimulationRequest(BaseModel):
    """A window of past decisions, and what to route them with instead (nothing: as they
    were, which measures the reproduction)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "2026-11-01T00:00:00Z",
                    "to": "2026-12-01T00:00:00Z",
                    "rules": [{"name": "emea", "countries": ["EMEA"], "pool": "territory"}],
                    "reps": [
                        {"action": "deactivate", "rep_id": "0b7e4c52-9a1d-4f3e-8c6b-2d5a7e9f1b30"}
                    ],
                }
            ]
        },
    )

    from_: BoundedDateTime = Field(
        alias="from", description=f"Decisions made at or after this time (no zone: UTC; {RANGE})"
    )
    to: BoundedDateTime = Field(description="Decisions made before this time (≤ 366 days)")
    rules: Annotated[list[RuleDoc], Field(max_length=MAX_RULES)] | None = Field(
        default=None,
        description="A draft rule set, as `PUT /v1/routing/rules` takes it; none: the rules "
        "each decision was made with",
    )
    reps: Annotated[list[RepChangeIn], Field(max_length=MAX_CHANGES)] = []

    def doc(self) -> dict[str, Any]:
        """The request as stored and shown back (JSON)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @property
    def window(self) -> tuple[datetime, datetime]:
        return self.from_, self.to


def field_of(loc: Sequence[int | str]) -> str:
    """`("body", "reps", 0, "weight")` → `reps[0].weight`: a field named as the draft rules'
    errors name theirs (`rules[2].countries[0]`)."""
    parts = list(loc)
    if len(parts) > 1 and parts[0] in {"body", "query", "path"}:
        parts = parts[1:]
    named = ""
    for part in parts:
        named += f"[{part}]" if isinstance(part, int) else f".{part}" if named else str(part)
    return named
