"""marketing-intake: another key's submission of a person already a lead (`touch_of`).

Such a row holds only what that key sent, under the fresh id it was answered with; the
person's lead is the row `touch_of` names. See docs/architecture.md (who learns a lead id).

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
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("touch_of", sa.Uuid(), nullable=True))
        batch.create_index("ix_leads_touch_of", ["touch_of"])


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_index("ix_leads_touch_of")
        batch.drop_column("touch_of")
