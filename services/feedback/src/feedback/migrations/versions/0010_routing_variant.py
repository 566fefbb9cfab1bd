"""feedback: the routing experiment's arm of a lead's latest assignment (issue 23).

Leads folded before this revision have none: the funnel counts them under "none".

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead_facts") as batch:
        batch.add_column(sa.Column("routing_variant", sa.String(120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead_facts") as batch:
        batch.drop_column("routing_variant")
