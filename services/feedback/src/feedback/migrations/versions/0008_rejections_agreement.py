"""feedback: rejections in the facts and outcomes, the marketing–sales agreement (issue 24).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead_facts") as batch:
        batch.add_column(sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rejection_reason", sa.String(20), nullable=True))
        batch.add_column(
            sa.Column("recycled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(
            sa.Column("recycle", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "agreement",
        sa.Column("agreement_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agreement")
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("recycle")
    with op.batch_alter_table("lead_facts") as batch:
        batch.drop_column("recycled")
        batch.drop_column("rejection_reason")
        batch.drop_column("rejected_at")
