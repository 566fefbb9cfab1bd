"""feedback: when a lead's latest assignment was made, so that a recycled lead's next cycle
(attempt 1 again) takes the lead, and the right to post its outcomes, from the last cycle's
rep; and whether a rejection closed that assignment (no rep may post outcomes on it then).

Leads folded before this revision get their latest assignment from the journey in the
order the fold saw its events (journey.id, one clock): the assignment that arrived last (a
cycle's higher attempt arrives later; a next cycle after the last one's). It is closed, as
the fold closes it, where a rejection arrived after the assignment that opened its cycle (the
first one, or one whose attempt is not above the one before it), so a re-route of a rejected
cycle stays closed. Where the journey holds no assignment (purged by retention): the first
one, closed where a rejection was stored after it. Set-based: two UPDATEs, one … FROM over
windows, whatever the number of leads.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from leadflow.db import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ASSIGNED = "io.leadflow.lead.assigned.v1"
OUTCOME = "io.leadflow.lead.outcome.v1"
FACTS = sa.table(
    "lead_facts",
    sa.column("lead_id", sa.Uuid()),
    sa.column("assigned_at", UtcDateTime()),
    sa.column("assignment_attempt", sa.Integer()),
    sa.column("rep_id", sa.Uuid()),
    sa.column("rep_name", sa.String()),
    sa.column("rejected_at", UtcDateTime()),
    sa.column("recycled", sa.Boolean()),
    sa.column("rep_assigned_at", UtcDateTime()),
    sa.column("assignment_closed", sa.Boolean()),
)
JOURNEY = sa.table(
    "journey",
    sa.column("id", sa.Integer()),
    sa.column("lead_id", sa.Uuid()),
    sa.column("ce_type", sa.String()),
    sa.column("occurred_at", UtcDateTime()),
    sa.column("data", sa.JSON()),
)
OUTCOMES = sa.table(
    "outcomes",
    sa.column("lead_id", sa.Uuid()),
    sa.column("stage", sa.String()),
    sa.column("created_at", UtcDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("lead_facts") as batch:
        batch.add_column(sa.Column("rep_assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("assignment_closed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    bind = op.get_bind()
    latest = _latest_assignments(bind.dialect.name)
    bind.execute(
        sa.update(FACTS)
        .where(FACTS.c.lead_id == latest.c.lead_id, latest.c.n == 1)
        .values(
            rep_assigned_at=latest.c.at,
            assignment_attempt=latest.c.attempt,
            rep_id=latest.c.rep_id,
            rep_name=sa.func.substr(latest.c.name, 1, 200),
            assignment_closed=latest.c.closed,
        )
    )
    # No assignment left in the journey (purged by retention): the first one is all we know.
    rejected_since = sa.exists().where(
        OUTCOMES.c.lead_id == FACTS.c.lead_id,
        OUTCOMES.c.stage == "rejected",
        OUTCOMES.c.created_at >= FACTS.c.assigned_at,
    )
    bind.execute(
        sa.update(FACTS)
        .where(FACTS.c.rep_assigned_at.is_(None), FACTS.c.assigned_at.is_not(None))
        .values(
            rep_assigned_at=FACTS.c.assigned_at,
            assignment_closed=sa.and_(FACTS.c.rep_id.is_not(None), rejected_since),
        )
    )


def _latest_assignments(dialect: str) -> Any:
    """Each folded lead's assignments from the journey, in arrival order, its latest
    numbered `n` = 1, with whether a rejection arrived after its cycle was opened."""
    attempt = JOURNEY.c.data["attempt"].as_integer()
    rep_text = JOURNEY.c.data[("rep", "rep_id")].as_string()
    # The Uuid column's own form: native on PostgreSQL, 32 hex digits on SQLite.
    rep_id: Any = (
        sa.cast(rep_text, sa.Uuid())
        if dialect == "postgresql"
        else sa.func.lower(sa.func.replace(rep_text, "-", ""))
    )
    steps = (
        sa.select(
            JOURNEY.c.id,
            JOURNEY.c.lead_id,
            JOURNEY.c.occurred_at.label("at"),
            attempt.label("attempt"),
            rep_id.label("rep_id"),
            JOURNEY.c.data[("rep", "name")].as_string().label("name"),
            sa.func.lag(attempt)
            .over(partition_by=JOURNEY.c.lead_id, order_by=JOURNEY.c.id)
            .label("before"),
            sa.func.row_number()
            .over(partition_by=JOURNEY.c.lead_id, order_by=JOURNEY.c.id.desc())
            .label("n"),
        )
        .join(FACTS, FACTS.c.lead_id == JOURNEY.c.lead_id)
        .where(JOURNEY.c.ce_type == ASSIGNED, rep_text.is_not(None))
        .subquery("steps")
    )
    # The fold opens the assignment on a lead's first one and on a new cycle (an attempt not
    # above the one before it); a re-route of the same cycle leaves it as it was.
    opens = sa.or_(steps.c.before.is_(None), steps.c.attempt <= steps.c.before)
    opened = sa.func.max(sa.case((opens, steps.c.id))).over(partition_by=steps.c.lead_id)
    cycles = sa.select(steps, opened.label("opened")).subquery("cycles")
    rejections = JOURNEY.alias("rejections")
    closed = sa.exists().where(
        rejections.c.lead_id == cycles.c.lead_id,
        rejections.c.ce_type == OUTCOME,
        rejections.c.data["stage"].as_string() == "rejected",
        rejections.c.id > cycles.c.opened,
    )
    return sa.select(cycles, closed.label("closed")).subquery("latest")


def downgrade() -> None:
    with op.batch_alter_table("lead_facts") as batch:
        batch.drop_column("assignment_closed")
        batch.drop_column("rep_assigned_at")
