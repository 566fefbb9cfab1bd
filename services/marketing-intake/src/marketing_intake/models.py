"""marketing-intake's tables (its own database)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, MetaData, String, UniqueConstraint, Uuid
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
    """A lead as captured; `data` is the `Lead` JSON, emptied of personal data on erasure."""

    __tablename__ = "leads"

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(320), index=True, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    touches: Mapped[int] = mapped_column(Integer, default=1)
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_touch_at: Mapped[datetime] = mapped_column(UtcDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


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
