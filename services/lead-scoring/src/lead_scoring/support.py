"""Minimum support: the learned model keeps a typed value only once enough leads share it.

The values a lead's sender types (industry, country, source, utm_medium, utm_campaign) may
name the person ("jane doe consulting"), and the model is an aggregate that outlives every
lead's erasure. So such a value gets its own weight and counts only once at least
`min_support` distinct leads with a verdict share it (LEADFLOW_LEARN_MIN_SUPPORT). Until
then its leads' verdicts teach everything else about them (the base rate, their size band,
a common country) and the value itself is stored nowhere but on those leads' own rows,
which erasure clears. The verdict that makes it common starts its counts at all its leads'
verdicts and its weight learns from that verdict on; from then on the model counts the
distinct leads that taught it (`LearnedModel.leads`), which a raised minimum is held to
(`prune`, `cut`). The closed vocabularies (size band, seniority, email type) and "unknown"
are always learned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from lead_scoring.model import UNKNOWN, LearnedModel, attributes
from leadflow.events import Lead

DEFAULT_MIN_SUPPORT = 5  # LEADFLOW_LEARN_MIN_SUPPORT
#: The attributes whose values are typed by whoever sent the lead.
TYPED: frozenset[str] = frozenset({"industry", "country", "source", "utm_medium", "utm_campaign"})


class Tally(NamedTuple):
    """Verdicts of the other leads sharing a value."""

    won: int = 0
    lost: int = 0
    rejected: int = 0

    def counted(self, stage: str, n: int = 1) -> Tally:
        """This tally with `n` more verdicts at `stage` (won, lost or rejected)."""
        return self._replace(**{stage: getattr(self, stage) + n})


def _typed(feature: str) -> bool:
    attr, _, value = feature.partition("=")
    return attr in TYPED and value != UNKNOWN


def _seen(model: LearnedModel, feature: str) -> int:
    return model.won.get(feature, 0) + model.lost.get(feature, 0) + model.rejected.get(feature, 0)


def knows(model: LearnedModel, feature: str) -> bool:
    """Whether the model keeps a weight or counts for a feature ("attribute=value")."""
    return feature in model.mean or _seen(model, feature) > 0


def unlearned(model: LearnedModel, lead: Lead, min_support: int) -> list[str]:
    """The lead's typed values ("attribute=value") the model keeps nothing of yet: whose
    support `learn` needs; none when every value is learned at once (min_support 1)."""
    if min_support <= 1:
        return []
    features = (f"{attr}={value}" for attr, value in attributes(lead).items())
    return [f for f in features if _typed(f) and not knows(model, f)]


class Learned(NamedTuple):
    """What one verdict did to the lead's typed values the model did not keep."""

    rare: frozenset[str]  # still rarer than the minimum: left out
    common: frozenset[str]  # brought to the minimum by this lead: learned from now on


def learn(
    model: LearnedModel,
    lead: Lead,
    stage: str,
    shared: Mapping[str, Tally],
    min_support: int,
    *,
    first: bool = True,
) -> Learned:
    """Teach the model one verdict (won, lost or rejected) of a lead. `shared` holds, per
    feature of `unlearned`, the verdicts of the other leads with that value: a value this
    lead brings to `min_support` leads is learned, its counts starting at theirs; a rarer
    one is left out. `first`: the lead's first verdict (not one of a recycled lead judged
    again), so it counts as one more lead of each value learned already."""
    rare: set[str] = set()
    common: set[str] = set()
    typed = [f"{a}={v}" for a, v in attributes(lead).items() if _typed(f"{a}={v}")]
    known = {f for f in typed if knows(model, f)}
    for feature in unlearned(model, lead, min_support):
        tally = shared.get(feature, Tally())
        if sum(tally) + 1 < min_support:
            rare.add(feature)
            continue
        common.add(feature)
        model.leads[feature] = sum(tally) + 1  # one row per lead (`value_support`)
        for counts, n in zip((model.won, model.lost, model.rejected), tally, strict=True):
            if n:
                counts[feature] = n
    for feature in set(typed) - rare - common:  # learned: this lead is new to it, or not
        if feature not in known:
            model.leads[feature] = 1  # a minimum of 1 learns a value from its first lead
        elif first:
            model.leads[feature] = model.leads.get(feature, 0) + 1
    if stage == "rejected":
        model.reject(lead, skip=rare)
    else:
        model.update(lead, won=stage == "won", skip=rare)
    return Learned(frozenset(rare), frozenset(common))


def support_of(model: LearnedModel, feature: str) -> int:
    """How many distinct leads with a verdict taught a typed value the model keeps; 0 when
    unknown (a model saved before it counted leads, until `cut` counts them)."""
    return model.leads.get(feature, 0)


def prune(model: LearnedModel, min_support: int) -> bool:
    """Drop the typed values fewer than `min_support` distinct leads taught (a model saved
    before the minimum, or under a lower one); whether any went."""
    features = model.mean.keys() | model.won.keys() | model.lost.keys() | model.rejected.keys()
    rare = {f for f in features if _typed(f) and support_of(model, f) < min_support}
    tables = (model.mean, model.variance, model.won, model.lost, model.rejected, model.leads)
    for table in tables:
        for f in rare:
            table.pop(f, None)
    return bool(rare)


def cut(model: LearnedModel, counted: Mapping[str, Tally], min_support: int) -> set[str]:
    """Cut a stored model to `min_support`, given every value's `value_support` rows
    (`counted`: the judged leads not erased that the model does not count yet); returns the
    values now learned, whose rows go. A value the model keeps without a lead count (saved
    before it counted leads) takes its rows' count; one below the minimum is dropped and
    its rows, if any, count on. A value the model does not keep whose rows reach the
    minimum (the minimum was lowered) is learned as a verdict would learn it: its counts
    start at its rows, its weight learns from its next verdict on."""
    features = model.mean.keys() | model.won.keys() | model.lost.keys() | model.rejected.keys()
    for f in features:
        if _typed(f) and f not in model.leads and f in counted:
            model.leads[f] = sum(counted[f])
    prune(model, min_support)
    learned = {f for f in features if _typed(f) and knows(model, f)}
    for f, tally in counted.items():
        if f not in learned and sum(tally) >= min_support:
            learned.add(f)
            model.leads[f] = sum(tally)
            for counts, n in zip((model.won, model.lost, model.rejected), tally, strict=True):
                if n:
                    counts[f] = n
    model.min_support = min_support
    return learned & counted.keys()


def restored(model: LearnedModel, min_support: int) -> LearnedModel:
    """A stored model as the service uses it: without values rarer than the minimum."""
    prune(model, min_support)
    return model
