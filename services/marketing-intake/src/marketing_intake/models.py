"""marketing-intake's tables (its own database)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, MetaData, String, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from leadflow.db import NAMING, UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ApiKey(Base):
    """A key for the lead API; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class StoredLead(Base):
    """A lead as captured (or another key's submission of it, `touch_of`); `data` is the
    `Lead` JSON, emptied of personal data on erasure."""

    __tablename__ = "leads"

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(320), index=True, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    touches: Mapped[int] = mapped_column(Integer, default=1)
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_touch_at: Mapped[datetime] = mapped_column(UtcDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The API key that captured it, the only key that may read it (None: a web form's).
    captured_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # Set on another key's submission of a person already a lead: the lead it touched. The
    # row holds only what that key sent, for that key to read; it is never a dedupe match.
    touch_of: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)


class IdempotentResponse(Base):
    """The first answer to a request with an `Idempotency-Key`, replayed on repeats."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class WebForm(Base):
    """A web form: where it may be posted from and how its fields map to the lead."""

    __tablename__ = "web_forms"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    allowed_origins: Mapped[list[str]] = mapped_column(JSON)
    redirect_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    field_map: Mapped[dict[str, str]] = mapped_column(JSON)
    required: Mapped[list[str]] = mapped_column(JSON)
    honeypot_field: Mapped[str | None] = mapped_column(String(100), nullable=True)
    require_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_text: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    min_fill_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
