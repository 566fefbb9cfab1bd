"""feedback: when a lead's latest assignment was made, so that a recycled lead's next cycle
(attempt 1 again) takes the lead, and the right to post its outcomes, from the last cycle's
rep; and whether a rejection closed that assignment (no rep may post outcomes on it then).

Leads folded before this revision get their latest assignment from the journey, by the
fold's rule (`fold._takes_the_lead`): the highest attempt while the lead was never rejected
(one cycle), else the one made last (the higher attempt on a tie); where the journey holds
none, their first one. Their assignment is closed where a rejection was reported after it.
Set-based: one UPDATE … FROM over a window per statement, whatever the number of leads.

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
        )
    )
    # No assignment left in the journey (purged by retention): the first one is all we know.
    bind.execute(
        sa.update(FACTS)
        .where(FACTS.c.rep_assigned_at.is_(None), FACTS.c.assigned_at.is_not(None))
        .values(rep_assigned_at=FACTS.c.assigned_at)
    )
    rejected_since = sa.exists().where(
        OUTCOMES.c.lead_id == FACTS.c.lead_id,
        OUTCOMES.c.stage == "rejected",
        OUTCOMES.c.created_at >= FACTS.c.rep_assigned_at,
    )
    bind.execute(
        sa.update(FACTS)
        .where(FACTS.c.rep_id.is_not(None), rejected_since)
        .values(assignment_closed=sa.true())
    )


def _latest_assignments(dialect: str) -> Any:
    """Each folded lead's assignments from the journey, its latest numbered `n` = 1."""
    attempt = JOURNEY.c.data["attempt"].as_integer()
    rep_text = JOURNEY.c.data[("rep", "rep_id")].as_string()
    # The Uuid column's own form: native on PostgreSQL, 32 hex digits on SQLite.
    rep_id: Any = (
        sa.cast(rep_text, sa.Uuid())
        if dialect == "postgresql"
        else sa.func.lower(sa.func.replace(rep_text, "-", ""))
    )
    one_cycle = sa.and_(FACTS.c.rejected_at.is_(None), FACTS.c.recycled.is_(False))
    rank = sa.func.row_number().over(
        partition_by=JOURNEY.c.lead_id,
        order_by=[
            sa.case((one_cycle, attempt), else_=0).desc(),
            JOURNEY.c.occurred_at.desc(),
            attempt.desc(),
        ],
    )
    return (
        sa.select(
            JOURNEY.c.lead_id,
            JOURNEY.c.occurred_at.label("at"),
            attempt.label("attempt"),
            rep_id.label("rep_id"),
            JOURNEY.c.data[("rep", "name")].as_string().label("name"),
            rank.label("n"),
        )
        .join(FACTS, FACTS.c.lead_id == JOURNEY.c.lead_id)
        .where(JOURNEY.c.ce_type == ASSIGNED, rep_text.is_not(None))
        .subquery("latest")
    )


def downgrade() -> None:
    with op.batch_alter_table("lead_facts") as batch:
        batch.drop_column("assignment_closed")
        batch.drop_column("rep_assigned_at")
