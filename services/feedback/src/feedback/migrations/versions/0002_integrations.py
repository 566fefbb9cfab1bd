"""feedback: sales-tool integrations (tokens, webhook secrets), webhook receipts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("integration_id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("hint", sa.String(40), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_integrations_token_hash"),
    )
    op.create_table(
        "webhook_receipts",
        sa.Column("integration_id", sa.Uuid(), primary_key=True),
        sa.Column("webhook_id", sa.String(200), primary_key=True),
        sa.Column("outcome_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("integration_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("integration_id")
    op.drop_table("webhook_receipts")
    op.drop_table("integrations")
