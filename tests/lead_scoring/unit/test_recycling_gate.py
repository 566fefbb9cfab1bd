"""When a rejected lead's touch may make it an MQL again (`lead_scoring.recycling.gate`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lead_scoring.domain import Score
from lead_scoring.recycling import gate
from lead_scoring.repo import ScoreState

REJECTED = datetime(2026, 12, 1, tzinfo=UTC)
COOLDOWN = timedelta(days=30)
OVER = Score(80, True, 60, [], "rules-0", REJECTED)


def state(*, mql: bool = False, recycled: bool = True, rejected: bool = True) -> ScoreState:
    return ScoreState(
        touches=1,
        qualified=mql,
        erased=False,
        rejected_at=REJECTED if rejected else None,
        recycled_at=REJECTED if recycled and rejected else None,
    )


@pytest.mark.parametrize(
    ("stored", "touched_at", "qualifies"),
    [
        (None, REJECTED, True),  # a new lead
        (state(rejected=False), REJECTED, True),  # never rejected
        (state(mql=True), REJECTED, True),  # an MQL again already: its score as it is
        (state(), REJECTED + COOLDOWN, True),  # recycled, touched at the end of the cool-down
        (state(), REJECTED + COOLDOWN - timedelta(seconds=1), False),  # within it
        (state(), REJECTED - timedelta(days=1), False),  # captured before the rejection
        (state(recycled=False), REJECTED + 100 * COOLDOWN, False),  # spam: never again
    ],
)
def test_a_rejected_lead_qualifies_again_only_when_recycled_and_touched_after_the_cool_down(
    stored: ScoreState | None, touched_at: datetime, qualifies: bool
) -> None:
    assert gate(OVER, stored, touched_at, COOLDOWN).qualified is qualifies


def test_a_score_under_the_threshold_stays_unqualified() -> None:
    under = Score(10, False, 60, [], "rules-0", REJECTED)
    assert gate(under, state(), REJECTED + COOLDOWN, COOLDOWN) is under
