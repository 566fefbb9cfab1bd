"""marketing-intake's own Prometheus metrics (served on `/metrics` with the kernel's)."""

from __future__ import annotations

from prometheus_client import Counter

SUBMISSIONS_DROPPED = Counter(
    "leadflow_intake_submissions_dropped_total",
    "Web form posts answered as accepted but dropped as bots",
    ["reason"],  # honeypot | too_fast
)
RATE_LIMITED = Counter(
    "leadflow_intake_rate_limited_total",
    "Requests refused with 429",
    ["scope"],  # key | form
)
