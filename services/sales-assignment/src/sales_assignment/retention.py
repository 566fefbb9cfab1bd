"""Retention: webhook deliveries, fairness lines, the replay record, routing simulations
and the decisions of ended routing experiments do not pile up for ever (a background task
runs this)."""

from __future__ import annotations

import logging

from leadflow.schedule import purge_older_than
from leadflow.service import Runtime
from sales_assignment import experiment_repo, fairness_repo, replay_repo, webhook_repo

log = logging.getLogger(__name__)


async def purge_deliveries(rt: Runtime, retention_days: float) -> int:
    """Delete delivered, failed and dead deliveries last attempted longer ago than the
    retention; how many."""
    return await purge_older_than(
        rt, retention_days, webhook_repo.purge_deliveries, what="webhook deliveries", logger=log
    )


async def purge_fairness(rt: Runtime, retention_days: float) -> int:
    """Delete the fairness ledger's lines of decisions older than the retention; how many
    (in transactions of at most `fairness_repo.PURGE_BATCH` rows)."""
    return await purge_older_than(
        rt,
        retention_days,
        fairness_repo.purge_lines,
        what="fairness lines",
        logger=log,
        batch=fairness_repo.PURGE_BATCH,
    )


async def purge_replay_record(rt: Runtime, retention_days: float) -> int:
    """Delete the replay record's teams (checkpoint and decisions) whose decisions are all
    older than the retention, then the snapshots no team names; how many teams. Whole teams
    only: what is kept replays exactly (a team's decisions start from its checkpoint)."""
    teams = await purge_older_than(
        rt,
        retention_days,
        replay_repo.purge_teams,
        what="replay record teams",
        logger=log,
        batch=replay_repo.PURGE_TEAMS,
    )
    await purge_older_than(
        rt, retention_days, replay_repo.purge_snapshots, what="team snapshots", logger=log
    )
    return teams


async def purge_simulations(rt: Runtime, retention_days: float) -> int:
    """Delete the routing simulations started longer ago than the retention, with their
    reports (a running one's never); how many."""
    return await purge_older_than(
        rt, retention_days, replay_repo.purge_simulations, what="routing simulations", logger=log
    )


async def purge_experiment_decisions(rt: Runtime, retention_days: float) -> int:
    """Delete the decisions of routing experiments that ended longer ago than the retention
    (a running one's never); how many (in transactions of at most
    `experiment_repo.PURGE_BATCH` rows)."""
    return await purge_older_than(
        rt,
        retention_days,
        experiment_repo.purge_decisions,
        what="routing experiment decisions",
        logger=log,
        batch=experiment_repo.PURGE_BATCH,
    )
