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

    # Rate limits, per replica (in-process token buckets); a rate of 0 turns a limit off.
    rate_limit_key_per_second: float = Field(default=50.0, ge=0)
    rate_limit_key_burst: int = Field(default=100, ge=1)
    rate_limit_form_per_minute: float = Field(default=10.0, ge=0)
    rate_limit_form_burst: int = Field(default=10, ge=1)
    # Base URL of this service as browsers reach it, for the embed snippet (else the request's).
    public_url: str = ""
