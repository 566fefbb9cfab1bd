"""sales-assignment: routing experiments (shadow or split) and the decisions made while one ran.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_experiments",
        sa.Column("experiment_id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=True),
        sa.Column("promoted_version", sa.Integer(), nullable=True),
        sa.UniqueConstraint("name", name="uq_routing_experiments_name"),
    )
    op.create_table(
        "routing_experiment_decisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("arm", sa.String(10), nullable=False),
        sa.Column("rep_id", sa.Uuid(), nullable=True),
        sa.Column("rule", sa.String(100), nullable=True),
        sa.Column("shadow_rep_id", sa.Uuid(), nullable=True),
        sa.Column("shadow_rule", sa.String(100), nullable=True),
        sa.Column("differs", sa.Boolean(), nullable=True),
    )
    op.create_index(
        "ix_routing_experiment_decisions_exp",
        "routing_experiment_decisions",
        ["experiment_id", "arm"],
    )


def downgrade() -> None:
    op.drop_index("ix_routing_experiment_decisions_exp", table_name="routing_experiment_decisions")
    op.drop_table("routing_experiment_decisions")
    op.drop_table("routing_experiments")
