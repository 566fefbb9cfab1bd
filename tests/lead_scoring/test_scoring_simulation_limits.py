"""Scoring simulations share lead-scoring with its live scoring: at most
LEADFLOW_SIMULATIONS_MAX_RUNNING run at once in a process (the API answers 429 beyond, the
lab channel waits its turn), and each chunk is scored off the event loop (SQLite and
PostgreSQL, past leads made by the real batch handler)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from scoring_kit import cto, manager, student
from test_scoring_lab import requested
from test_scoring_simulations import PATH, window

from lead_scoring import lab as scoring_lab
from lead_scoring import simulations
from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.handlers import Scorer
from lead_scoring.settings import ScoringSettings
from leadflow.events import Envelope, LeadCaptured
from support.apps import ADMIN, build, client, dispose, runtime

LEADS = 3000  # three chunks: each simulation lasts a while


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    a = await build(ScoringSettings, build_app, MIGRATIONS, database_url)
    yield a
    await dispose(a)


async def many_leads(app: FastAPI, n: int = LEADS) -> None:
    """n leads (a third each MQL at 80, 48 and 0 points), scored by the batch handler."""
    scorer: Scorer = app.state.scorer
    makers = (cto, manager, student)
    now = datetime.now(UTC)
    envs = []
    for i in range(n):
        x = makers[i % 3]()
        envs.append(Envelope(data=LeadCaptured(lead_id=x.lead_id, lead=x), source="/t", time=now))
    async with runtime(app).transaction() as uow:
        await scorer.on_leads_captured(uow, envs)


def test_two_simulations_run_at_once_by_default() -> None:
    assert ScoringSettings.model_fields["simulations_max_running"].default == 2


async def test_one_simulation_more_than_the_limit_gets_a_429_with_retry_after(
    app: FastAPI,
) -> None:
    await many_leads(app)
    limit = 2
    async with client(app) as http:
        answers = await asyncio.gather(
            *(http.post(PATH, json=window(threshold=45), headers=ADMIN) for _ in range(limit + 1))
        )
        after = await http.post(PATH, json=window(threshold=45), headers=ADMIN)
    refused = [r for r in answers if r.status_code == 429]
    done = [r for r in answers if r.status_code == 200]
    assert (len(refused), len(done)) == (1, limit), [r.status_code for r in answers]
    [busy] = refused
    assert busy.headers["content-type"].startswith("application/problem+json")
    assert int(busy.headers["Retry-After"]) > 0
    assert busy.json()["status"] == 429
    assert "LEADFLOW_SIMULATIONS_MAX_RUNNING" in busy.json()["detail"]
    # Those that ran answered right; the slots are free again once they are done.
    assert after.status_code == 200, after.text
    for r in [*done, after]:
        doc = r.json()
        assert (doc["leads"], doc["mqls_now"], doc["mqls_draft"]) == (LEADS, 1000, 2000)
        assert doc["became_mql"]["count"] == 1000


async def test_the_lab_waits_for_a_slot_instead_of_failing(app: FastAPI) -> None:
    await many_leads(app, 30)
    simulator: simulations.Simulator = app.state.simulator
    limit = 2
    held = [simulator.slot(wait=False) for _ in range(limit)]
    for h in held:
        await h.__aenter__()
    try:
        async with client(app) as http:  # the API is refused meanwhile
            assert (await http.post(PATH, json=window(), headers=ADMIN)).status_code == 429
        lab_run = asyncio.create_task(scoring_lab.run(simulator, requested(window(threshold=45))))
        await asyncio.sleep(0.3)
        assert not lab_run.done()  # waiting, not failed
    finally:
        for h in held:
            await h.__aexit__(None, None, None)
    report = await asyncio.wait_for(lab_run, 30)
    assert report.status == "done", report.report
    assert (report.report["leads"], report.report["mqls_draft"]) == (30, 20)


async def test_each_chunk_is_scored_off_the_event_loop(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await many_leads(app, 30)
    threads: set[int] = set()
    real = simulations.past_lead

    def spied(row: Any) -> Any:
        threads.add(threading.get_ident())
        return real(row)

    monkeypatch.setattr(simulations, "past_lead", spied)
    async with client(app) as http:
        r = await http.post(PATH, json=window(), headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["leads"] == 30
    assert threads
    assert threading.get_ident() not in threads  # the loop's thread scored none of them
