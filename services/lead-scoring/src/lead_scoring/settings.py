"""lead-scoring settings (`LEADFLOW_*`)."""

from __future__ import annotations

from pydantic import Field

from leadflow.settings import Settings


class ScoringSettings(Settings):
    service_name = "lead-scoring"

    # Scoring handles a batch with a few statements whatever its size, so larger batches
    # (per poll, per relay round) cost fewer round trips per lead.
    consumer_max_batch: int = Field(default=500, ge=1)
    relay_batch_size: int = Field(default=1000, ge=1)
    # A poll's transaction waits for PostgreSQL about a quarter of its time; meanwhile the
    # next poll (other partitions) is scored. Scores of different leads never wait for each
    # other. (On SQLite the kernel handles one poll at a time whatever this says.)
    consumer_concurrency: int = Field(default=2, ge=1, le=16)

    # Recycling (issue 24): a lead rejected with `recycle` qualifies again only on a touch
    # captured at least this many days after the rejection (0: any later touch).
    recycle_cooldown_days: float = Field(default=30.0, ge=0, le=3650)

    # Scoring simulations (issue 23): a way's win rate over fewer verdicts than this is not
    # given (insufficient_data); the same variable and default as feedback's.
    min_verdicts: int = Field(default=10, ge=1)
    # ... and at most this many run at once in this process, each holding a database cursor
    # and a worker thread while it scores (the live scoring shares both): beyond, POST
    # /v1/scoring/simulations answers 429 and the lab channel waits for a slot.
    simulations_max_running: int = Field(default=2, ge=1, le=16)

    # The learned model's minimum support: a typed value (industry, country, source,
    # utm_medium, utm_campaign) gets its own weight only once this many distinct leads with
    # a verdict share it; rarer values are not stored in the model at all
    # (`lead_scoring.support`), so what one person typed cannot outlive their erasure there.
    learn_min_support: int = Field(default=5, ge=1, le=1000)
