"""A queue pass pages past leads nobody can take: a newer lead someone can take is routed,
not left behind the oldest page (before, a pass only ever tried the oldest 100)."""

from __future__ import annotations

import pytest
from assignment_kit import add_rep, assignment, clock, handle, qualified
from sqlalchemy import select

from sales_assignment import policy_admin
from sales_assignment.assigning import BATCH, Assigner
from sales_assignment.models import AssignmentRow

pytestmark = pytest.mark.postgres


@pytest.fixture
def a(assigner: Assigner) -> Assigner:
    """conftest's assigner, under the short name these tests use."""
    return assigner


async def test_a_lead_someone_can_take_is_not_stuck_behind_a_page_nobody_can(
    a: Assigner,
) -> None:
    await policy_admin.put_rules(a, [{"name": "by-territory", "pool": "territory"}])
    for _ in range(BATCH + 1):  # nobody covers FR: they stay queued
        await handle(a, qualified(country="FR"))
        clock(a).advance(1)
    de = qualified(country="DE")
    await handle(a, de)
    row = await assignment(a, de.data.lead_id)
    assert row is not None
    assert row.status == "queued"

    ann = await add_rep(a, "Ann", territories=["DE"])  # routes the queue, oldest first

    row = await assignment(a, de.data.lead_id)
    assert row is not None
    assert (row.status, row.rep_id) == ("assigned", ann)


async def test_a_full_page_whose_last_lead_is_handed_out_goes_on_to_the_next_page(
    a: Assigner,
) -> None:
    for _ in range(BATCH + 2):  # nobody yet: every lead waits
        await handle(a, qualified())
        clock(a).advance(1)

    await add_rep(a, "Ann")  # takes the whole first page, its last lead included

    async with a.rt.sessions() as s:
        statuses = list(await s.scalars(select(AssignmentRow.status)))
    assert statuses.count("assigned") == BATCH + 2
