"""marketing-intake: the keys to tombstone when a lead is erased (kernel schema v2, erasure_log.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from leadflow.migrations import create_kernel_tables_v2, drop_kernel_tables_v2

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_kernel_tables_v2()


def downgrade() -> None:
    drop_kernel_tables_v2()
