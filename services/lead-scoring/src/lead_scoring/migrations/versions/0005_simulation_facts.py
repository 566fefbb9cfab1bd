"""lead-scoring: what scoring simulations need of past leads (issue 23).

The amount and currency of a won MQL (not personal), the non-personal scoring facts an erased
lead keeps, and an index on scored_at (a simulation's window).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead_scores") as batch:
        batch.add_column(sa.Column("won_amount", sa.Numeric(18, 2), nullable=True))
        batch.add_column(sa.Column("won_currency", sa.String(3), nullable=True))
        batch.add_column(sa.Column("facts", sa.JSON(), nullable=True))
    op.create_index("ix_lead_scores_scored_at", "lead_scores", ["scored_at"])


def downgrade() -> None:
    op.drop_index("ix_lead_scores_scored_at", table_name="lead_scores")
    with op.batch_alter_table("lead_scores") as batch:
        batch.drop_column("facts")
        batch.drop_column("won_currency")
        batch.drop_column("won_amount")
