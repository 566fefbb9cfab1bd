"""sales-assignment's webhook metrics (served on `/metrics` with the kernel's)."""

from __future__ import annotations

from prometheus_client import Counter

WEBHOOK_DELIVERIES = Counter(
    "leadflow_webhook_deliveries_total",
    "Webhook delivery attempts by recorded outcome",
    # delivered | retrying (failed, another attempt scheduled) | dead (failed its last
    # attempt) | gone (the receiver answered 410: its endpoint disabled, the delivery waits)
    ["result"],
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "leadflow_webhook_endpoints_disabled_total",
    "Webhook endpoints disabled by the sender",
    ["reason"],  # gone (410) | failing (webhook_disable_after dead deliveries in a row)
)
