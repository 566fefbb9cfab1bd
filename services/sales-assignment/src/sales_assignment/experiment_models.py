"""The tables of routing experiments (`experiments`): the experiments and their decisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.db import UtcDateTime
from sales_assignment.models import Base


class ExperimentRow(Base):
    """A shadow or split experiment: the variant rules, and how it ended."""

    __tablename__ = "routing_experiments"

    experiment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Unique: feedback groups outcomes by "<name>/<arm>".
    name: Mapped[str] = mapped_column(String(100), unique=True)
    mode: Mapped[str] = mapped_column(String(10))
    share: Mapped[float | None] = mapped_column(Float, nullable=True)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # The active rules version when it started (0: none stored, the default pool).
    base_version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # The rules version the variant became, when promoted.
    promoted_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ExperimentDecisionRow(Base):
    """One routing decision made while an experiment ran: its arm, who got the lead (or
    queued: no rep), and in shadow what the variant would have done. Nothing personal."""

    __tablename__ = "routing_experiment_decisions"
    __table_args__ = (Index("ix_routing_experiment_decisions_exp", "experiment_id", "arm"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    experiment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    event: Mapped[str] = mapped_column(String(20))  # assigned, reassigned or queued
    arm: Mapped[str] = mapped_column(String(10))
    rep_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    rule: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Shadow only: the variant's rep (None: it would have queued the lead) and rule.
    shadow_rep_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    shadow_rule: Mapped[str | None] = mapped_column(String(100), nullable=True)
    differs: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
