"""lead-scoring's tables (its own database)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic_core import to_json
from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from leadflow.db import NAMING, UtcDateTime


class FastJSON(TypeDecorator[Any]):
    """JSON serialised by pydantic-core: plain values as `json.dumps` would, and pydantic
    models (a lead, score factors) directly, without dumping them to dicts first."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], str]:
        return lambda value: to_json(value).decode()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RuleSetVersion(Base):
    """Every rule set ever saved; the highest version is active."""

    __tablename__ = "rule_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


# The model_version of a row that only marks a lead erased before its capture was handled
# (topics are not ordered among themselves): the capture, when it comes, is not stored.
ERASED_UNSCORED = "erased before it was scored"


class LeadScore(Base):
    """The latest score of a lead, the lead it was computed from, and whether it became an MQL."""

    __tablename__ = "lead_scores"

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    lead: Mapped[dict[str, Any] | None] = mapped_column(FastJSON, nullable=True)
    touches: Mapped[int] = mapped_column(Integer, default=1)
    score: Mapped[int] = mapped_column(Integer)
    qualified: Mapped[bool] = mapped_column(Boolean)
    threshold: Mapped[int] = mapped_column(Integer)
    factors: Mapped[list[dict[str, Any]]] = mapped_column(FastJSON)
    model_version: Mapped[str] = mapped_column(String(100))
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    qualified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The latest rejection by sales (`lead_scoring.recycling`): its reason code and, when
    # the lead went back to marketing, since when (it is not an MQL until it qualifies again).
    rejected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    recycled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Scoring simulations (`lead_scoring.simulations`): a won verdict's amount (not personal),
    # and, once the lead is erased, the facts its scores came from (`lead_scoring.kept`).
    won_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), nullable=True)
    won_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ModelState(Base):
    """The learned model, one row; `revision` tells replicas when to reload it."""

    __tablename__ = "model_state"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)  # the v1 keys only (`model._ModelDoc`)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Minimum support (`support`), beside the doc and not in it: a replica of the previous
    # release validates the doc with extra="forbid" and would fail on a key it does not know,
    # and its read-modify-write of the doc leaves these columns as they are.
    min_support: Mapped[int | None] = mapped_column(Integer, nullable=True)  # cut to; None: never
    leads: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)  # per typed value


class ValueSupport(Base):
    """A judged lead's typed value the learned model does not keep yet (`support`): one row
    per value and lead, gone when the value is learned or the lead erased."""

    __tablename__ = "value_support"

    feature: Mapped[str] = mapped_column(String(100), primary_key=True)  # "attribute=value"
    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    stage: Mapped[str] = mapped_column(String(20))  # the lead's verdict: won, lost, rejected
