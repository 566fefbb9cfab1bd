"""Shared helpers for sales-assignment's database, webhook and simulation tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import func, select

from leadflow import lab
from leadflow.events import Envelope, Lead, LeadOutcome, LeadQualified, decode
from leadflow.kafka import LAB_TOPIC
from leadflow.outbox import outbox_table
from leadflow.service import Runtime
from sales_assignment import admin, simulation_runs
from sales_assignment.app import MIGRATIONS, build_app
from sales_assignment.assigning import Assigner
from sales_assignment.models import AssignmentRow, DeliveryRow, HistoryRow
from sales_assignment.schemas import RepIn
from sales_assignment.settings import AssignmentSettings
from support import apps
from support.apps import ADMIN, Seed, build, client, dispose
from support.databases import migrated
from support.kafka_tools import settled


@dataclass
class FakeClock:
    """Time the tests move by hand; starts at the real now so signatures stay in tolerance."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def make_assigner(database_url: str, **overrides: Any) -> Assigner:
    await migrated(MIGRATIONS, database_url)
    fields: dict[str, Any] = {
        "admin_token": "dev-test-admin",
        "database_url": database_url,
        "assignment_sla_seconds": 60.0,
        "webhook_retry_schedule": [0, 1, 1],
        "webhook_timeout_seconds": 2.0,
    }
    settings = AssignmentSettings(**(fields | overrides))
    return Assigner(Runtime.build(settings), settings, FakeClock(datetime.now(UTC)))


def check_setting(
    monkeypatch: pytest.MonkeyPatch,
    env: str,
    name: str,
    default: float,
    *,
    good: int,
    bad: tuple[str, ...],
) -> None:
    """AssignmentSettings' `name`: `default` when unset, `good` when `env` says so, and each
    of `bad` in `env` refused naming the field."""
    base: dict[str, Any] = {"admin_token": "dev-test-admin", "database_url": "sqlite://"}
    assert getattr(AssignmentSettings(**base), name) == default
    monkeypatch.setenv(env, str(good))
    assert getattr(AssignmentSettings(**base), name) == good
    for value in bad:
        monkeypatch.setenv(env, value)
        with pytest.raises(ValidationError, match=name):
            AssignmentSettings(**base)


def clock(a: Assigner) -> FakeClock:
    assert isinstance(a.clock, FakeClock)
    return a.clock


def qualified(lead_id: uuid.UUID | None = None, **lead: Any) -> Envelope:
    lead_id = lead_id or uuid.uuid4()
    doc: dict[str, Any] = {
        "lead_id": lead_id,
        "email": "ada@acme.example",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+4930123456",
        "company": "Acme",
        "country": "DE",
        "company_size": 50,
        "captured_at": datetime.now(UTC),
    }
    event = LeadQualified(
        lead_id=lead_id,
        score=82,
        qualified=True,
        threshold=60,
        factors=[],
        model_version="test",
        scored_at=datetime.now(UTC),
        lead=Lead(**(doc | lead)),
    )
    return Envelope(data=event, source="/lead-scoring")


def outcome(lead_id: uuid.UUID, stage: str) -> Envelope:
    event = LeadOutcome(lead_id=lead_id, stage=stage, occurred_at=datetime.now(UTC))
    return Envelope(data=event, source="/feedback")


async def handle(a: Assigner, env: Envelope) -> None:
    """What the consumer loop does with one event: the handler in its own transaction."""
    async with a.rt.transaction() as uow:
        await a.handlers()[type(env.data)](uow, env)


async def routed(app: FastAPI, env: Envelope) -> dict[str, Any]:
    """Route one qualified lead as the consumer would; its assignment as the API shows it."""
    await handle(app.state.assigner, env)
    async with client(app) as http:
        answer = await http.get(f"/v1/assignments/{env.data.lead_id}", headers=ADMIN)
    shown: dict[str, Any] = answer.json()
    return shown


async def api_rep(http: httpx.AsyncClient, name: str, **fields: Any) -> str:
    """A rep created through the API, at <name>@seller.example (and `fields`); its rep_id."""
    doc = {"name": name, "email": f"{name.lower()}@seller.example"} | fields
    answer = await http.post("/v1/reps", json=doc, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    rep_id: str = answer.json()["rep_id"]
    return rep_id


async def api_rules(http: httpx.AsyncClient, rules: list[dict[str, Any]]) -> int:
    """The live routing rules put through the API; their version."""
    r = await http.put("/v1/routing/rules", json={"rules": rules}, headers=ADMIN)
    assert r.status_code == 200, r.text
    version: int = r.json()["version"]
    return version


async def api_account(http: httpx.AsyncClient, domain: str, rep_id: str) -> None:
    """The account `domain` given to a rep through the API."""
    r = await http.put(f"/v1/accounts/{domain}", json={"rep_id": rep_id}, headers=ADMIN)
    assert r.status_code == 201, r.text


async def add_rep(a: Assigner, name: str, **fields: Any) -> uuid.UUID:
    doc = RepIn(name=name, email=f"{name.lower()}@seller.example", **fields)
    return (await admin.create_rep(a, doc.model_dump(mode="json"))).rep_id


async def assignment(a: Assigner, lead_id: uuid.UUID) -> AssignmentRow | None:
    async with a.rt.sessions() as s:
        return await s.get(AssignmentRow, lead_id)


async def history(a: Assigner, lead_id: uuid.UUID) -> list[HistoryRow]:
    async with a.rt.sessions() as s:
        stmt = select(HistoryRow).where(HistoryRow.lead_id == lead_id).order_by(HistoryRow.id)
        return list(await s.scalars(stmt))


async def events(a: Assigner) -> list[Envelope]:
    """Every event staged in the outbox, decoded as a consumer would (which skips empty
    values: tombstones, and rows an erasure emptied)."""
    async with a.rt.sessions() as s:
        rows = (await s.execute(select(outbox_table).order_by(outbox_table.c.id))).all()
    return [decode(r.value, [(k, v.encode()) for k, v in r.headers]) for r in rows if r.value]


async def deliveries(a: Assigner, lead_id: uuid.UUID | None = None) -> list[DeliveryRow]:
    async with a.rt.sessions() as s:
        stmt = select(DeliveryRow).order_by(DeliveryRow.created_at, DeliveryRow.seq)
        if lead_id is not None:
            stmt = stmt.where(DeliveryRow.lead_id == lead_id)
        return list(await s.scalars(stmt))


async def count(a: Assigner, model: type[Any]) -> int:
    async with a.rt.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def body(delivery: DeliveryRow) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(delivery.body)
    return doc


# Routing simulations (the what-if lab): what their API, job and lab tests share.


def window(start: datetime) -> dict[str, str]:
    """A simulation window around a test's leads: from an hour before `start` to a day after."""
    return {
        "from": (start - timedelta(hours=1)).isoformat(),
        "to": (start + timedelta(days=1)).isoformat(),
    }


def app_at(start: datetime) -> Any:
    """A module's `app` fixture (`app = app_at(START)`): the real app (both DBs) whose
    assigner's clock is a FakeClock at `start`."""

    @pytest.fixture(name="app")
    async def app(database_url: str) -> AsyncIterator[FastAPI]:
        made = await build(AssignmentSettings, build_app, MIGRATIONS, database_url)
        made.state.assigner.clock = FakeClock(start)
        yield made
        await dispose(made)

    return app


async def lab_reports(a: Assigner) -> list[lab.SimulationReported]:
    """The lab reports staged in the outbox, in order."""
    async with a.rt.sessions() as s:
        query = outbox_table.select().where(outbox_table.c.topic == LAB_TOPIC)
        rows = (await s.execute(query.order_by(outbox_table.c.id))).all()
    found = [lab.decode(r.value, [(k, v.encode()) for k, v in r.headers]) for r in rows]
    return [m for m in found if isinstance(m, lab.SimulationReported)]


async def lab_settled(a: Assigner, n: int) -> list[lab.SimulationReported]:
    """At least `n` lab reports, waiting up to 10 s for the background simulations."""
    return await settled(lambda: lab_reports(a), lambda found: len(found) >= n, timeout=10)


async def simulation_settled(a: Assigner, simulation_id: uuid.UUID) -> dict[str, Any]:
    """A simulation's stored answer once it is no longer running (waiting up to 10 s)."""
    body = await settled(
        lambda: simulation_runs.get(a, simulation_id),
        lambda found: found is not None and found["status"] != "running",
        timeout=10,
    )
    assert body is not None
    return body


async def one_lead_routed(app: FastAPI, http: httpx.AsyncClient) -> tuple[Assigner, str]:
    """Ann (made through the API) and one qualified lead routed to her, all a simulation of
    the window needs: the app's assigner and Ann's id."""
    a: Assigner = app.state.assigner
    ann = await api_rep(http, "Ann")
    await handle(a, qualified())
    return a, ann


def served_by(seed: Seed) -> Any:
    """A module's `served` fixture (`served = served_by(_seed)`): sales-assignment served by
    uvicorn on a SQLite file `seed` filled (support.apps.served_by); `seeded`: the rep ids."""
    return apps.served_by(AssignmentSettings, build_app, MIGRATIONS, seed)
