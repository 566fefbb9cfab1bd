"""The routing team kept between transactions (SQLite and PostgreSQL).

A replica keeps its reps, counts, rules and round-robin weights from one batch to the next
and reloads them only when the routing lock's generation says someone else changed them: a
second replica, an admin call, a rolled-back batch. These tests hold it to being as current
as a fresh load.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from assignment_kit import add_rep, assignment, count, events, handle, history, make_assigner
from assignment_kit import qualified as qualified_lead

from sales_assignment import admin
from sales_assignment.assigning import Assigner
from sales_assignment.models import AssignmentRow, DeliveryRow, HistoryRow
from sales_assignment.team import Team

pytestmark = pytest.mark.postgres

HOOK = "http://127.0.0.1:9/hook"  # never called: these tests stop at the delivery rows


@pytest.fixture
async def b(database_url: str, a: Assigner) -> AsyncIterator[Assigner]:
    """A second replica on the same database."""
    assigner = await make_assigner(database_url)
    yield assigner
    await assigner.rt.engine.dispose()


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every load of the team from the database."""
    calls: list[int] = []
    original = Team.load.__func__  # type: ignore[attr-defined]

    async def counted(cls: type[Team], session: object) -> Team:
        calls.append(1)
        team: Team = await original(cls, session)
        return team

    monkeypatch.setattr(Team, "load", classmethod(counted))
    return calls


async def test_a_batch_is_routed_as_its_leads_one_by_one_would_be(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", weight=2)
    bob = await add_rep(a, "Bob", weight=1)
    await admin.create_endpoint(a, HOOK, ["lead.assigned"])
    earlier = qualified_lead()
    await handle(a, earlier)
    batch = [qualified_lead() for _ in range(6)]
    again = qualified_lead(batch[0].data.lead_id)  # the same lead qualified twice

    async with a.rt.transaction() as uow:
        await a.on_qualified_many(uow, [earlier, *batch, again])

    owners = [(await assignment(a, e.data.lead_id)).rep_id for e in [earlier, *batch]]  # type: ignore[union-attr]
    assert (owners.count(ann), owners.count(bob)) == (5, 2)  # 7 leads at weights 2:1, fair
    assert await count(a, AssignmentRow) == 7
    assert await count(a, HistoryRow) == 7
    assert await count(a, DeliveryRow) == 7
    assert sorted(e.data.lead_id for e in await events(a)) == sorted(
        e.data.lead_id for e in [earlier, *batch]
    )
    assert [h.event for h in await history(a, batch[0].data.lead_id)] == ["assigned"]


async def test_the_team_is_loaded_once_while_nobody_changes_it(
    a: Assigner, loads: list[int]
) -> None:
    await add_rep(a, "Ann")
    loads.clear()
    for _ in range(5):
        await handle(a, qualified_lead())
    assert len(loads) == 1
    await add_rep(a, "Bob")  # a change: the next batch reads the team again
    loads.clear()
    await handle(a, qualified_lead())
    await handle(a, qualified_lead())
    assert len(loads) == 1


async def test_another_replicas_assignments_count_against_capacity(
    a: Assigner, b: Assigner
) -> None:
    ann = await add_rep(a, "Ann", max_open_leads=2)
    first, second, third = (uuid.uuid4() for _ in range(3))
    await handle(a, qualified_lead(first))  # a now keeps Ann at 1 open lead
    await handle(b, qualified_lead(second))  # b gives her a second one
    await handle(a, qualified_lead(third))  # a must see 2, not its own 1

    assert (await assignment(a, first)).rep_id == ann  # type: ignore[union-attr]
    assert (await assignment(a, second)).rep_id == ann  # type: ignore[union-attr]
    assert (await assignment(a, third)).status == "queued"  # type: ignore[union-attr]


async def test_another_replicas_round_robin_steps_are_not_lost(a: Assigner, b: Assigner) -> None:
    ann = await add_rep(a, "Ann")
    bob = await add_rep(a, "Bob")
    leads = [uuid.uuid4() for _ in range(6)]
    for i, lead_id in enumerate(leads):
        await handle(a if i % 3 else b, qualified_lead(lead_id))
    owners = [(await assignment(a, lead_id)).rep_id for lead_id in leads]  # type: ignore[union-attr]
    assert (owners.count(ann), owners.count(bob)) == (3, 3)
    assert all(owners[i] != owners[i + 1] for i in range(5))  # strictly alternating


async def test_a_rep_changed_by_another_replica_routes_the_next_lead(
    a: Assigner, b: Assigner
) -> None:
    ann = await add_rep(a, "Ann")
    await handle(a, qualified_lead())
    await admin.update_rep(b, ann, {"active": False})
    lead_id = uuid.uuid4()
    await handle(a, qualified_lead(lead_id))
    row = await assignment(a, lead_id)
    assert row is not None
    assert (row.status, row.rep_id) == ("queued", None)


async def test_a_rolled_back_batch_leaves_no_trace_in_the_team(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", max_open_leads=1)
    bob = await add_rep(a, "Bob", max_open_leads=1)
    first, lost, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await handle(a, qualified_lead(first))  # the tie goes to the lowest rep id

    async def failing_batch() -> None:
        async with a.rt.transaction() as uow:
            await a.on_qualified_many(uow, [qualified_lead(lost)])  # the other rep, then undone
            raise RuntimeError("the batch fails after routing")

    with pytest.raises(RuntimeError):
        await failing_batch()
    await handle(a, qualified_lead(second))

    assert await assignment(a, lost) is None
    assert (await assignment(a, first)).rep_id == min(ann, bob)  # type: ignore[union-attr]
    assert (await assignment(a, second)).rep_id == max(ann, bob)  # type: ignore[union-attr]
