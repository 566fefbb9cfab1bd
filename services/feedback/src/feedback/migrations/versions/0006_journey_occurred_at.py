"""feedback: journey rows indexed by when they happened, for the retention purge.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_journey_occurred_at", "journey", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_journey_occurred_at", table_name="journey")
