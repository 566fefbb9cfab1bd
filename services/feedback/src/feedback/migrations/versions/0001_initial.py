"""feedback: kernel tables, journey, lead facts, outcomes, campaign costs.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadflow.migrations import create_kernel_tables, drop_kernel_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(18, 2)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_kernel_tables()
    op.create_table(
        "journey",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("ce_id", sa.String(200), nullable=False),
        sa.Column("ce_type", sa.String(100), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.UniqueConstraint("ce_id", name="uq_journey_ce_id"),
    )
    op.create_index("ix_journey_lead_id", "journey", ["lead_id"])
    op.create_table(
        "lead_facts",
        sa.Column("lead_id", sa.Uuid(), primary_key=True),
        *(
            sa.Column(name, sa.String(200), nullable=True)
            for name in ("source", "form_id", "utm_source", "utm_medium", "utm_campaign")
        ),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("industry", sa.String(200), nullable=True),
        sa.Column("company_size", sa.Integer(), nullable=True),
        sa.Column("captured_at", TS, nullable=True),
        sa.Column("touches", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("scored_at", TS, nullable=True),
        sa.Column("mql_at", TS, nullable=True),
        sa.Column("assigned_at", TS, nullable=True),
        sa.Column("assignment_attempt", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Uuid(), nullable=True),
        sa.Column("rep_name", sa.String(200), nullable=True),
        sa.Column("contacted_at", TS, nullable=True),
        sa.Column("sql_at", TS, nullable=True),
        sa.Column("won_at", TS, nullable=True),
        sa.Column("lost_at", TS, nullable=True),
        sa.Column("amount", MONEY, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("erased_at", TS, nullable=True),
    )
    op.create_index("ix_lead_facts_captured_at", "lead_facts", ["captured_at"])
    op.create_table(
        "outcomes",
        sa.Column("outcome_id", sa.Uuid(), primary_key=True),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("amount", MONEY, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("reason", sa.String(2000), nullable=True),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("reopen", sa.Boolean(), nullable=False),
        sa.Column("ce_id", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("external_id", name="uq_outcomes_external_id"),
    )
    op.create_index("ix_outcomes_lead_id", "outcomes", ["lead_id"])
    op.create_table(
        "campaign_costs",
        sa.Column("utm_campaign", sa.String(200), primary_key=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("campaign_costs")
    op.drop_table("outcomes")
    op.drop_table("lead_facts")
    op.drop_table("journey")
    drop_kernel_tables()
