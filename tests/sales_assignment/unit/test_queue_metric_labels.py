"""`leadflow_assignment_queued{rule}` has each pass's rules: a rule renamed or removed shows 0
once, then goes (before, every rule ever seen stayed at 0 for the life of the process)."""

from __future__ import annotations

from datetime import UTC, datetime

from sales_assignment.queueing import QueueMetrics

T = datetime(2027, 1, 4, 9, tzinfo=UTC)


def sizes(metrics: QueueMetrics) -> dict[str, float]:
    family = next(f for f in metrics.collect() if f.name == "leadflow_assignment_queued")
    return {s.labels["rule"]: s.value for s in family.samples}


def test_a_rule_no_longer_queueing_shows_0_once_then_goes() -> None:
    metrics = QueueMetrics()
    metrics.update([("emea", 2, T), ("us", 1, T)], T)
    assert sizes(metrics) == {"emea": 2, "us": 1}
    metrics.update([("emea-enterprise", 3, T)], T)  # emea renamed, us drained
    assert sizes(metrics) == {"emea": 0, "emea-enterprise": 3, "us": 0}
    metrics.update([("emea-enterprise", 1, T)], T)
    assert sizes(metrics) == {"emea-enterprise": 1}
    metrics.update([], T)
    assert sizes(metrics) == {"emea-enterprise": 0}
    metrics.update([], T)
    assert sizes(metrics) == {}
