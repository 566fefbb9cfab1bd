"""feedback settings (`LEADFLOW_*`)."""

from __future__ import annotations

from pydantic import Field

from leadflow.settings import Settings


class FeedbackSettings(Settings):
    service_name = "feedback"
    ready_without_kafka = True  # the outbox holds what is accepted while Kafka is away

    # Off the lead's path to its salesperson: after a small poll the consumer waits half a
    # second, so a lead's four events mostly land in one transaction with many others' (at
    # 50 leads/s each event alone cost a transaction of six statements).
    consumer_max_batch: int = Field(default=1000, ge=1)
    consumer_linger_ms: int = Field(default=500, ge=0, le=5000)

    # GET /v1/insights/segments: fewer closed leads (won + lost) than this is not ranked.
    insights_min_sample: int = Field(default=20, ge=1)
    # Retention (issue 19): journey rows are deleted this many days after what they record
    # happened (the funnel's facts stay); checked every purge_interval_seconds.
    journey_retention_days: float = Field(default=365.0, gt=0)
    purge_interval_seconds: float = Field(default=3600.0, gt=0)
    # How long a dashboard login (its HttpOnly cookie) lasts.
    dashboard_session_hours: float = Field(default=12.0, gt=0)
