"""A qualification starts a cycle the same way for a new MQL and a recycled lead."""

from __future__ import annotations

import uuid
from datetime import timedelta

from assigner_kit import NOW, qualified
from sqlalchemy import inspect

from sales_assignment import recycling
from sales_assignment.assigning import Assigner
from sales_assignment.models import AssignmentRow
from sales_assignment.payloads import cycle_columns
from sales_assignment.staging import Staged

BEFORE = NOW - timedelta(days=30)
COLUMNS = [attr.key for attr in inspect(AssignmentRow).column_attrs]


def recycled_row(lead_id: uuid.UUID) -> AssignmentRow:
    """A lead that was assigned twice, then rejected with recycle."""
    return AssignmentRow(lead_id=lead_id, rep_id=uuid.uuid4(), status="closed", attempt=2,
                         rule="emea", reason={"detail": "old"}, lead={"lead_id": str(lead_id)},
                         facts={"country": "FR"}, score={"score": 61}, queued_at=None,
                         assigned_at=BEFORE, accepted_at=BEFORE, sla_due_at=None,
                         closed_at=BEFORE, erased_at=None, created_at=BEFORE,
                         recycled_at=BEFORE)  # fmt: skip


def test_a_new_cycle_is_nobodys_and_queued_with_the_lead_and_score_as_now() -> None:
    _, event = qualified()

    columns = cycle_columns(event, NOW)

    assert (columns["rep_id"], columns["status"], columns["attempt"]) == (None, "queued", 0)
    assert (columns["rule"], columns["reason"], columns["queued_at"]) == (None, {}, NOW)
    assert columns["lead"]["email"] == "ada@acme.example"
    assert columns["facts"]["country"] == "DE"
    assert columns["score"]["score"] == 80
    assert set(columns) < set(COLUMNS)  # every key is a column of the row


def test_a_recycled_row_qualified_again_reads_as_a_new_mqls_row_but_keeps_its_birth() -> None:
    _, event = qualified()
    staged = Staged()
    reopened = recycled_row(event.lead_id)

    recycling.new_cycle(staged, reopened, event, NOW)
    new = Assigner._new_row(Staged(), event, NOW)

    for column in COLUMNS:
        if column == "created_at":
            assert (reopened.created_at, new.created_at) == (BEFORE, NOW)
        else:
            assert getattr(reopened, column) == getattr(new, column), column
    assert [step["event"] for step in staged.history] == ["requalified"]
