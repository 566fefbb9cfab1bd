"""sales-assignment: the fairness ledger, one row per rep per routing decision.

Decisions made before this revision are not in it: their candidates carry no weight, so
their shares cannot be known (docs/sales-assignment.md, "Fairness ledger").

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fairness_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("rep_id", sa.Uuid(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=True),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("chosen", sa.Boolean(), nullable=False),
        sa.Column("skipped", sa.String(40), nullable=True),
    )
    op.create_index("ix_fairness_lines_decided_at", "fairness_lines", ["decided_at"])


def downgrade() -> None:
    op.drop_index("ix_fairness_lines_decided_at", table_name="fairness_lines")
    op.drop_table("fairness_lines")
