"""The replay record's tables: team snapshots, checkpoints, decisions, and simulations run.

Nothing personal: rep configuration (no names or emails), rules, and per decision the lead's
id with the facts rules read (country, size, industry, score), never its domains or company.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.db import UtcDateTime
from sales_assignment.models import Base


class SnapshotRow(Base):
    """A team's configuration as routing saw it: reps (no names) and rules; keyed by a hash
    of its content, so a team written again is the same row."""

    __tablename__ = "routing_snapshots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rules_version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CheckpointRow(Base):
    """Where a routing team started: open-lead counts (in the snapshot's rep order) and the
    round-robin weights (`{pool: [weight or null, …]}`, same order)."""

    __tablename__ = "routing_checkpoints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    snapshot_id: Mapped[str] = mapped_column(String(64))
    counts: Mapped[list[int]] = mapped_column(JSON)
    rr: Mapped[dict[str, list[int | None]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DecisionRow(Base):
    """One routing decision: its inputs beyond the checkpoint's, and what came of it.

    Ordered by (generation, step): the routing lock's generation, then the step within the
    team that made it. `rep_id` None: nobody could take the lead (queued).
    """

    __tablename__ = "routing_decisions"
    __table_args__ = (Index("ix_routing_decisions_generation", "generation", "step"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    generation: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(Integer)
    checkpoint_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(12))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    prev_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    exclude: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    barred: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    rep_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    rule: Mapped[str] = mapped_column(String(100))


class SimulationRow(Base):
    """A routing simulation: its request, status, and report once done."""

    __tablename__ = "routing_simulations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Touched while it runs: a `running` one not touched for a while died with its process.
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
