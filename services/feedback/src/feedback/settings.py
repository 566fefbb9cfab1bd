"""feedback settings (`LEADFLOW_*`)."""

from __future__ import annotations

from leadflow.settings import Settings


class FeedbackSettings(Settings):
    service_name = "feedback"
    default_port = 8004
