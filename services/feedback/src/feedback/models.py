"""feedback's tables (its own database): the read model, outcomes and campaign costs."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Integer,
    MetaData,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from leadflow.db import NAMING, UtcDateTime

MONEY = Numeric(18, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class JourneyEvent(Base):
    """One consumed event of a lead; `data` holds no personal data beyond a lead snapshot."""

    __tablename__ = "journey"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    ce_id: Mapped[str] = mapped_column(String(200), unique=True)
    ce_type: Mapped[str] = mapped_column(String(100))
    # Indexed for the retention purge (LEADFLOW_JOURNEY_RETENTION_DAYS).
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class LeadFacts(Base):
    """What the funnel needs about one lead, folded from its events (no personal data)."""

    __tablename__ = "lead_facts"

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    form_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_medium: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_campaign: Mapped[str | None] = mapped_column(String(200), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    industry: Mapped[str | None] = mapped_column(String(200), nullable=True)
    company_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Null until the lead's own events arrive (an outcome may come first).
    captured_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    touches: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scored_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    mql_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    assignment_attempt: Mapped[int] = mapped_column(Integer, default=0)
    rep_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    rep_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contacted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sql_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    won_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lost_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The latest rejection (issue 24): when, its reason code, and whether it was recycled.
    rejected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    recycled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The routing experiment's arm of the latest assignment, "<experiment>/<arm>" (issue 23).
    routing_variant: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # When the latest assignment (rep_id's) was made: it orders a recycled lead's new cycle,
    # which starts again at attempt 1, after the old one.
    rep_assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # A rejection closed the latest assignment: its rep may post no outcomes on the lead.
    assignment_closed: Mapped[bool] = mapped_column(Boolean, default=False)


class Outcome(Base):
    """An outcome reported over HTTP: the first answer to repeats, and the stage history."""

    __tablename__ = "outcomes"

    outcome_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    stage: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Whose id space `external_id` is in (two CRMs may use the same ids): the integration's
    # id, `sales_tool:<subject>`, `rep:<rep_id>`, or "" for the admin.
    external_scope: Mapped[str] = mapped_column(String(250), default="")
    reopen: Mapped[bool] = mapped_column(Boolean, default=False)
    recycle: Mapped[bool] = mapped_column(Boolean, default=False)  # rejected: back to marketing
    ce_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The sales-tool integration that reported it (null: the admin token).
    integration_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)

    __table_args__ = (
        UniqueConstraint("external_scope", "external_id", name="uq_outcomes_external_scope"),
    )


class CampaignCost(Base):
    """What a campaign (`utm_campaign`) cost in total."""

    __tablename__ = "campaign_costs"

    utm_campaign: Mapped[str] = mapped_column(String(200), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Integration(Base):
    """A sales tool allowed to report outcomes: by bearer token or by signed webhook."""

    __tablename__ = "integrations"

    integration_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # "token" | "webhook"
    # kind token: SHA-256 (hex) of the token, which is shown once and never stored.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # What the list shows to tell tokens apart ("lf_it_AbCd…").
    hint: Mapped[str] = mapped_column(String(40))
    # kind webhook: the Standard Webhooks secret, kept because verifying needs it.
    secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebhookReceipt(Base):
    """An inbound webhook taken (per integration and `webhook-id`): redeliveries are repeats."""

    __tablename__ = "webhook_receipts"

    integration_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    outcome_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DashboardSession(Base):
    """A dashboard login: the cookie holds a random id, this row what it stands for."""

    __tablename__ = "dashboard_sessions"

    # SHA-256 (hex) of the cookie's value: a read of this table opens no session.
    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The access token logged in with (checked against the revoked set on every request);
    # null for the bootstrap admin token, whose fingerprint is kept instead.
    token_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    source: Mapped[str] = mapped_column(String(20))
    credential_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Agreement(Base):
    """What marketing and sales promised each other (issue 24): one row, the latest PUT."""

    __tablename__ = "agreement"

    agreement_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)  # schemas.AgreementIn, as JSON
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LabSimulation(Base):
    """A what-if simulation asked for on the dashboard's lab page, or reported by the
    service that ran it (leadflow.lab): its request, status and report (the API's answer)."""

    __tablename__ = "lab_simulations"

    simulation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # routing | scoring
    status: Mapped[str] = mapped_column(String(10))  # requested | running | done | failed
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # When it was asked for (or, for one started elsewhere, when its report said it was).
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LabExperiment(Base):
    """A routing experiment as sales-assignment last reported it on leadflow.lab (the latest
    by `reported_at`), for the lab page: its state and, in shadow, actual vs shadow."""

    __tablename__ = "lab_experiments"

    experiment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(10))  # shadow | split
    status: Mapped[str] = mapped_column(String(10))  # running | ended | promoted
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)  # lab.ExperimentReported, as JSON
