"""feedback settings (`LEADFLOW_*`)."""

from __future__ import annotations

from pydantic import Field

from feedback.funnel import DEFAULT_MIN_VERDICTS
from leadflow.settings import Settings


class FeedbackSettings(Settings):
    service_name = "feedback"
    ready_without_kafka = True  # the outbox holds what is accepted while Kafka is away

    # Off the lead's path to its salesperson: after a small poll the consumer waits half a
    # second, so a lead's four events mostly land in one transaction with many others' (at
    # 50 leads/s each event alone cost a transaction of six statements).
    consumer_max_batch: int = Field(default=1000, ge=1)
    consumer_linger_ms: int = Field(default=500, ge=0, le=5000)

    # GET /v1/insights/segments: fewer settled leads (won + lost + rejected) than this is
    # not ranked.
    insights_min_sample: int = Field(default=20, ge=1)
    # Lead quality and the agreement (issue 24): an acceptance rate over fewer verdicts than
    # this is not given (insufficient_data), and a month's projection needs this many days.
    min_verdicts: int = Field(default=DEFAULT_MIN_VERDICTS, ge=1)
    min_projection_days: int = Field(default=7, ge=1, le=28)
    # Retention (issue 19): journey rows are deleted this many days after what they record
    # happened (the funnel's facts stay); checked every purge_interval_seconds.
    journey_retention_days: float = Field(default=365.0, gt=0)
    purge_interval_seconds: float = Field(default=3600.0, gt=0)
    # How long a dashboard login (its HttpOnly cookie) lasts.
    dashboard_session_hours: float = Field(default=12.0, gt=0)
    # The what-if lab's forms (issue 23): the simulations one login's token may ask for, a
    # minute and at once; past them 429 with Retry-After (per replica). 0 turns it off.
    lab_simulations_per_minute: float = Field(default=10.0, ge=0)
    lab_simulations_burst: int = Field(default=10, ge=1)
