"""marketing-intake settings (`LEADFLOW_*`)."""

from __future__ import annotations

from pydantic import Field

from leadflow.settings import Settings


class IntakeSettings(Settings):
    service_name = "marketing-intake"
    default_port = 8001

    # The same person (email) within this many days is one lead: a new touch, not a new lead.
    duplicate_window_days: int = Field(default=30, ge=0)
    custom_max_bytes: int = Field(default=4096, ge=256)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
