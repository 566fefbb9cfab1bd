"""lead-scoring: a lead's latest rejection and, when it went back to marketing, its recycling.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead_scores") as batch:
        batch.add_column(sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rejection_reason", sa.String(20), nullable=True))
        batch.add_column(sa.Column("recycled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead_scores") as batch:
        batch.drop_column("recycled_at")
        batch.drop_column("rejection_reason")
        batch.drop_column("rejected_at")
