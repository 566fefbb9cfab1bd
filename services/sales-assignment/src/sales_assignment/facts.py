"""What routing decides over: a salesperson (`Rep`) and what it knows of a lead (`LeadFacts`).

Plain values, parsed and checked once when built. `rules`, `availability`, `eligibility` and
`routing` read them; this module imports none of those that would import it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from leadflow.events import Lead
from sales_assignment.availability import (
    WeeklyHours,
    WorkingHoursDoc,
    check_out_of_office,
    load_timezone,
)
from sales_assignment.company_names import MAX_NAME_CHARS
from sales_assignment.places import SEGMENTS, company_domain, expand_places, website_domain


@dataclass(frozen=True, slots=True)
class Rep:
    """A salesperson; empty territories/segments restrict nothing; open_leads: caller's count."""

    rep_id: UUID
    name: str
    email: str
    active: bool = True
    weight: int = 1
    max_open_leads: int | None = None
    territories: Sequence[str] = ()
    segments: Sequence[str] = ()
    timezone: str = "UTC"
    working_hours: WorkingHoursDoc | None = None
    out_of_office: Sequence[tuple[datetime, datetime]] = ()
    open_leads: int = 0
    # Parsed once here so a bad rep fails when it is loaded, not on every lead routed.
    hours: WeeklyHours | None = field(init=False, repr=False, compare=False)
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    countries: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError(f"weight must be >= 0, got {self.weight}")
        if self.max_open_leads is not None and self.max_open_leads < 0:
            raise ValueError(f"max_open_leads must be >= 0 or None, got {self.max_open_leads}")
        unknown = [s for s in self.segments if s not in SEGMENTS]
        if unknown:
            raise ValueError(f"unknown segments {unknown}: use {', '.join(SEGMENTS)}")
        check_out_of_office(self.out_of_office)
        object.__setattr__(self, "hours", WeeklyHours.parse(self.working_hours))
        object.__setattr__(self, "zone", load_timezone(self.timezone))
        object.__setattr__(self, "countries", expand_places(self.territories))

    def with_open_leads(self, open_leads: int) -> Rep:
        """The same rep with another open-lead count, without parsing it again."""
        other = object.__new__(Rep)
        for name in Rep.__slots__:
            object.__setattr__(other, name, getattr(self, name))
        object.__setattr__(other, "open_leads", open_leads)
        return other


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What routing needs to know about a lead, and nothing personal beyond the domains."""

    lead_id: UUID
    email_domain: str | None = None
    website_domain: str | None = None
    country: str | None = None
    company_size: int | None = None
    industry: str | None = None
    score: int | None = None
    company: str | None = None  # the company name, for account matching only

    def __post_init__(self) -> None:
        if self.company is not None:
            object.__setattr__(self, "company", self.company[:MAX_NAME_CHARS].strip() or None)
        # Rules and territories hold upper-case codes and domains are case-insensitive.
        if self.country is not None:
            object.__setattr__(self, "country", self.country.strip().upper() or None)
        for name in ("email_domain", "website_domain"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, value.strip().lower() or None)

    @classmethod
    def from_lead(cls, lead: Lead, score: int | None) -> LeadFacts:
        """Facts of a contract `Lead` and its score."""
        domain = lead.email.rsplit("@", 1)[-1] if "@" in lead.email else None
        return cls(
            lead_id=lead.lead_id,
            email_domain=domain or None,
            website_domain=website_domain(lead.website),
            country=lead.country,
            company_size=lead.company_size,
            industry=lead.industry,
            score=score,
            company=lead.company,
        )

    @property
    def company_domain(self) -> str | None:
        """The company's domain: email domain unless free mail, else the website's."""
        return company_domain(self.email_domain, self.website_domain)
