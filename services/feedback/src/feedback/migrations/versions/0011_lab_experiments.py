"""feedback: the routing experiments as sales-assignment reports them on leadflow.lab, for
the lab page's experiments section (issue 23).

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
        "lab_experiments",
        sa.Column("experiment_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", name="pk_lab_experiments"),
    )
    op.create_index("ix_lab_experiments_reported_at", "lab_experiments", ["reported_at"])


def downgrade() -> None:
    op.drop_index("ix_lab_experiments_reported_at", table_name="lab_experiments")
    op.drop_table("lab_experiments")
