"""feedback: dashboard sessions on the server; an outcome's external_id is unique per sender.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("token_id", sa.String(200), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("credential_hash", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"])
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(
            sa.Column("external_scope", sa.String(250), nullable=False, server_default="")
        )
    # Outcomes reported so far: a token integration's are in its id space, the admin's in "".
    # In Python: a UUID's text differs between the dialects (SQLite keeps 32 hex digits).
    outcomes = sa.table(
        "outcomes",
        sa.column("outcome_id", sa.Uuid()),
        sa.column("integration_id", sa.Uuid()),
        sa.column("external_scope", sa.String(250)),
    )
    bind = op.get_bind()
    reported = bind.execute(
        sa.select(outcomes.c.outcome_id, outcomes.c.integration_id).where(
            outcomes.c.integration_id.is_not(None)
        )
    ).all()
    for outcome_id, integration_id in reported:
        bind.execute(
            outcomes.update()
            .where(outcomes.c.outcome_id == outcome_id)
            .values(external_scope=str(integration_id))
        )
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_constraint("uq_outcomes_external_id", type_="unique")
        batch.create_unique_constraint(
            "uq_outcomes_external_scope", ["external_scope", "external_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_constraint("uq_outcomes_external_scope", type_="unique")
        batch.create_unique_constraint("uq_outcomes_external_id", ["external_id"])
        batch.drop_column("external_scope")
    op.drop_index("ix_dashboard_sessions_expires_at", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
