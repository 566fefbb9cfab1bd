"""sales-assignment's routing metrics (served on `/metrics` with the kernel's)."""

from __future__ import annotations

from prometheus_client import Counter

SLA_MISSED = Counter(
    "leadflow_assignment_sla_missed_total",
    "Assignments not accepted within the accept SLA (counted in the rep's working hours)",
    # One series per rep who ever missed an SLA: bounded by the roster (retired reps stay).
    ["rep_id"],
)
