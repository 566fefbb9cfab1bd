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
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
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
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    reopen: Mapped[bool] = mapped_column(Boolean, default=False)
    ce_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The sales-tool integration that reported it (null: the admin token).
    integration_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


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
