"""feedback settings (`LEADFLOW_*`)."""

from __future__ import annotations

from pydantic import Field

from leadflow.settings import Settings


class FeedbackSettings(Settings):
    service_name = "feedback"
    default_port = 8004

    # GET /v1/insights/segments: fewer closed leads (won + lost) than this is not ranked.
    insights_min_sample: int = Field(default=20, ge=1)
    # How long a dashboard login (its HttpOnly cookie) lasts.
    dashboard_session_hours: float = Field(default=12.0, gt=0)
