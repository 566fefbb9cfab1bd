"""sales-assignment: the one place its objects are built."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from leadflow import lab, lab_follower
from leadflow.erasure_log import LogEraser
from leadflow.events import LeadErased, LeadOutcome, LeadQualified
from leadflow.schedule import every
from leadflow.service import Runtime, create_app
from sales_assignment import (
    api,
    api_experiments,
    api_fairness,
    api_routing,
    api_rule_tests,
    api_simulations,
    api_webhooks,
    experiment_reports,
    simulation_runs,
)
from sales_assignment import lab as routing_lab
from sales_assignment.api_deps import install_errors
from sales_assignment.assigning import Assigner
from sales_assignment.outbound import DeliveryWorker
from sales_assignment.retention import (
    purge_deliveries,
    purge_experiment_decisions,
    purge_fairness,
    purge_replay_record,
    purge_simulations,
)
from sales_assignment.settings import AssignmentSettings

MIGRATIONS = Path(__file__).with_name("migrations")
Purge = Callable[[Runtime, float], Awaitable[int]]  # a retention: runtime, days → rows deleted
log = logging.getLogger(__name__)


def build_app(settings: AssignmentSettings) -> FastAPI:
    runtime = Runtime.build(settings)
    assigner = Assigner(runtime, settings)
    delivery = DeliveryWorker(runtime, settings, doorbell=assigner.doorbell)
    assigner.deliveries = delivery  # routing hands it new deliveries at commit
    # Produces no personal data on the log: tombstones only for the dead letters it wrote.
    eraser = LogEraser(
        runtime.transaction, produces=[], erasure_delay_seconds=settings.erasure_delay_seconds
    )
    runtime.consume(
        [LeadQualified.topic, LeadOutcome.topic, LeadErased.topic],
        eraser.handlers(assigner.handlers()),
        batch_handlers=eraser.batch_handlers(assigner.batch_handlers()),
    )
    runtime.workers.append(("log-eraser", eraser.run))
    runtime.workers.append(("webhook-delivery", delivery.run))
    runtime.workers.append(
        ("assignment-queue", every(settings.queue_retry_seconds, assigner.retry_queue))
    )
    runtime.workers.append(
        ("assignment-sla", every(settings.sla_check_seconds, assigner.check_sla))
    )
    # Each retention is a worker deleting what is older than its setting's days, every
    # purge_interval_seconds (every replica runs them; deleting twice is harmless).
    retentions: list[tuple[str, Purge, float]] = [
        ("retention", purge_deliveries, settings.webhook_delivery_retention_days),
        ("fairness-retention", purge_fairness, settings.fairness_retention_days),
        ("replay-record-retention", purge_replay_record, settings.replay_retention_days),
        ("simulation-retention", purge_simulations, settings.simulation_retention_days),
        ("experiment-retention", purge_experiment_decisions, settings.experiment_retention_days),
    ]
    for name, purge, days in retentions:
        step = partial(purge, runtime, days)
        runtime.workers.append((name, every(settings.purge_interval_seconds, step)))
    handle = routing_lab.follower(assigner)

    async def follow_lab() -> None:  # routing simulations asked for on leadflow.lab
        group = lab_follower.lab_group(settings)
        await lab_follower.follow(settings, group=group, types={lab.REQUESTED}, handle=handle)

    runtime.workers.append(("lab", follow_lab))
    # A simulation whose process died is failed and reported, asked for on the lab or not.
    sweep = every(simulation_runs.SWEEP_SECONDS, lambda: simulation_runs.sweep(assigner))
    runtime.workers.append(("routing-simulation-sweep", sweep))
    # The running experiment on leadflow.lab each minute, for the lab page (its start and
    # end are published with them).
    report = every(
        experiment_reports.REPORT_SECONDS, lambda: experiment_reports.report_running(assigner)
    )
    runtime.workers.append(("experiment-report", report))
    app = create_app(
        runtime,
        title="leadflow sales-assignment",
        description="Routes each marketing-qualified lead to exactly one salesperson "
        "(account owner, rules, weighted round robin over available reps), re-routes leads "
        "not accepted within the SLA, publishes `leads.assigned` through the outbox and "
        "notifies sales tools with Standard Webhooks.",
        routers=[
            api.router,
            api_routing.router,
            api_rule_tests.router,
            api_experiments.router,
            api_fairness.router,
            api_simulations.router,
            api_webhooks.router,
        ],
    )
    app.state.assigner = assigner
    install_errors(app)
    return app
