"""feedback: inbound webhook secrets (whsec_) stored sealed (LEADFLOW_SECRETS_KEY), not bare.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from leadflow.secretbox import reseal_rows

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    reseal_rows(op.get_bind(), "integrations", "integration_id", "secret", listed=False)


def downgrade() -> None:
    reseal_rows(op.get_bind(), "integrations", "integration_id", "secret", listed=False, seal=False)
