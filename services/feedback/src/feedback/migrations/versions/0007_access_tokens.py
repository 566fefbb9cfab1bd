"""feedback: issued tokens and revocations (kernel schema v3, access_store.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from leadflow.migrations import create_kernel_tables_v3, drop_kernel_tables_v3

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_kernel_tables_v3()


def downgrade() -> None:
    drop_kernel_tables_v3()
