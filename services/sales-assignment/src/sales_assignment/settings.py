"""sales-assignment settings (`LEADFLOW_*`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from leadflow.settings import Settings

# Standard Webhooks: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
STANDARD_RETRY_SCHEDULE = [
    0.0,
    5.0,
    300.0,
    1800.0,
    7200.0,
    18000.0,
    36000.0,
    50400.0,
    72000.0,
    86400.0,
]


class AssignmentSettings(Settings):
    service_name = "sales-assignment"

    # Delay before each delivery attempt, in seconds; its length is the number of attempts.
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: list(STANDARD_RETRY_SCHEDULE), min_length=1
    )
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    # An endpoint is disabled after this many deliveries in a row went dead (or at once on 410).
    webhook_disable_after: int = Field(default=5, ge=1)
    # Fallback only: a commit that stages deliveries wakes the worker at once.
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    # After a secret rotation the previous secret keeps signing (beside the new one) this long.
    webhook_secret_grace_seconds: float = Field(default=86400.0, ge=0)
    # Deliveries in flight at once (each claimed with a lease; a slow receiver holds only its own).
    # Many more than the connections per host: each pass claims up to the room left, so a
    # larger room means fewer claim transactions per webhook (bench/assignment_throughput.py;
    # figures: docs/decisions.md, session 4).
    webhook_batch_size: int = Field(default=200, ge=1)
    # Keep-alive connections the sender holds open to one endpoint host (requests beyond
    # wait for one): enough to overlap network round trips, few enough to stay cheap.
    webhook_connections_per_host: int = Field(default=16, ge=1)
    # Longest Retry-After honoured; a receiver cannot park a delivery for longer than this.
    webhook_max_retry_after_seconds: float = Field(default=86400.0, ge=0)
    # Retention (issue 19): delivered, failed and dead webhook deliveries are deleted this
    # many days after their last attempt (pending ones wait for their endpoint); checked every
    # purge_interval_seconds by a background task.
    webhook_delivery_retention_days: float = Field(default=30.0, gt=0)
    purge_interval_seconds: float = Field(default=3600.0, gt=0)
    # Fairness ledger (issue 22 item 4): its lines (one per candidate rep of each routing
    # decision) are deleted this many days after the decision, by the same background task;
    # above the ledger's longest window (366 days).
    fairness_retention_days: float = Field(default=400.0, gt=0)
    # Routing experiments (issue 23 item 3): the decisions of an experiment that ended this
    # many days ago are deleted by the same background task (its row stays listed); a
    # running experiment's decisions are kept however old.
    experiment_retention_days: float = Field(default=400.0, gt=0)
    # What-if lab (issue 23): routing simulations replaying at once, in this process and in
    # the database (all replicas together; each holds a database connection and a worker
    # thread while it runs); the replay record (decisions, checkpoints, snapshots) is
    # deleted a whole routing team at a time once all its decisions are this many days old,
    # and the simulations run this many days ago with their reports.
    simulations_max_running: int = Field(default=2, ge=1, le=16)
    replay_retention_days: float = Field(default=400.0, gt=0)
    simulation_retention_days: float = Field(default=90.0, gt=0)
    # What-if lab: a replay holds a few hundred bytes per lead of its window (who holds it,
    # recorded and simulated: +25-42 MiB per 100k, docs/benchmarks.md); a window of more
    # recorded decisions than this is refused (422) before it starts.
    simulation_max_decisions: int = Field(default=500_000, gt=0)
    queue_retry_seconds: float = Field(default=5.0, gt=0)
    sla_check_seconds: float = Field(default=5.0, gt=0)

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        # From the environment: "0,5,300" (a JSON list works too).
        if isinstance(value, str):
            text = value.strip().removeprefix("[").removesuffix("]")
            return [float(part) for part in text.split(",") if part.strip()]
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _non_negative(cls, value: list[float]) -> list[float]:
        if any(delay < 0 for delay in value):
            raise ValueError("delays must be >= 0 seconds")
        return value
