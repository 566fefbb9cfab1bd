"""Lead quality (pure): which MQLs sales accepted or rejected, and the honest rate of it.

An MQL has a *verdict* once sales rejected it or it reached a later stage (contacted, sql,
won or lost). The verdict is `rejected` when its latest rejection is at or after every later
stage it reached: a lead contacted and then rejected is rejected; a recycled lead that
qualifies again and then reaches sql, won or lost is accepted. (`contacted` keeps its first
time, so a second contact after a recycle alone does not overturn the rejection.)

acceptance_rate = MQLs whose verdict is accepted ÷ MQLs with a verdict, with its 95 %
Wilson interval; below `min_verdicts` verdicts (LEADFLOW_MIN_VERDICTS) the rate is not
given and the status says `insufficient_data`: it never divides by zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from leadflow.stats import wilson_interval

if TYPE_CHECKING:  # funnel.py imports this module
    from feedback.funnel import LeadFact

Verdict = Literal["accepted", "rejected"]
Status = Literal["measured", "insufficient_data"]
NO_REASON = "unknown"  # a rejection whose reason code was not carried (an older producer)


def verdict(lead: LeadFact) -> Verdict | None:
    """Sales' verdict on an MQL, or None (not an MQL, or not judged yet)."""
    if lead.mql_at is None:
        return None
    later = [t for t in (lead.contacted_at, lead.sql_at, lead.won_at, lead.lost_at) if t]
    if lead.rejected_at is not None and all(lead.rejected_at >= t for t in later):
        return "rejected"
    return "accepted" if later else None


@dataclass(frozen=True)
class Acceptance:
    """The acceptance of a group of MQLs; rate and interval only when `measured`."""

    verdicts: int
    rejected: int
    rate: float | None
    wilson_lower: float | None
    wilson_upper: float | None
    status: Status

    @property
    def accepted(self) -> int:
        return self.verdicts - self.rejected


def rate(accepted: int, verdicts: int, min_verdicts: int) -> Acceptance:
    """accepted ÷ verdicts with its Wilson interval, or `insufficient_data` below the minimum."""
    rejected = verdicts - accepted
    interval = wilson_interval(accepted, verdicts)
    if verdicts < max(min_verdicts, 1) or interval is None:
        return Acceptance(verdicts, rejected, None, None, None, "insufficient_data")
    return Acceptance(
        verdicts,
        rejected,
        round(accepted / verdicts, 4),
        round(interval[0], 4),
        round(interval[1], 4),
        "measured",
    )


def acceptance(leads: Iterable[LeadFact], min_verdicts: int) -> Acceptance:
    """The acceptance of these leads' MQLs."""
    judged = [v for lead in leads if (v := verdict(lead)) is not None]
    return rate(judged.count("accepted"), len(judged), min_verdicts)


def rejection_reasons(leads: Iterable[LeadFact]) -> dict[str, int]:
    """How many MQLs were rejected for each reason code, most frequent first."""
    counts = Counter(
        lead.rejection_reason or NO_REASON for lead in leads if verdict(lead) == "rejected"
    )
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
