"""The assignment queue on SQLite and PostgreSQL: leads nobody can take (not even a rule's
fallback) are queued, announced (`lead.queued`), routed oldest first the moment someone is
eligible, and measured on `/metrics`."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from assignment_kit import (
    add_rep,
    assignment,
    clock,
    deliveries,
    handle,
    history,
    qualified,
)
from prometheus_client import REGISTRY, generate_latest
from standardwebhooks import Webhook

from sales_assignment import admin, declining, policy_admin
from sales_assignment.assigning import Assigner
from sales_assignment.outbound import DeliveryWorker
from support.receiver import Receiver

pytestmark = pytest.mark.postgres


@pytest.fixture
def a(assigner: Assigner) -> Assigner:
    """conftest's assigner, under the short name these tests use."""
    return assigner


async def owner(a: Assigner, lead_id: uuid.UUID) -> tuple[str, uuid.UUID | None]:
    row = await assignment(a, lead_id)
    assert row is not None
    return row.status, row.rep_id


async def test_with_no_eligible_fallback_the_lead_is_queued_and_lead_queued_goes_out(
    a: Assigner, receiver: Receiver
) -> None:
    ann = await add_rep(a, "Ann", active=False)
    leave = {"start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}
    bob = await add_rep(a, "Bob", out_of_office=[leave])
    await policy_admin.put_rules(
        a, [{"name": "de", "countries": ["DE"], "pool": [str(ann)], "fallback": {"rep": str(bob)}}]
    )
    _, secret = await admin.create_endpoint(a, receiver.url, ["lead.queued", "lead.assigned"])
    env = qualified(country="DE")
    lead_id = env.data.lead_id

    await handle(a, env)

    assert await owner(a, lead_id) == ("queued", None)
    row = await assignment(a, lead_id)
    assert row is not None
    assert row.reason["detail"] == (
        "rules v1: rule 'de': no eligible rep among 1, nor in its fallback (1)"
    )
    worker = DeliveryWorker(a.rt, a.settings, a.clock)
    try:
        assert await worker.deliver_due() == 1
        [(received, doc)] = receiver.payloads()
        Webhook(secret).verify(received.body, received.headers)
        assert doc["type"] == "lead.queued"
        assert set(doc["data"]) == {"lead", "rep", "score", "assignment"}
        assert doc["data"]["rep"] is None
        assert doc["data"]["lead"]["lead_id"] == str(lead_id)
        assert (doc["data"]["assignment"]["status"], doc["data"]["assignment"]["rule"]) == (
            "queued",
            "de",
        )

        # Bob is back from leave: the fallback takes the lead at once, and says so.
        await admin.update_rep(a, bob, {"out_of_office": []})

        assert await owner(a, lead_id) == ("assigned", bob)
        assert await worker.deliver_due() == 1
    finally:
        await worker.close()
    assert [doc["type"] for _, doc in receiver.payloads()] == ["lead.queued", "lead.assigned"]
    assert [h.event for h in await history(a, lead_id)] == ["queued", "assigned"]
    assert [d.seq for d in await deliveries(a, lead_id)] == [0, 1]


async def test_a_lead_that_waited_is_never_told_before_its_lead_queued_message(
    a: Assigner, receiver: Receiver
) -> None:
    a.deliveries = DeliveryWorker(
        a.rt, a.settings, a.clock
    )  # sends a lead's first message at commit
    await admin.create_endpoint(a, receiver.url, ["lead.queued", "lead.assigned"])
    env = qualified()
    await handle(a, env)  # nobody at all: queued
    receiver.fail_with = 500
    assert await a.deliveries.deliver_due() == 1  # lead.queued failed: retried later
    receiver.fail_with = None

    await add_rep(a, "Ann")  # takes the queue at once

    await asyncio.sleep(0.5)
    assert receiver.snapshot() == []  # lead.assigned waits for lead.queued
    clock(a).advance(5)
    assert await a.deliveries.deliver_due() == 1
    assert await a.deliveries.deliver_due() == 1
    assert [doc["type"] for _, doc in receiver.payloads()] == ["lead.queued", "lead.assigned"]


async def test_a_queued_lead_is_assigned_when_working_hours_begin(a: Assigner) -> None:
    clock(a).now = datetime(2027, 1, 4, 8, 55, tzinfo=UTC)  # a Monday
    ann = await add_rep(a, "Ann", working_hours={"mon": ["09:00-17:00"]})
    lead_id = uuid.uuid4()
    await handle(a, qualified(lead_id))
    assert await owner(a, lead_id) == ("queued", None)
    assert await a.retry_queue() == 0

    clock(a).advance(5 * 60)  # 09:00: the periodic pass notices, nothing else changed

    assert await a.retry_queue() == 1
    assert await owner(a, lead_id) == ("assigned", ann)


async def test_a_decline_frees_room_that_the_queue_takes_at_once(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", max_open_leads=1)
    first, second = uuid.uuid4(), uuid.uuid4()
    await handle(a, qualified(first))
    await handle(a, qualified(second))
    assert (await owner(a, first), await owner(a, second)) == (("assigned", ann), ("queued", None))

    declined = await declining.decline(a, first, note=None)

    assert declined.outcome == "queued"  # nobody else for the first, never Ann again
    assert await owner(a, first) == ("queued", None)
    assert await owner(a, second) == ("assigned", ann)  # no wait for the periodic pass


async def test_a_lead_moved_on_after_an_sla_miss_frees_room_the_queue_takes_at_once(
    a: Assigner,
) -> None:
    clock(a).now = datetime(2027, 1, 4, 8, 59, tzinfo=UTC)  # a Monday
    ann = await add_rep(a, "Ann", max_open_leads=1)
    cid = await add_rep(a, "Cid", max_open_leads=1, working_hours={"mon": ["09:00-17:00"]})
    first, second = uuid.uuid4(), uuid.uuid4()
    await handle(a, qualified(first))
    await handle(a, qualified(second))
    assert (await owner(a, first), await owner(a, second)) == (("assigned", ann), ("queued", None))
    clock(a).advance(120)  # Ann missed the 60 s SLA; Cid's day began

    assert await a.check_sla() == 1

    assert await owner(a, first) == ("reassigned", cid)
    assert await owner(a, second) == ("assigned", ann)  # no wait for the periodic pass


async def test_the_oldest_queued_lead_goes_first(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", max_open_leads=0)
    leads = [uuid.uuid4() for _ in range(3)]
    for lead_id in leads:
        await handle(a, qualified(lead_id))
        clock(a).advance(1)

    await admin.update_rep(a, ann, {"max_open_leads": 1})
    assert [(await owner(a, lid))[0] for lid in leads] == ["assigned", "queued", "queued"]
    await admin.update_rep(a, ann, {"max_open_leads": 2})
    assert [(await owner(a, lid))[0] for lid in leads] == ["assigned", "assigned", "queued"]


def queued_metric(rule: str) -> float | None:
    return REGISTRY.get_sample_value("leadflow_assignment_queued", {"rule": rule})


async def test_the_queue_size_per_rule_and_its_oldest_age_are_on_metrics(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", active=False)
    await policy_admin.put_rules(a, [{"name": "de", "countries": ["DE"], "pool": [str(ann)]}])
    for country in ("DE", "DE", "US"):
        await handle(a, qualified(country=country))
    clock(a).advance(120)

    await a.retry_queue()

    assert (queued_metric("de"), queued_metric("default")) == (2, 1)
    oldest = REGISTRY.get_sample_value("leadflow_assignment_queue_oldest_seconds")
    assert oldest is not None
    assert 120 <= oldest < 130
    text = generate_latest(REGISTRY).decode()
    assert 'leadflow_assignment_queued{rule="de"} 2.0' in text

    await admin.update_rep(a, ann, {"active": True})  # the queue drains at once
    await a.retry_queue()

    assert (queued_metric("de"), queued_metric("default")) == (0, 0)
    assert REGISTRY.get_sample_value("leadflow_assignment_queue_oldest_seconds") == 0
