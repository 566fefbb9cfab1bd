"""Seeded, varied, already-normalised lead bodies (so preview and intake see the same lead)."""

from __future__ import annotations

import random
import uuid
from typing import Any

TITLES = [
    "CEO",
    "VP Sales",
    "Head of Marketing",
    "Marketing Manager",
    "Software Engineer",
    "Student",
    "Geschäftsführer",
    "Directeur commercial",
    "Analyst",
    None,
]
INDUSTRIES = ["software", "manufacturing", "retail", "finance", "healthcare", "education", None]
COUNTRIES = ["DE", "GB", "US", "FR", "ES", "BR", "JP", None]
SOURCES = ["webinar", "paid_search", "organic", "partner"]
CAMPAIGNS = ["q4-launch", "brand", "retargeting", None]
SIZES = [3, 15, 80, 250, 1200, 8000, None]


def varied_leads(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` distinct people: good fits and poor ones, corporate and free-mail addresses."""
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:8]
    out = []
    for i in range(n):
        free = rng.random() < 0.3
        company = f"acme{run}{i}"
        domain = "gmail.com" if free else f"{company}.example.com"
        body: dict[str, Any] = {
            "email": f"person{i}.{run}@{domain}",
            "first_name": rng.choice(["Ada", "Grace", "Alan", "Linus", "Margaret"]),
            "last_name": rng.choice(["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton"]),
            "attribution": {"source": rng.choice(SOURCES)},
        }
        campaign = rng.choice(CAMPAIGNS)
        if campaign:
            body["attribution"].update(
                utm_campaign=campaign, utm_source="newsletter", utm_medium="email"
            )
        for key, choices in (
            ("job_title", TITLES),
            ("industry", INDUSTRIES),
            ("country", COUNTRIES),
            ("company_size", SIZES),
        ):
            value = rng.choice(choices)
            if value is not None:
                body[key] = value
        if not free and rng.random() < 0.8:
            body["company"] = company.capitalize()
            body["website"] = f"https://{domain}"
        out.append(body)
    return out


def qualifying(email: str, company: str, country: str, **more: Any) -> dict[str, Any]:
    """A lead the default scoring rules qualify: a CTO of a 400-person software company;
    `more` adds or replaces fields."""
    return {
        "email": email,
        "company": company.capitalize(),
        "job_title": "CTO",
        "company_size": 400,
        "industry": "software",
        "country": country,
        **more,
    }
