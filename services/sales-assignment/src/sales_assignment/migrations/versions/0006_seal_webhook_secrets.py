"""sales-assignment: webhook signing secrets stored sealed (LEADFLOW_SECRETS_KEY), not bare.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from leadflow.secretbox import reseal_rows

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    reseal_rows(op.get_bind(), "webhook_endpoints", "id", "secrets", listed=True)


def downgrade() -> None:
    reseal_rows(op.get_bind(), "webhook_endpoints", "id", "secrets", listed=True, seal=False)
