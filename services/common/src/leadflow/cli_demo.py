"""`leadflow demo`: realistic synthetic leads and sales outcomes against a running stack.

Every person is made up; emails use reserved `.example` domains, phones the ranges kept
for fiction (+1 202-555-01xx, +44 20 7946 0xxx, +33 1 99 00 xx xx), so a demo never
mails or calls anybody.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Hedy",
    "Tim",
    "Barbara",
    "Ken",
    "Radia",
    "Sofia",
    "Mateo",
    "Yuki",
    "Amara",
    "Lukas",
    "Chloé",
    "Priya",
    "Omar",
    "Ingrid",
    "Diego",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Lamarr",
    "Berners-Lee",
    "Liskov",
    "Thompson",
    "Perlman",
    "Müller",
    "García",
    "Tanaka",
    "Okafor",
    "Novak",
    "Dubois",
    "Sharma",
    "Haddad",
    "Larsen",
    "Silva",
]
COMPANY_A = ["North", "Blue", "Bright", "Iron", "Silver", "Green", "Red", "Swift", "Clear", "Prime"]
COMPANY_B = ["wind", "river", "forge", "stack", "field", "light", "bridge", "peak", "works", "lane"]
COMPANY_C = ["GmbH", "Ltd", "Inc", "SAS", "AG", "Labs", "Systems", "Group"]
TITLES = [
    ("CEO", 6),
    ("CTO", 4),
    ("VP Sales", 6),
    ("VP Marketing", 5),
    ("Head of Marketing", 8),
    ("Head of Sales", 6),
    ("Marketing Manager", 12),
    ("Sales Director", 6),
    ("Software Engineer", 10),
    ("Operations Manager", 6),
    ("Analyst", 8),
    ("Student", 5),
    ("Geschäftsführer", 3),
    ("Directeur commercial", 3),
    ("Consultant", 6),
]
INDUSTRIES = [
    "software",
    "manufacturing",
    "retail",
    "finance",
    "healthcare",
    "education",
    "logistics",
    "media",
]
COUNTRIES = [
    ("US", 30),
    ("GB", 12),
    ("DE", 14),
    ("FR", 9),
    ("ES", 5),
    ("NL", 5),
    ("BR", 6),
    ("JP", 4),
    ("IN", 8),
    ("CA", 7),
]
SIZES = [(5, 12), (25, 18), (80, 20), (250, 18), (1200, 14), (8000, 8), (None, 10)]
CHANNELS = [
    # source, utm_source, utm_medium, weight
    ("paid_search", "google", "cpc", 25),
    ("paid_social", "linkedin", "paid_social", 15),
    ("organic", None, None, 20),
    ("webinar", "newsletter", "email", 15),
    ("partner", "partner-portal", "referral", 10),
    ("event", "trade-show", "offline", 5),
    ("content", "blog", "organic", 10),
]
CAMPAIGNS = ["q3-webinar-series", "brand-2025", "retargeting", "pricing-page", "ebook-roi", None]
FREE_MAIL = ["gmail.example", "outlook.example", "yahoo.example"]
REP_NAMES = [
    "Rita Rep",
    "Sam Seller",
    "Tara Closer",
    "Uma Account",
    "Victor Deal",
    "Wen Hunter",
    "Xavier Pipeline",
    "Yara Quota",
]
REP_TERRITORIES: list[list[str]] = [[], ["EMEA"], ["NA"], ["APAC", "LATAM"]]


@dataclass(frozen=True)
class DemoPlan:
    token: str
    leads: int
    rate: float
    reps: int
    webhook_url: str | None
    outcome_share: float
    wait_seconds: float
    seed: int | None
    intake_url: str
    assignment_url: str
    feedback_url: str


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _phone(rng: random.Random, country: str | None) -> str | None:
    if rng.random() < 0.4:
        return None
    if country == "GB":
        return f"+44 20 7946 0{rng.randrange(1000):03d}"  # Ofcom's drama range
    if country == "FR":
        return f"+33 1 99 00 {rng.randrange(100):02d} {rng.randrange(100):02d}"  # fictional
    return f"+1 202-555-01{rng.randrange(100):02d}"  # the fictional 555-01xx range


def synthetic_lead(rng: random.Random, run: str, i: int) -> dict[str, Any]:
    """One plausible person from a plausible company and channel."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = f"{rng.choice(COMPANY_A)}{rng.choice(COMPANY_B)} {rng.choice(COMPANY_C)}"
    slug = company.split(maxsplit=1)[0].lower()
    free = rng.random() < 0.25
    domain = rng.choice(FREE_MAIL) if free else f"{slug}-{run}.example"
    local = f"{first}.{last}".lower().replace(" ", "").replace("é", "e").replace("ü", "u")
    country = _weighted(rng, COUNTRIES)
    source, utm_source, utm_medium, _ = rng.choices(CHANNELS, weights=[c[3] for c in CHANNELS])[0]
    body: dict[str, Any] = {
        "email": f"{local}.{i}@{domain}",
        "first_name": first,
        "last_name": last,
        "job_title": _weighted(rng, TITLES),
        "country": country,
        "industry": rng.choice(INDUSTRIES),
        "source": source,
        "landing_page": f"https://www.leadflow.example/{rng.choice(['pricing', 'demo', 'ebook'])}",
        "consent": {"marketing": rng.random() < 0.7, "text": "newsletter-v3"},
    }
    phone = _phone(rng, country)
    if phone:
        body["phone"] = phone
    if not free:
        body["company"] = company
        body["website"] = f"https://{domain}"
        size = _weighted(rng, SIZES)
        if size is not None:
            body["company_size"] = size
    if utm_source:
        body["utm_source"] = utm_source
        body["utm_medium"] = utm_medium
        campaign = rng.choice(CAMPAIGNS)
        if campaign:
            body["utm_campaign"] = campaign
    return body


def _check(r: httpx.Response, *ok: int) -> dict[str, Any]:
    if r.status_code not in ok:
        raise RuntimeError(
            f"{r.request.method} {r.request.url}: HTTP {r.status_code} {r.text[:300]}"
        )
    doc: dict[str, Any] = r.json() if r.content else {}
    return doc


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


async def run_demo(plan: DemoPlan, console: Console) -> dict[str, int]:
    """Set up, post the leads at the plan's rate, wait for assignments, report outcomes."""
    rng = random.Random(plan.seed)
    run = uuid.uuid4().hex[:6]
    admin = {"Authorization": f"Bearer {plan.token}"}
    summary: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        key = _check(
            await http.post(
                f"{plan.intake_url}/v1/api-keys", headers=admin, json={"name": f"demo-{run}"}
            ),
            201,
        )["key"]
        for n in range(plan.reps):
            name = REP_NAMES[n % len(REP_NAMES)]
            _check(
                await http.post(
                    f"{plan.assignment_url}/v1/reps",
                    headers=admin,
                    json={
                        "name": name,
                        "email": f"{name.split()[0].lower()}.{run}{n}@sales.example",
                        "weight": rng.choice([1, 1, 2, 3]),
                        "territories": REP_TERRITORIES[n % len(REP_TERRITORIES)],
                    },
                ),
                201,
            )
        summary["reps created"] = plan.reps
        if plan.webhook_url:
            _check(
                await http.post(
                    f"{plan.assignment_url}/v1/webhook-endpoints",
                    headers=admin,
                    json={"url": plan.webhook_url, "event_types": ["lead.assigned"]},
                ),
                201,
            )
            summary["webhook endpoints created"] = 1

        lead_ids = await _post_leads(plan, http=http, key=key, rng=rng, run=run, console=console)
        summary["leads posted"] = len(lead_ids)
        assigned = await _await_assignments(
            plan, http=http, admin=admin, lead_ids=lead_ids, console=console
        )
        summary["leads assigned"] = len(assigned)
        counts = await _outcomes(
            plan, http=http, admin=admin, assigned=assigned, rng=rng, console=console
        )
        summary.update({f"outcomes {k}": v for k, v in counts.items()})
    return summary


async def _post_leads(
    plan: DemoPlan,
    *,
    http: httpx.AsyncClient,
    key: str,
    rng: random.Random,
    run: str,
    console: Console,
) -> list[str]:
    auth = {"Authorization": f"Bearer {key}"}
    started = time.monotonic()
    tasks: list[asyncio.Task[httpx.Response]] = []
    with _progress(console) as bar:
        task = bar.add_task(f"posting leads at {plan.rate:g}/s", total=plan.leads)
        for i in range(plan.leads):
            due = started + i / plan.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            body = synthetic_lead(rng, run, i)
            t = asyncio.create_task(
                http.post(f"{plan.intake_url}/v1/leads", json=body, headers=auth)
            )
            t.add_done_callback(lambda _: bar.advance(task))
            tasks.append(t)
        responses = await asyncio.gather(*tasks)
    return [str(_check(r, 202)["lead_id"]) for r in responses]


async def _await_assignments(
    plan: DemoPlan,
    *,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    lead_ids: list[str],
    console: Console,
) -> dict[str, str]:
    """lead_id → rep_id for the leads assigned within the wait (unqualified ones never are)."""
    assigned: dict[str, str] = {}
    waiting = set(lead_ids)
    deadline = time.monotonic() + plan.wait_seconds
    quiet_since = time.monotonic()
    with _progress(console) as bar:
        task = bar.add_task("waiting for assignments", total=len(lead_ids))
        while waiting and time.monotonic() < deadline:
            found = 0
            for lead_id in sorted(waiting):
                r = await http.get(f"{plan.assignment_url}/v1/assignments/{lead_id}", headers=admin)
                if r.status_code == 200 and r.json().get("rep"):
                    assigned[lead_id] = str(r.json()["rep"]["rep_id"])
                    waiting.discard(lead_id)
                    found += 1
            bar.update(task, completed=len(assigned))
            if found:
                quiet_since = time.monotonic()
            elif assigned and time.monotonic() - quiet_since > 10:
                break  # the rest were not qualified: nothing more will come
            await asyncio.sleep(1.0)
    return assigned


async def _outcomes(
    plan: DemoPlan,
    *,
    http: httpx.AsyncClient,
    admin: dict[str, str],
    assigned: dict[str, str],
    rng: random.Random,
    console: Console,
) -> dict[str, int]:
    chosen = [lead for lead in sorted(assigned) if rng.random() < plan.outcome_share]
    counts: dict[str, int] = {"contacted": 0, "sql": 0, "won": 0, "lost": 0}
    with _progress(console) as bar:
        task = bar.add_task("reporting outcomes", total=len(chosen))
        for lead_id in chosen:
            stages = ["contacted"]
            if rng.random() < 0.6:
                stages.append("sql")
                stages.append("won" if rng.random() < 0.45 else "lost")
            else:
                stages.append("lost")
            for stage in stages:
                body: dict[str, Any] = {
                    "lead_id": lead_id,
                    "stage": stage,
                    "external_id": f"demo-{lead_id}-{stage}",
                }
                if stage == "won":
                    body.update(
                        amount=rng.choice([4800, 9600, 12000, 24000, 60000]), currency="EUR"
                    )
                if stage == "lost":
                    body["reason"] = rng.choice(["budget", "timing", "competitor", "no response"])
                _check(
                    await http.post(f"{plan.feedback_url}/v1/outcomes", headers=admin, json=body),
                    202,
                )
                counts[stage] += 1
            bar.advance(task)
    return counts
