"""lead-scoring: the stored learned model drops the typed values (industry, country, source,
utm_medium, utm_campaign) fewer than LEADFLOW_LEARN_MIN_SUPPORT outcomes (default 5) taught:
a value one person typed may name them, and the model outlives their erasure. The service
keeps them out from now on (`lead_scoring.support`); its revision moves so replicas reload.

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


def _min_support() -> int:
    raw = os.environ.get("LEADFLOW_LEARN_MIN_SUPPORT", "").strip()
    return max(1, int(raw)) if raw.isdigit() else 5


def _rare(name: str, feature: dict[str, Any], minimum: int) -> bool:
    attr, _, value = name.partition("=")
    seen = sum(int(feature.get(k) or 0) for k in ("won", "lost", "rejected"))
    return attr in TYPED and value != "unknown" and seen < minimum


def upgrade() -> None:
    bind = op.get_bind()
    minimum = _min_support()
    rows = bind.execute(sa.select(MODEL_STATE.c.name, MODEL_STATE.c.revision, MODEL_STATE.c.doc))
    for name, rev, doc in rows.all():
        features = doc.get("features") or {}
        kept = {f: x for f, x in features.items() if not _rare(f, x, minimum)}
        if len(kept) == len(features):
            continue
        bind.execute(
            sa.update(MODEL_STATE)
            .where(MODEL_STATE.c.name == name)
            .values(doc={**doc, "features": kept}, revision=rev + 1, updated_at=datetime.now(UTC))
        )


def downgrade() -> None:
    """What was dropped is gone; the model learns on without it."""
