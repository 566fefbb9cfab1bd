"""Each service's own record of issued and revoked tokens (kernel tables, written by the
token routes in the transaction of their outbox record and by the `leadflow.tokens`
follower), and the records that travel on that topic.

The revoked table is what makes a revocation survive a restart: a replica loads it before it
checks any issued token, so it never depends on Kafka alone to remember one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Index, String, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.db import UtcDateTime, dialect_insert
from leadflow.outbox import kernel_metadata

log = logging.getLogger(__name__)

# Every token issued by any service (learnt from `leadflow.tokens`); never the token text.
issued_tokens_table = Table(
    "access_tokens",
    kernel_metadata,
    Column("token_id", String(40), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("subject", String(200), nullable=True),
    Column("issued_by", String(300), nullable=False),  # token id, "bootstrap", "oidc:<sub>"
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_access_tokens_subject", "subject"),
)

# Every revocation, each kept until the token would have expired anyway.
revoked_tokens_table = Table(
    "access_revocations",
    kernel_metadata,
    Column("token_id", String(40), primary_key=True),
    Column("revoked_at", UtcDateTime(), nullable=False),
    Column("until", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class Issued:
    """One issued token, as listed and published (no token text)."""

    token_id: str
    role: str
    subject: str | None
    issued_by: str
    expires_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class Revoked:
    """One revocation."""

    token_id: str
    revoked_at: datetime
    until: datetime


def _at(seconds: Any) -> datetime:
    return datetime.fromtimestamp(float(seconds), UTC)


def issued_record(token: Issued) -> tuple[bytes, bytes]:
    """The key and value of an issuance on `leadflow.tokens` (its own key: compaction keeps
    it beside the token's revocation, which is keyed by the bare token id)."""
    value = {
        "kind": "issued",
        "token_id": token.token_id,
        "role": token.role,
        "subject": token.subject,
        "issued_by": token.issued_by,
        "expires_at": int(token.expires_at.timestamp()),
        "created_at": int(token.created_at.timestamp()),
    }
    return f"{token.token_id}/issued".encode(), json.dumps(value).encode()


def revoked_record(revocation: Revoked) -> tuple[bytes, bytes]:
    """The key and value of a revocation on `leadflow.tokens`."""
    value = {
        "kind": "revoked",
        "token_id": revocation.token_id,
        "revoked_at": int(revocation.revoked_at.timestamp()),
        "until": int(revocation.until.timestamp()),
    }
    return revocation.token_id.encode(), json.dumps(value).encode()


def parse_record(value: bytes | None) -> Issued | Revoked | None:
    """One `leadflow.tokens` record; None for a tombstone or a malformed record."""
    if value is None:
        return None
    try:
        record: Any = json.loads(value)
        token_id = record["token_id"]
        if not isinstance(token_id, str) or not 0 < len(token_id) <= 40:
            raise ValueError("token_id")
        if record.get("kind", "revoked") == "revoked":
            return Revoked(token_id, _at(record.get("revoked_at", 0)), _at(record["until"]))
        role, subject, issued_by = record["role"], record["subject"], record["issued_by"]
        if not isinstance(role, str) or not isinstance(issued_by, str):
            raise ValueError("role")
        if subject is not None and not isinstance(subject, str):
            raise ValueError("subject")
        return Issued(
            token_id,
            role[:20],
            subject[:200] if subject else None,
            issued_by[:300],
            _at(record["expires_at"]),
            _at(record["created_at"]),
        )
    except (ValueError, KeyError, TypeError, OverflowError, OSError):
        log.warning("skipping a malformed leadflow.tokens record")
        return None


async def save(session: AsyncSession, records: Sequence[Issued | Revoked]) -> None:
    """Keep these records (one already kept is left as it is)."""
    issued = [vars(r) for r in records if isinstance(r, Issued)]
    revoked = [vars(r) for r in records if isinstance(r, Revoked)]
    ins = dialect_insert(session)
    if issued:
        await session.execute(ins(issued_tokens_table).values(issued).on_conflict_do_nothing())
    if revoked:
        await session.execute(ins(revoked_tokens_table).values(revoked).on_conflict_do_nothing())


async def live_revocations(session: AsyncSession, now: datetime) -> list[Revoked]:
    """The revocations whose tokens could still be alive."""
    rows = await session.execute(
        select(revoked_tokens_table).where(revoked_tokens_table.c.until > now)
    )
    return [Revoked(r.token_id, r.revoked_at, r.until) for r in rows]


async def tokens(
    session: AsyncSession, *, subject: str | None, limit: int
) -> list[tuple[Issued, datetime | None]]:
    """Issued tokens, newest first, each with when it was revoked (None: it was not)."""
    t, r = issued_tokens_table, revoked_tokens_table
    query = select(t, r.c.revoked_at).outerjoin(r, r.c.token_id == t.c.token_id)
    if subject is not None:
        query = query.where(t.c.subject == subject)
    query = query.order_by(t.c.created_at.desc(), t.c.token_id).limit(limit)
    found = []
    for row in await session.execute(query):
        token = Issued(
            row.token_id, row.role, row.subject, row.issued_by, row.expires_at, row.created_at
        )
        found.append((token, row.revoked_at))
    return found


async def live_tokens_of(session: AsyncSession, subject: str, now: datetime) -> list[Issued]:
    """The unexpired tokens issued for `subject`."""
    t = issued_tokens_table
    rows = await session.execute(select(t).where(t.c.subject == subject, t.c.expires_at > now))
    return [
        Issued(r.token_id, r.role, r.subject, r.issued_by, r.expires_at, r.created_at) for r in rows
    ]
