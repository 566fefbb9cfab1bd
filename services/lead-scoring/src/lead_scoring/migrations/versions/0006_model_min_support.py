"""lead-scoring: the learned model's minimum support (`lead_scoring.support`).

The stored model drops the typed values (industry, country, source, utm_medium,
utm_campaign) fewer than LEADFLOW_LEARN_MIN_SUPPORT outcomes (default 5) taught: a value one
person typed may name them, and the model outlives their erasure. Its revision moves, so
replicas reload it. `value_support` counts, per judged lead, its typed values the model does
not keep, until enough leads share one; it starts with the judged leads not erased.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TYPED = frozenset({"industry", "country", "source", "utm_medium", "utm_campaign"})
MODEL_STATE = sa.table(
    "model_state",
    sa.column("name", sa.String()),
    sa.column("revision", sa.Integer()),
    sa.column("doc", sa.JSON()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


SCORES = sa.table(
    "lead_scores",
    sa.column("lead_id", sa.Uuid()),
    sa.column("lead", sa.JSON()),
    sa.column("outcome", sa.String()),
)
SUPPORT = sa.table(
    "value_support",
    sa.column("feature", sa.String()),
    sa.column("lead_id", sa.Uuid()),
    sa.column("stage", sa.String()),
)


def _typed_features(lead: dict[str, Any]) -> set[str]:
    """A stored lead's typed values as the model names them (`model.facts_attributes`)."""
    attribution = lead.get("attribution") or {}
    country = (lead.get("country") or "").strip().upper()
    raw = {
        "industry": (lead.get("industry") or "").strip().lower(),
        "country": country.lower(),
        **{k: (attribution.get(k) or "").strip().lower() for k in TYPED - {"industry", "country"}},
    }
    return {f"{attr}={value[:80]}" for attr, value in raw.items() if value}


def _min_support() -> int:
    raw = os.environ.get("LEADFLOW_LEARN_MIN_SUPPORT", "").strip()
    return max(1, int(raw)) if raw.isdigit() else 5


def _rare(name: str, feature: dict[str, Any], minimum: int) -> bool:
    attr, _, value = name.partition("=")
    seen = sum(int(feature.get(k) or 0) for k in ("won", "lost", "rejected"))
    return attr in TYPED and value != "unknown" and seen < minimum


def upgrade() -> None:
    op.create_table(
        "value_support",
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("feature", "lead_id", name="pk_value_support"),
    )
    op.create_index("ix_value_support_lead_id", "value_support", ["lead_id"])
    bind = op.get_bind()
    minimum = _min_support()
    learned: set[str] = set()
    rows = bind.execute(sa.select(MODEL_STATE.c.name, MODEL_STATE.c.revision, MODEL_STATE.c.doc))
    for name, rev, doc in rows.all():
        features = doc.get("features") or {}
        kept = {f: x for f, x in features.items() if not _rare(f, x, minimum)}
        learned |= kept.keys()
        if len(kept) == len(features):
            continue
        bind.execute(
            sa.update(MODEL_STATE)
            .where(MODEL_STATE.c.name == name)
            .values(doc={**doc, "features": kept}, revision=rev + 1, updated_at=datetime.now(UTC))
        )
    judged = sa.select(SCORES.c.lead_id, SCORES.c.lead, SCORES.c.outcome).where(
        SCORES.c.outcome.in_(["won", "lost", "rejected"])
    )
    support: list[dict[str, Any]] = []
    for lead_id, lead, stage in bind.execute(judged.execution_options(yield_per=1000)):
        if not isinstance(lead, dict):  # erased
            continue
        support.extend(
            {"feature": f, "lead_id": lead_id, "stage": stage}
            for f in _typed_features(lead)
            if f not in learned
        )
    if support:
        bind.execute(sa.insert(SUPPORT), support)


def downgrade() -> None:
    """The values dropped from the model are gone; it learns on without them."""
    op.drop_index("ix_value_support_lead_id", table_name="value_support")
    op.drop_table("value_support")
