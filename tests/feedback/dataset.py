"""A seeded dataset of 36 leads (plus 2 outside the period and 1 never captured).

Every row is literal, so the figures the tests expect can be worked out by hand from this
table (see test_correctness_db.py, where they are written out with their working).

Period: captured from 2026-03-02 (T0, Monday 09:00 UTC; day 0) to 2026-03-23 (exclusive).
Campaign costs: spring 2000 EUR (every webinar lead), search 3000 EUR, social 500 EUR.
Scoring: score ≥ 60 is an MQL (scored 5 s after capture). Times: `assigned` is seconds after
capture, `contacted` seconds after assignment, `sql` and `close` days after capture.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from feedback_events import ADMIN, RITA, SAM, T0, assigned, captured, deliver, lead, relay, scored

from leadflow.events import Attribution, Lead
from leadflow.service import Runtime


@dataclass(frozen=True)
class Row:
    name: str
    source: str
    campaign: str | None
    country: str
    industry: str
    size: int | None
    day: int
    score: int
    assigned: int | None = None
    contacted: int | None = None
    sql: int | None = None
    close: str | None = None
    close_day: int | None = None
    amount: int | None = None


WEB, ADS, ORG = "webinar", "ads", "organic"
SW, RE = "software", "retail"

ROWS: tuple[Row, ...] = (
    # name source campaign country industry size day score assigned contacted sql close day amt
    Row("W1", WEB, "spring", "DE", SW, 50, 0, 80, 60, 100, 2, "won", 10, 1000),
    Row("W2", WEB, "spring", "DE", SW, 50, 0, 80, 120, 200, 2, "won", 12, 2000),
    Row("W3", WEB, "spring", "DE", SW, 250, 1, 75, 180, 300, 3, "won", 14, 3000),
    Row("W4", WEB, "spring", "FR", SW, 250, 2, 75, 240, 400, 3, "won", 20, 4000),
    Row("W5", WEB, "spring", "FR", RE, 250, 7, 70, 300, 500, 4, "lost", 8),
    Row("W6", WEB, "spring", "FR", RE, 30, 8, 70, 360, 600, 4, "lost", 9),
    Row("W7", WEB, "spring", "DE", RE, 30, 9, 65, 420, 700, None, "lost", 10),
    Row("W8", WEB, "spring", "DE", RE, 30, 14, 65, 480, 800, None, "lost", 11),
    Row("W9", WEB, "spring", "US", SW, 5000, 15, 62, 540),
    Row("W10", WEB, "spring", "US", SW, 5000, 16, 61, 600),
    Row("W11", WEB, "spring", "US", RE, None, 16, 40),
    Row("W12", WEB, "spring", "DE", RE, 5, 17, 30),
    Row("A1", ADS, "search", "DE", SW, 500, 0, 85, 30, 60, 1, "won", 5, 500),
    Row("A2", ADS, "search", "US", SW, 500, 1, 85, 60, 60, 1, "won", 6, 1500),
    Row("A3", ADS, "search", "US", SW, 1500, 2, 80, 90, 120, 2, "won", 7, 2500),
    Row("A4", ADS, "search", "US", RE, 1500, 3, 80, 120, 120, 2, "lost", 8),
    Row("A5", ADS, "search", "US", RE, 100, 7, 75, 150, 180, 3, "lost", 9),
    Row("A6", ADS, "search", "FR", RE, 100, 8, 70, 3600, 3600, None, "lost", 10),
    Row("A7", ADS, "search", "FR", RE, 100, 9, 70, 7200, 7200, None, "lost", 10),
    Row("A8", ADS, "search", "FR", SW, 20, 10, 65, 7200, None, None, "lost", 11),
    Row("A9", ADS, "search", "US", SW, 20, 14, 60, 172800, None, None, "lost", 12),
    Row("A10", ADS, "search", "US", RE, 20, 15, 20),
    Row("A11", ADS, "social", "DE", SW, 10, 1, 90, 45, 15, 2, "won", 4, 1000),
    Row("A12", ADS, "social", "DE", RE, 10, 8, 70, 75, 45, None, "lost", 5),
    Row("A13", ADS, "social", "FR", RE, 10, 15, 66, 600, None, None, "lost", 6),
    Row("A14", ADS, "social", "FR", RE, 2, 16, 10),
    Row("A15", ADS, "social", "US", SW, 2, 17, 10),
    Row("O1", ORG, None, "DE", SW, 50, 0, 90, 10, 50, 1, "won", 3, 2000),
    Row("O2", ORG, None, "DE", SW, 50, 2, 90, 20, 40, 1, "won", 9, 2000),
    Row("O3", ORG, None, "FR", SW, 200, 7, 80, 40, 20, 2, "lost", 4),
    Row("O4", ORG, None, "FR", RE, 200, 9, 70, 80),
    Row("O5", ORG, None, "US", RE, 200, 14, 60, 160),
    Row("O6", ORG, None, "US", RE, None, 15, 50),
    Row("O7", ORG, None, "DE", SW, None, 16, 50),
    Row("O8", ORG, None, "DE", RE, 1200, 17, 40),
    Row("O9", ORG, None, "FR", RE, 1200, 18, 10),
    # Outside the period: before it and after it; their outcomes must not count.
    Row("X1", WEB, "spring", "DE", SW, 50, -10, 90, 30, 30, 1, "won", 2, 9999),
    Row("X2", ADS, "search", "US", RE, 50, 30, 90, 30, None, None, "lost", 3),
)
PERIOD = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-23T00:00:00Z"}
COSTS = {"spring": "2000", "search": "3000", "social": "500"}
NEVER_CAPTURED = uuid.UUID(int=0xDEAD)


def lead_id(row: Row) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"leadflow-test/{row.name}")


def _lead(row: Row) -> Lead:
    base = lead(lead_id(row), T0 + timedelta(days=row.day), source=row.source)
    updated: Lead = base.model_copy(
        update={
            "country": row.country,
            "industry": row.industry,
            "company_size": row.size,
            "attribution": Attribution(source=row.source, utm_campaign=row.campaign),
        }
    )
    return updated


async def _post(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/v1/outcomes", json=body, headers=ADMIN)
    assert response.status_code == 202, response.text


async def seed(rt: Runtime, client: httpx.AsyncClient) -> None:
    """Deliver every lead's events, report its outcomes over HTTP, set costs, then relay."""
    for i, row in enumerate(ROWS):
        the_lead = _lead(row)
        at = the_lead.captured_at
        envelopes = [captured(the_lead), scored(the_lead, row.score, at + timedelta(seconds=5))]
        if row.assigned is not None:
            rep = RITA if i % 2 else SAM
            envelopes.append(assigned(the_lead.lead_id, rep, at + timedelta(seconds=row.assigned)))
        for envelope in envelopes:
            assert await deliver(rt, envelope)
        lid = str(the_lead.lead_id)
        if row.contacted is not None and row.assigned is not None:
            when = at + timedelta(seconds=row.assigned + row.contacted)
            await _post(
                client, {"lead_id": lid, "stage": "contacted", "occurred_at": when.isoformat()}
            )
        if row.sql is not None:
            when = at + timedelta(days=row.sql)
            await _post(client, {"lead_id": lid, "stage": "sql", "occurred_at": when.isoformat()})
        if row.close is not None and row.close_day is not None:
            body: dict[str, Any] = {
                "lead_id": lid,
                "stage": row.close,
                "occurred_at": (at + timedelta(days=row.close_day)).isoformat(),
                "external_id": f"crm-{row.name}",
            }
            if row.amount is not None:
                body |= {"amount": str(row.amount), "currency": "EUR"}
            await _post(client, body)
    # An outcome for a lead feedback never sees captured: kept, but in no funnel.
    await _post(client, {"lead_id": str(NEVER_CAPTURED), "stage": "won", "amount": "5000",
                         "currency": "EUR", "occurred_at": T0.isoformat()})  # fmt: skip
    for campaign, amount in COSTS.items():
        response = await client.put(
            f"/v1/campaigns/{campaign}/cost",
            json={"amount": amount, "currency": "EUR"},
            headers=ADMIN,
        )
        assert response.status_code == 200, response.text
    await relay(rt)
