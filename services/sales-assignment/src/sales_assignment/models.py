"""sales-assignment's tables (its own database)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from leadflow.db import NAMING, UtcDateTime

# Statuses of an assignment; the first three hold a rep's capacity.
OPEN_STATUSES = ("assigned", "accepted", "reassigned")
AWAITING_ACCEPT = ("assigned", "reassigned")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RepRow(Base):
    """A salesperson; soft-deleted so past assignments keep naming them."""

    __tablename__ = "reps"

    rep_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    max_open_leads: Mapped[int | None] = mapped_column(Integer, nullable=True)
    territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    segments: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    working_hours: Mapped[dict[str, list[str]] | None] = mapped_column(JSON, nullable=True)
    out_of_office: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AssignmentRow(Base):
    """The one current assignment of a lead (queued leads have no rep yet)."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_rep_status", "rep_id", "status"),
        Index("ix_assignments_status_sla", "status", "sla_due_at"),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    rep_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    rule: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reason: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The lead as qualified (for webhooks; personal fields dropped on erasure) and the
    # routing facts, which hold nothing personal and survive erasure.
    lead: Mapped[dict[str, Any]] = mapped_column(JSON)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[dict[str, Any]] = mapped_column(JSON)
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sla_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Closed by a rejection with recycle: the lead's next qualification starts a new cycle.
    recycled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class HistoryRow(Base):
    """One step of a lead's assignment: queued, assigned, reassigned, accepted, closed …"""

    __tablename__ = "assignment_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    event: Mapped[str] = mapped_column(String(30))
    rep_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer)
    reason: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class RRStateRow(Base):
    """Smooth weighted round-robin state of one pool: `{rep_id: current_weight}`."""

    __tablename__ = "rr_state"

    pool: Mapped[str] = mapped_column(String(100), primary_key=True)
    weights: Mapped[dict[str, int]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RoutingLockRow(Base):
    """The one row every routing change locks; `generation` counts those changes."""

    __tablename__ = "routing_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)


class EndpointRow(Base):
    """A webhook receiver; `secrets` is a list so a rotation can sign with two."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    secrets: Mapped[list[str]] = mapped_column(JSON)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # After a rotation `secrets` is [new, previous]; the previous one signs until this time.
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DeliveryRow(Base):
    """One webhook message to one endpoint; `body` holds the exact bytes every attempt signs."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_lead", "endpoint_id", "lead_id", "seq"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Order of this lead's messages (the assignment attempt they describe): sent in this order.
    seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(50))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # W3C trace context of what caused the message (the intake request's trace).
    traceparent: Mapped[str | None] = mapped_column(String(55), nullable=True)


class RuleSetRow(Base):
    """One version of the ordered routing rules; the highest version is the active one."""

    __tablename__ = "routing_rules"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AccountOwnerRow(Base):
    """A company domain owned by a rep: that company's leads go to them first."""

    __tablename__ = "account_owners"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    rep_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    # The company's other domains, and its names and subsidiaries' (matched by company name).
    alias_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    names: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FairnessLineRow(Base):
    """One rep in one routing decision, as the fairness ledger counts it (`leadflow.fairness`).

    Written with the decision's history step; one row per skip kind of a rep that was not
    eligible (its share 0). Nothing personal: ids, the weight then, the kind of skip.
    """

    __tablename__ = "fairness_lines"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    decision_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    rep_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    eligible: Mapped[bool] = mapped_column(Boolean)
    weight: Mapped[int | None] = mapped_column(Integer, nullable=True)
    share: Mapped[float] = mapped_column(Float)
    chosen: Mapped[bool] = mapped_column(Boolean)
    skipped: Mapped[str | None] = mapped_column(String(40), nullable=True)
