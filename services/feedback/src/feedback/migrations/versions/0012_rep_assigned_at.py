"""feedback: when a lead's latest assignment was made, so that a recycled lead's next cycle
(attempt 1 again) takes the lead, and the right to post its outcomes, from the last cycle's
rep. Leads folded before this revision get their latest assignment from the journey (the
one made last, the higher attempt on a tie); where the journey holds none, their first one.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from leadflow.db import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ASSIGNED = "io.leadflow.lead.assigned.v1"
FACTS = sa.table(
    "lead_facts",
    sa.column("lead_id", sa.Uuid()),
    sa.column("assigned_at", UtcDateTime()),
    sa.column("assignment_attempt", sa.Integer()),
    sa.column("rep_id", sa.Uuid()),
    sa.column("rep_name", sa.String()),
    sa.column("rep_assigned_at", UtcDateTime()),
)
JOURNEY = sa.table(
    "journey",
    sa.column("lead_id", sa.Uuid()),
    sa.column("ce_type", sa.String()),
    sa.column("occurred_at", UtcDateTime()),
    sa.column("data", sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("lead_facts") as batch:
        batch.add_column(sa.Column("rep_assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("assignment_closed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    bind = op.get_bind()
    latest: dict[uuid.UUID, tuple[datetime, int, dict[str, Any]]] = {}
    assignments = sa.select(JOURNEY.c.lead_id, JOURNEY.c.occurred_at, JOURNEY.c.data).where(
        JOURNEY.c.ce_type == ASSIGNED
    )
    rows = bind.execute(assignments.execution_options(yield_per=1000))  # not all at once
    for lead_id, at, data in rows:
        attempt = int(data.get("attempt") or 0)
        if lead_id not in latest or (at, attempt) >= latest[lead_id][:2]:
            latest[lead_id] = (at, attempt, data.get("rep") or {})
    update = (
        sa.update(FACTS)
        .where(FACTS.c.lead_id == sa.bindparam("lead"))
        .values(
            rep_assigned_at=sa.bindparam("at", type_=UtcDateTime()),
            assignment_attempt=sa.bindparam("attempt"),
            rep_id=sa.bindparam("rep", type_=sa.Uuid()),
            rep_name=sa.bindparam("name"),
        )
    )
    params = [
        {
            "lead": lead_id,
            "at": at,
            "attempt": attempt,
            "rep": uuid.UUID(rep["rep_id"]),
            "name": (rep.get("name") or "")[:200] or None,
        }
        for lead_id, (at, attempt, rep) in latest.items()
        if rep.get("rep_id")
    ]
    if params:
        bind.execute(update, params)
    # No assignment left in the journey (purged by retention): the first one is all we know.
    bind.execute(
        sa.update(FACTS)
        .where(FACTS.c.rep_assigned_at.is_(None), FACTS.c.assigned_at.is_not(None))
        .values(rep_assigned_at=FACTS.c.assigned_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("lead_facts") as batch:
        batch.drop_column("assignment_closed")
        batch.drop_column("rep_assigned_at")
