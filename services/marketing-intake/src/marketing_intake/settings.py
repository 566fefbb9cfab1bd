"""marketing-intake settings (`LEADFLOW_*`)."""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from leadflow.settings import Settings


class IntakeSettings(Settings):
    service_name = "marketing-intake"
    ready_without_kafka = True  # the outbox holds what is accepted while Kafka is away

    # The same person (email) within this many days is one lead: a new touch, not a new lead.
    duplicate_window_days: int = Field(default=30, ge=0)
    custom_max_bytes: int = Field(default=4096, ge=256)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # Trust (retention): keys past their TTL are deleted this often, this many rows per
    # transaction (short transactions; the first pass after an upgrade may find millions).
    idempotency_purge_seconds: float = Field(default=600.0, gt=0)
    idempotency_purge_batch: int = Field(default=10_000, ge=1)

    # Rate limits, per replica (in-process token buckets); a rate of 0 turns a limit off.
    rate_limit_key_per_second: float = Field(default=50.0, ge=0)
    rate_limit_key_burst: int = Field(default=100, ge=1)
    rate_limit_form_per_minute: float = Field(default=10.0, ge=0)
    rate_limit_form_burst: int = Field(default=10, ge=1)
    # Trust (embed page): the base URL of this service as browsers reach it, for form URLs and
    # the embed snippet; never the request's Host header. Default: the listening address.
    public_url: str = ""

    @model_validator(mode="after")
    def _public_url(self) -> Self:
        if not self.public_url:
            wildcard = self.http_host in ("", "0.0.0.0", "::")  # noqa: S104  (compared, not bound)
            host = "127.0.0.1" if wildcard else self.http_host
            host = f"[{host}]" if ":" in host else host
            self.public_url = f"http://{host}:{self.http_port or self.default_port}"
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("LEADFLOW_PUBLIC_URL must be an http(s) URL such as https://x.example")
        if parts.query or parts.fragment or parts.username:
            raise ValueError("LEADFLOW_PUBLIC_URL must have no query, fragment or user")
        self.public_url = self.public_url.rstrip("/")
        return self
