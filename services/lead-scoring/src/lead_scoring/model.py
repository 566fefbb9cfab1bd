"""The learned part of a score: what won/lost/rejected outcomes taught us, per attribute value.

`LearnedModel` is an online Bayesian probit regression over one-hot lead attributes, updated
by assumed-density filtering (the AdPredictor update, Graepel et al., ICML 2010): each
weight is a Gaussian (mean, variance), one outcome costs O(attributes) and needs no replay.
Its prediction integrates over the weights' uncertainty, so a young model predicts close to
the base rate instead of the extreme odds of naive Bayes; that is where it beats
`baseline.OdooBaseline` (Odoo CRM's predictive lead scoring) in Brier score.

A rejection (sales judged the MQL not sales-ready) is a negative example worth
`REJECTION_WEIGHT` lost deals: the update is applied that many times. A lost deal was a lead
sales accepted and worked, lost to price, timing or a competitor, much of it beyond what the
lead's attributes say; a rejection is sales saying that the MQL definition itself let the
lead in. Counting it twice moves the weights of its attribute values faster, without letting
a few rejections outweigh the evidence of many won and lost deals (ADF shrinks each update
as a weight's variance falls).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from lead_scoring.rules import LeadFacts, lead_facts
from leadflow.events import Lead

#: The categorical attributes both models learn from, in display order.
ATTRIBUTES: tuple[str, ...] = (
    "size_band", "industry", "country", "seniority", "email_type",
    "source", "utm_medium", "utm_campaign",
)  # fmt: skip
UNKNOWN = "unknown"
_BIAS = "bias"
REJECTION_WEIGHT = 2  # a rejection teaches as much as this many lost deals (see above)
_MAX_VALUE_LEN = 80  # utm_campaign is free text; bound what one value can cost in storage
_SIZE_BANDS: tuple[tuple[int, str], ...] = (
    (9, "1-9"), (49, "10-49"), (199, "50-199"), (999, "200-999"), (4999, "1000-4999"),
)  # fmt: skip
#: Where each band above the first starts (an erased lead's size keeps its band, `kept`).
SIZE_BAND_STARTS: tuple[int, ...] = tuple(top + 1 for top, _ in _SIZE_BANDS)


def size_band(employees: int | None) -> str:
    """The company-size band of a head count ("unknown" when missing)."""
    if employees is None:
        return UNKNOWN
    return next((band for top, band in _SIZE_BANDS if employees <= top), "5000+")


def attributes(lead: Lead) -> dict[str, str]:
    """The lead's value of every attribute in ATTRIBUTES ("unknown" when missing)."""
    return facts_attributes(lead_facts(lead))


def facts_attributes(f: LeadFacts) -> dict[str, str]:
    """The same from a lead's facts (an erased lead keeps only those, `kept`)."""
    values = {
        "size_band": size_band(f.company_size),
        "industry": f.industry,
        "country": f.country.lower() if f.country else None,
        "seniority": f.seniority,
        "email_type": f.email_type,
        "source": f.attribution.get("source"),
        "utm_medium": f.attribution.get("utm_medium"),
        "utm_campaign": f.attribution.get("utm_campaign"),
    }
    return {k: (v[:_MAX_VALUE_LEN] if v else UNKNOWN) for k, v in values.items()}


class Contribution(NamedTuple):
    """How much one attribute value moved a learned probability, in points (0-100 scale)."""

    name: str
    points: float
    reason: str


def _cdf(t: float) -> float:
    return 0.5 * math.erfc(-t / math.sqrt(2.0))


def _v_w(t: float) -> tuple[float, float]:
    """The ADF correction terms v(t) = pdf/cdf and w(t) = v (v + t) of a probit update."""
    if t < -30.0:  # pdf/cdf underflows; its asymptote is -t
        return -t, 1.0
    v = math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi) / _cdf(t)
    return v, v * (v + t)


@dataclass
class LearnedModel:
    """Online Bayesian probit regression on one-hot attributes, plus won/lost/rejected counts."""

    prior_variance: float = 0.15  # sd ~0.4 probit ~0.6 log-odds: one attribute rarely does more
    bias_prior_variance: float = 1.0  # the base rate may be anywhere from 1% to 50%
    beta: float = 1.0  # probit noise: the spread of outcomes the attributes cannot explain
    n_outcomes: int = 0
    n_won: int = 0
    n_rejected: int = 0
    mean: dict[str, float] = field(default_factory=dict)
    variance: dict[str, float] = field(default_factory=dict)
    won: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    # Per learned typed value: the distinct leads whose verdicts taught it (`support`), and
    # what its typed values were cut to (`support.cut`): stored beside the doc (`ModelState`).
    leads: dict[str, int] = field(default_factory=dict)
    min_support: int | None = None

    @property
    def version(self) -> str:
        """Changes with every outcome learned, so a score names the model that made it."""
        return f"learned-{self.n_outcomes}"

    def _features(self, lead: Lead) -> list[str]:
        return [_BIAS, *(f"{k}={v}" for k, v in attributes(lead).items())]

    def _variance(self, feature: str) -> float:
        prior = self.bias_prior_variance if feature == _BIAS else self.prior_variance
        return self.variance.get(feature, prior)

    def _moments(self, feats: list[str]) -> tuple[float, float]:
        mu = sum(self.mean.get(f, 0.0) for f in feats)
        return mu, sum(self._variance(f) for f in feats)

    def update(self, lead: Lead, won: bool, skip: Collection[str] = ()) -> None:
        """Learn from one won or lost lead, in O(number of attributes); the features in
        `skip` (values too rare to keep, `support`) weigh in at their prior but stay unstored."""
        feats = self._features(lead)
        self._learn(feats, won, skip)
        for f in feats:
            counts = self.won if won else self.lost
            if f not in skip:
                counts[f] = counts.get(f, 0) + 1
        self.n_outcomes += 1
        self.n_won += int(won)

    def reject(self, lead: Lead, skip: Collection[str] = ()) -> None:
        """Learn from one rejected MQL: a negative example worth REJECTION_WEIGHT lost deals."""
        feats = self._features(lead)
        for _ in range(REJECTION_WEIGHT):
            self._learn(feats, False, skip)
        for f in feats:
            if f not in skip:
                self.rejected[f] = self.rejected.get(f, 0) + 1
        self.n_outcomes += 1
        self.n_rejected += 1

    def _learn(self, feats: list[str], won: bool, skip: Collection[str] = ()) -> None:
        """One assumed-density-filtering step of the probit weights towards `won`."""
        y = 1.0 if won else -1.0
        mu, var = self._moments(feats)
        s2 = self.beta**2 + var
        s = math.sqrt(s2)
        v, w = _v_w(y * mu / s)
        for f in feats:
            if f in skip:
                continue
            sigma2 = self._variance(f)
            self.mean[f] = self.mean.get(f, 0.0) + y * sigma2 / s * v
            # Floor keeps a heavily seen weight able to move a little if the world drifts.
            self.variance[f] = max(sigma2 * (1.0 - sigma2 / s2 * w), 1e-6)

    def probability(self, lead: Lead) -> float:
        """P(won) for a lead, averaged over the weights' uncertainty."""
        return self.probability_of(attributes(lead))

    def probability_of(self, values: Mapping[str, str]) -> float:
        """P(won) for a lead's attribute values (`attributes`, `facts_attributes`)."""
        mu, var = self._moments([_BIAS, *(f"{k}={v}" for k, v in values.items())])
        return _cdf(mu / math.sqrt(self.beta**2 + var))

    def contributions(self, lead: Lead) -> list[Contribution]:
        """Each seen attribute value's effect: 100 x (P(won) - P(won) without it)."""
        feats = self._features(lead)
        mu, var = self._moments(feats)
        p = _cdf(mu / math.sqrt(self.beta**2 + var))
        out: list[Contribution] = []
        for f in feats[1:]:
            won, lost, rejected = self._counts(f)
            if won + lost + rejected == 0:
                continue
            mu_i, var_i = self.mean.get(f, 0.0), self._variance(f)
            p_without = _cdf((mu - mu_i) / math.sqrt(self.beta**2 + var - var_i))
            attr, value = f.split("=", 1)
            seen = f"{won} won, {lost} lost" + (f", {rejected} rejected" if rejected else "")
            rate = won / (won + lost + rejected)
            reason = f"{attr} {value}: {seen} ({rate:.0%} win rate)"
            out.append(Contribution(f"learned:{f}", 100.0 * (p - p_without), reason))
        return sorted(out, key=lambda c: -abs(c.points))

    def _counts(self, f: str) -> tuple[int, int, int]:
        return self.won.get(f, 0), self.lost.get(f, 0), self.rejected.get(f, 0)

    def stats(self) -> list[dict[str, Any]]:
        """Per attribute value: won, lost, rejected, win rate (won of all three) and learned
        weight, most seen first."""
        rows = []
        for f in self.won.keys() | self.lost.keys() | self.rejected.keys():
            if f == _BIAS:
                continue
            attr, value = f.split("=", 1)
            won, lost, rejected = self._counts(f)
            rows.append(
                {"attribute": attr, "value": value, "won": won, "lost": lost,
                 "rejected": rejected, "win_rate": won / (won + lost + rejected),
                 "weight": round(self.mean.get(f, 0.0), 4)}
            )  # fmt: skip
        order = {a: i for i, a in enumerate(ATTRIBUTES)}
        return sorted(
            rows,
            key=lambda r: (order.get(r["attribute"], 99), -r["won"] - r["lost"] - r["rejected"]),
        )

    def to_doc(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot in the v1 format, without `leads` and `min_support`
        (stored beside it); from_doc restores it exactly, given those."""
        feats = sorted(self.mean.keys() | self.won.keys() | self.lost.keys() | self.rejected.keys())
        return _ModelDoc(
            prior_variance=self.prior_variance,
            bias_prior_variance=self.bias_prior_variance,
            beta=self.beta,
            n_outcomes=self.n_outcomes,
            n_won=self.n_won,
            n_rejected=self.n_rejected,
            features={
                f: _FeatureDoc(
                    mean=self.mean.get(f, 0.0),
                    variance=self._variance(f),
                    won=self.won.get(f, 0),
                    lost=self.lost.get(f, 0),
                    rejected=self.rejected.get(f, 0),
                )
                for f in feats
            },
        ).model_dump(mode="json")

    @classmethod
    def from_doc(cls, doc: Any, leads: Any = None, min_support: int | None = None) -> LearnedModel:
        """Restore a model from to_doc's output and what is stored beside it (`leads`,
        `min_support`); raises pydantic.ValidationError if any is malformed."""
        d = _ModelDoc.model_validate(doc)
        taught = _LEADS.validate_python(leads or {})
        fs = d.features
        return cls(
            prior_variance=d.prior_variance,
            bias_prior_variance=d.bias_prior_variance,
            beta=d.beta,
            n_outcomes=d.n_outcomes,
            n_won=d.n_won,
            n_rejected=d.n_rejected,
            mean={f: x.mean for f, x in fs.items()},
            variance={f: x.variance for f, x in fs.items()},
            won={f: x.won for f, x in fs.items() if x.won},
            lost={f: x.lost for f, x in fs.items() if x.lost},
            rejected={f: x.rejected for f, x in fs.items() if x.rejected},
            leads=taught,
            min_support=_MIN_SUPPORT.validate_python(min_support),
        )


# Reading ignores keys it does not know, so that a later release's additive key does not
# fail this one's scoring during a rolling upgrade (docs/architecture.md). This replica's
# read-modify-write of the doc would drop such a key, though: an additive field must live
# where an older replica cannot silently drop it (a model_state column beside the doc, as
# `leads` and `min_support` do), unless losing it on an older replica's save is harmless.
class _FeatureDoc(BaseModel):
    model_config = ConfigDict(extra="ignore")
    mean: float
    variance: float = Field(gt=0)
    won: int = Field(ge=0)
    lost: int = Field(ge=0)
    rejected: int = Field(default=0, ge=0)  # absent in documents saved before rejections


class _ModelDoc(BaseModel):
    model_config = ConfigDict(extra="ignore")  # see _FeatureDoc
    format: str = "leadflow.learned.bayes-probit.v1"
    prior_variance: float = Field(gt=0)
    bias_prior_variance: float = Field(gt=0)
    beta: float = Field(gt=0)
    n_outcomes: int = Field(ge=0)
    n_won: int = Field(ge=0)
    n_rejected: int = Field(default=0, ge=0)
    features: dict[str, _FeatureDoc]


_LEADS = TypeAdapter(dict[str, Annotated[int, Field(ge=1)]])
_MIN_SUPPORT = TypeAdapter(Annotated[int, Field(ge=1)] | None)
