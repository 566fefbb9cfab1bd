"""lead-scoring settings (`LEADFLOW_*`)."""

from __future__ import annotations

from leadflow.settings import Settings


class ScoringSettings(Settings):
    service_name = "lead-scoring"
    default_port = 8002
