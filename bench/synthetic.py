"""A seeded synthetic lead population with a hidden true conversion propensity, and metrics.

Each lead's true log-odds of being won is an intercept plus one additive effect per realistic
attribute (company size, industry, country, seniority, free-mail, source, medium, campaign:
no interactions) plus per-lead Gaussian noise no model can see. Attributes are correlated the
way real leads are (free-mail goes with missing company data, founders with small companies),
which is what naive Bayes gets wrong. Metrics (ROC AUC, Brier, deciles) are pure Python;
`qualified` is a lead as lead-scoring publishes it once an MQL (the routing benches' input).
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from leadflow.events import Attribution, Envelope, Lead, LeadQualified

INTERCEPT = -2.5
EFFECT_SCALE = 1.4  # the tables read as relative effects; this sets their strength
NOISE_SD = 0.6  # unobservable per-lead intent: caps what any model can reach
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

# (value, share of leads, log-odds effect); value None = field left empty.
INDUSTRIES = [
    ("Software", 0.18, 0.7), ("Fintech", 0.06, 0.5), ("Financial Services", 0.08, 0.3),
    ("E-commerce", 0.08, 0.3), ("Marketing", 0.06, 0.2), ("Manufacturing", 0.10, 0.0),
    ("Healthcare", 0.08, -0.2), ("Retail", 0.07, -0.3), ("Education", 0.07, -0.6),
    ("Government", 0.04, -0.8), ("Nonprofit", 0.04, -0.9), (None, 0.14, -0.3),
]  # fmt: skip
COUNTRIES = [
    ("US", 0.22, 0.2), ("DE", 0.14, 0.3), ("GB", 0.10, 0.2), ("FR", 0.09, 0.0),
    ("ES", 0.07, -0.2), ("IT", 0.06, -0.2), ("NL", 0.05, 0.3), ("CH", 0.03, 0.4),
    ("AT", 0.03, 0.2), ("BR", 0.06, -0.3), ("IN", 0.07, -0.6), (None, 0.07, -0.2),
]  # fmt: skip
SOURCES = [
    ("web_form", 0.45, 0.0), ("referral", 0.06, 0.9), ("partner", 0.05, 0.6),
    ("event", 0.07, 0.3), ("webinar", 0.07, 0.2), ("chat", 0.05, 0.2), ("import", 0.10, -0.5),
    (None, 0.15, -0.1),
]  # fmt: skip
MEDIUMS = [
    ("cpc", 0.25, 0.2), ("organic", 0.20, 0.3), ("email", 0.15, 0.0), ("social", 0.12, -0.4),
    ("display", 0.08, -0.6), (None, 0.20, 0.0),
]  # fmt: skip
SENIORITY_EFFECT = {"c_level": 0.6, "vp": 0.7, "director": 0.6, "manager": 0.3,
                    "individual": -0.3, None: -0.6}  # fmt: skip
FREE_MAIL_EFFECT = -0.9
SIZE_EFFECT = [(9, -1.0), (49, -0.3), (199, 0.4), (999, 0.6), (4999, 0.4), (10**9, 0.0)]
NO_SIZE_EFFECT = -0.5
TITLES = {
    "c_level": ["CEO", "Geschäftsführer", "Founder", "CTO", "PDG", "Directeur général",
                "Director General", "Amministratore Delegato", "Sócio-fundador", "Eigenaar"],
    "vp": ["VP Sales", "Vice President Marketing", "Vizepräsident Vertrieb", "SVP Operations"],
    "director": ["Head of Marketing", "Directeur commercial", "Jefe de ventas", "Vertriebsleiter",
                 "Director of Engineering", "Diretor de Vendas", "Hoofd IT"],
    "manager": ["Marketing Manager", "Gerente de Marketing", "Responsable marketing",
                "Teamleiter IT", "Responsabile acquisti", "Product Manager"],
    "individual": ["Software Engineer", "Analista", "Sachbearbeiterin", "Consultant",
                   "Chargée de communication", "Medewerker verkoop", "Sales Representative"],
    None: ["Ninja", "Rockstar", "-", "Self"],
}  # fmt: skip
SENIORITY_SHARE = [("c_level", 0.10), ("vp", 0.05), ("director", 0.14), ("manager", 0.22),
                   ("individual", 0.34), (None, 0.15)]  # fmt: skip
T = TypeVar("T")
FREE_DOMAINS = ["gmail.com", "yahoo.fr", "hotmail.com", "gmx.de", "outlook.com", "web.de"]


@dataclass(frozen=True, slots=True)
class Sample:
    """A synthetic lead, its hidden attribute propensity and its realised outcome."""

    lead: Lead
    propensity: float  # P(won) from the attributes alone: the best any model can learn
    won: bool


def _pick(rng: random.Random, table: Sequence[tuple[T, float, float]]) -> tuple[T, float]:
    value, _, effect = rng.choices(table, weights=[w for _, w, _ in table])[0]
    return value, effect


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _campaigns(rng: random.Random) -> list[tuple[str | None, float, float]]:
    named = [("demo", 0.06, 0.8), ("pricing", 0.05, 0.6), ("trial", 0.06, 0.4)]
    # A Zipf-like long tail of campaigns with hidden effects, as real UTM data has.
    tail = [(f"cmp-{i:02d}", 0.3 / (i + 1), rng.gauss(0.0, 0.5)) for i in range(25)]
    return [*named, *tail, (None, 0.35, 0.0)]


def generate(n: int, *, seed: int) -> list[Sample]:
    """n synthetic leads with outcomes; the same seed gives the same population."""
    rng = random.Random(seed)
    campaigns = _campaigns(random.Random(1))  # campaign effects are part of the world
    out: list[Sample] = []
    for i in range(n):
        level = rng.choices([s for s, _ in SENIORITY_SHARE], [w for _, w in SENIORITY_SHARE])[0]
        has_company = rng.random() < (0.6 if level is None else 0.85)
        size = int(math.exp(rng.gauss(4.6, 1.7))) + 1 if has_company else None
        if level == "c_level" and size is not None and rng.random() < 0.5:
            size = rng.randint(1, 40)  # founders and owners cluster in small firms
        free = rng.random() < (0.15 if has_company else 0.65)
        industry, e_ind = _pick(rng, INDUSTRIES) if has_company else (None, INDUSTRIES[-1][2])
        country, e_cty = _pick(rng, COUNTRIES)
        source, e_src = _pick(rng, SOURCES)
        medium, e_med = _pick(rng, MEDIUMS)
        campaign, e_cmp = _pick(rng, campaigns)
        e_size = NO_SIZE_EFFECT if size is None else next(e for t, e in SIZE_EFFECT if size <= t)
        z = e_ind + e_cty + e_src + e_med + e_cmp + e_size + SENIORITY_EFFECT[level]
        z = INTERCEPT + EFFECT_SCALE * (z + (FREE_MAIL_EFFECT if free else 0.0))
        propensity = _sigmoid(z)
        won = rng.random() < _sigmoid(z + rng.gauss(0.0, NOISE_SD))
        company = f"Company {rng.randrange(100_000)}" if has_company else None
        domain = rng.choice(FREE_DOMAINS) if free else f"co{rng.randrange(100_000)}.example"
        lead = Lead(
            lead_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            email=f"lead{i}@{domain}",
            first_name="Ada" if rng.random() < 0.9 else None,
            last_name="Lovelace" if rng.random() < 0.8 else None,
            phone="+4930123456" if rng.random() < 0.4 else None,
            company=company,
            job_title=rng.choice(TITLES[level]) if level or rng.random() < 0.4 else None,
            company_size=size,
            industry=industry,
            country=country,
            website=f"https://{domain}" if has_company and rng.random() < 0.5 else None,
            attribution=Attribution(source=source, utm_medium=medium, utm_campaign=campaign),
            captured_at=START + timedelta(minutes=7 * i),
        )
        out.append(Sample(lead=lead, propensity=propensity, won=won))
    return out


# ---------------------------------------------------------------- metrics


def qualified(lead: Lead, score: int, at: datetime) -> Envelope:
    """`lead` as lead-scoring publishes it once it qualifies with `score` (at 60) at `at`."""
    event = LeadQualified(lead_id=lead.lead_id, score=score, qualified=True, threshold=60,
                          factors=[], model_version="bench", scored_at=at, lead=lead)  # fmt: skip
    return Envelope(data=event, source="/lead-scoring")


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """ROC AUC as the Mann-Whitney U statistic, ties counted half."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum, n_pos, i = 0.0, 0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mid_rank = (i + j) / 2.0 + 1.0  # tied scores share the average of their ranks
        for k in range(i, j + 1):
            if labels[order[k]]:
                rank_sum += mid_rank
                n_pos += 1
        i = j + 1
    n_neg = len(scores) - n_pos
    if not n_pos or not n_neg:
        raise ValueError("AUC needs both won and lost leads")
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def brier(probabilities: Sequence[float], labels: Sequence[bool]) -> float:
    """Mean squared error of probabilities against 0/1 outcomes (lower is better)."""
    return sum((p - float(y)) ** 2 for p, y in zip(probabilities, labels, strict=True)) / len(
        labels
    )


def deciles(probabilities: Sequence[float], labels: Sequence[bool]) -> list[tuple[float, float]]:
    """(mean predicted, actual win rate) per tenth of leads, lowest predictions first."""
    order = sorted(range(len(labels)), key=lambda i: probabilities[i])
    out = []
    for d in range(10):
        idx = order[d * len(order) // 10 : (d + 1) * len(order) // 10]
        if idx:
            mean_p = sum(probabilities[i] for i in idx) / len(idx)
            out.append((mean_p, sum(labels[i] for i in idx) / len(idx)))
    return out
