"""lead-scoring: the learned model's minimum support (`lead_scoring.support`).

`value_support` counts, per judged lead, its typed values (industry, country, source,
utm_medium, utm_campaign): one row per value and lead (not per verdict: a recycled lead
judged again is one lead). It starts with every typed value of each judged lead not erased,
the ones the stored model holds included, whatever minimum the service runs: this migration
reads no setting. The service cuts the stored model to its LEADFLOW_LEARN_MIN_SUPPORT when
it starts (`lead_scoring.learning`): a value fewer judged leads share is dropped, a kept one
takes its rows' count as its leads and its rows go. model_state gets two columns for what
the service keeps of the minimum (the minimum it cut to, each learned typed value's leads),
beside the model's doc: the previous release reads that doc with extra="forbid", so a key
added to it would fail its replicas' scoring during a rolling upgrade.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TYPED = frozenset({"industry", "country", "source", "utm_medium", "utm_campaign"})
SCORES = sa.table(
    "lead_scores",
    sa.column("lead_id", sa.Uuid()),
    sa.column("lead", sa.JSON()),
    sa.column("outcome", sa.String()),
    sa.column("rejected_at", sa.DateTime(timezone=True)),
)
SUPPORT = sa.table(
    "value_support",
    sa.column("feature", sa.String()),
    sa.column("lead_id", sa.Uuid()),
    sa.column("stage", sa.String()),
)
CHUNK = 1000  # judged leads read and counted at once


def _typed_features(lead: dict[str, Any]) -> set[str]:
    """A stored lead's typed values as the model names them (`model.facts_attributes`)."""
    attribution = lead.get("attribution") or {}
    raw = {
        "industry": (lead.get("industry") or "").strip().lower(),
        "country": (lead.get("country") or "").strip().lower(),
        **{k: (attribution.get(k) or "").strip().lower() for k in TYPED - {"industry", "country"}},
    }
    return {f"{attr}={value[:80]}" for attr, value in raw.items() if value}


def upgrade() -> None:
    op.create_table(
        "value_support",
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("feature", "lead_id", name="pk_value_support"),
    )
    op.create_index("ix_value_support_lead_id", "value_support", ["lead_id"])
    with op.batch_alter_table("model_state") as batch:
        batch.add_column(sa.Column("min_support", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("leads", sa.JSON(), nullable=True))
    bind = op.get_bind()
    # A lead rejected, recycled and qualified again has no verdict on its new cycle yet:
    # its verdict is the rejection (as a scoring simulation reads it).
    judged = sa.select(SCORES.c.lead_id, SCORES.c.lead, SCORES.c.outcome).where(
        sa.or_(SCORES.c.outcome.in_(["won", "lost", "rejected"]), SCORES.c.rejected_at.is_not(None))
    )
    rows = bind.execute(judged.execution_options(yield_per=CHUNK))
    for chunk in rows.partitions(CHUNK):
        support = [
            {"feature": f, "lead_id": lead_id, "stage": stage or "rejected"}
            for lead_id, lead, stage in chunk
            if isinstance(lead, dict)  # else erased
            for f in sorted(_typed_features(lead))
        ]
        if support:
            bind.execute(sa.insert(SUPPORT), support)


def downgrade() -> None:
    """The stored model keeps what the service cut; it learns on without the counts."""
    with op.batch_alter_table("model_state") as batch:
        batch.drop_column("leads")
        batch.drop_column("min_support")
    op.drop_index("ix_value_support_lead_id", table_name="value_support")
    op.drop_table("value_support")
