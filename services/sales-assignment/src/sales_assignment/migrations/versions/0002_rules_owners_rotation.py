"""sales-assignment: versioned routing rules, account owners, webhook secret rotation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_rules",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "account_owners",
        sa.Column("domain", sa.String(253), primary_key=True),
        sa.Column("rep_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_account_owners_rep_id", "account_owners", ["rep_id"])
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(
            sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("previous_secret_expires_at")
    op.drop_index("ix_account_owners_rep_id", table_name="account_owners")
    op.drop_table("account_owners")
    op.drop_table("routing_rules")
