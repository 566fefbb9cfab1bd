"""sales-assignment: what each routing decision needed, so the past can be replayed; and the
routing simulations run over it (docs/what-if-lab.md).

A snapshot is the team's configuration (reps as they were, the rules), written once per
distinct content; a checkpoint is the open-lead counts and round-robin weights a routing team
started from (one per team loaded); a decision is one lead routed with that team.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_snapshots",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("reps", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "routing_checkpoints",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("snapshot_id", sa.String(64), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("rr", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "routing_decisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Uuid(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("prev_id", sa.Uuid(), nullable=True),
        sa.Column("exclude", sa.JSON(), nullable=True),
        sa.Column("barred", sa.JSON(), nullable=True),
        sa.Column("rep_id", sa.Uuid(), nullable=True),
        sa.Column("rule", sa.String(100), nullable=False),
    )
    op.create_index("ix_routing_decisions_generation", "routing_decisions", ["generation", "step"])
    op.create_index("ix_routing_decisions_decided_at", "routing_decisions", ["decided_at"])
    op.create_index("ix_routing_decisions_lead_id", "routing_decisions", ["lead_id"])
    op.create_table(
        "routing_simulations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("routing_simulations")
    op.drop_index("ix_routing_decisions_lead_id", table_name="routing_decisions")
    op.drop_index("ix_routing_decisions_decided_at", table_name="routing_decisions")
    op.drop_index("ix_routing_decisions_generation", table_name="routing_decisions")
    op.drop_table("routing_decisions")
    op.drop_table("routing_checkpoints")
    op.drop_table("routing_snapshots")
