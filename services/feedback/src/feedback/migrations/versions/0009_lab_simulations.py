"""feedback: the what-if lab's simulations, as the dashboard's lab page shows them (issue 23).

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
        "lab_simulations",
        sa.Column("simulation_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("simulation_id", name="pk_lab_simulations"),
    )
    op.create_index("ix_lab_simulations_requested_at", "lab_simulations", ["requested_at"])


def downgrade() -> None:
    op.drop_index("ix_lab_simulations_requested_at", table_name="lab_simulations")
    op.drop_table("lab_simulations")
