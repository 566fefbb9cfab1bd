"""What lead-scoring keeps of an erased lead: the facts its scores came from, nothing personal.

On erasure the stored lead is dropped: email, names, phone, company, job title, website,
the attribution's free text, custom fields, consent. The row keeps the lead's `LeadFacts`:
company size, industry, country, source, utm_source, utm_medium and utm_campaign (none is
personal data in the contract's sense) and three coarse facts derived from what was dropped,
which identify nobody: the seniority band of the job title, whether the email was a company
or a free-mail address, and how many optional fields were filled. A scoring simulation
scores the erased lead from them (`facts_of`) as it would have been scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from lead_scoring.rules import LeadFacts, lead_facts
from lead_scoring.titles import Seniority
from leadflow.events import Lead

FORMAT = "leadflow.scoring.facts.v1"


def kept_facts(lead: Lead) -> dict[str, Any]:
    """The JSON document of a lead's scoring facts (touches aside: the row keeps those)."""
    f = lead_facts(lead)
    return {
        "format": FORMAT,
        "company_size": f.company_size,
        "industry": f.industry,
        "country": f.country,
        "seniority": f.seniority,
        "email_type": f.email_type,
        "filled": f.filled,
        "attribution": dict(f.attribution),
    }


def facts_of(doc: Mapping[str, Any], touches: int) -> LeadFacts:
    """The facts kept_facts stored, for a lead captured `touches` times."""
    return LeadFacts(
        company_size=doc.get("company_size"),
        industry=doc.get("industry"),
        country=doc.get("country"),
        seniority=cast(Seniority | None, doc.get("seniority")),
        email_type=doc.get("email_type", "corporate"),
        filled=int(doc.get("filled", 0)),
        attribution=dict(doc.get("attribution") or {}),
        touches=touches,
    )
