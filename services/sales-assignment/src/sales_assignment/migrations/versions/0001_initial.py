"""sales-assignment: kernel tables, reps, assignments, history, round robin, webhooks.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from leadflow.migrations import create_kernel_tables, drop_kernel_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, *, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    create_kernel_tables()
    op.create_table(
        "reps",
        sa.Column("rep_id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("max_open_leads", sa.Integer(), nullable=True),
        sa.Column("territories", sa.JSON(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("working_hours", sa.JSON(), nullable=True),
        sa.Column("out_of_office", sa.JSON(), nullable=False),
        _at("created_at", nullable=False),
        _at("updated_at", nullable=False),
        _at("deleted_at"),
    )
    op.create_table(
        "assignments",
        sa.Column("lead_id", sa.Uuid(), primary_key=True),
        sa.Column("rep_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(100), nullable=True),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("lead", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("score", sa.JSON(), nullable=False),
        _at("queued_at"),
        _at("assigned_at"),
        _at("accepted_at"),
        _at("sla_due_at"),
        _at("closed_at"),
        _at("erased_at"),
        _at("created_at", nullable=False),
    )
    op.create_index("ix_assignments_rep_status", "assignments", ["rep_id", "status"])
    op.create_index("ix_assignments_status_sla", "assignments", ["status", "sla_due_at"])
    op.create_table(
        "assignment_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(30), nullable=False),
        sa.Column("rep_id", sa.Uuid(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        _at("at", nullable=False),
    )
    op.create_index("ix_assignment_history_lead_id", "assignment_history", ["lead_id"])
    op.create_table(
        "rr_state",
        sa.Column("pool", sa.String(100), primary_key=True),
        sa.Column("weights", sa.JSON(), nullable=False),
        _at("updated_at", nullable=False),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secrets", sa.JSON(), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("disabled_reason", sa.String(500), nullable=True),
        _at("created_at", nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at", nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("delivered_at"),
        _at("created_at", nullable=False),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_webhook_deliveries_lead", "webhook_deliveries", ["endpoint_id", "lead_id", "seq"]
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("rr_state")
    op.drop_table("assignment_history")
    op.drop_table("assignments")
    op.drop_table("reps")
    drop_kernel_tables()
