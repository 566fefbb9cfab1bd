"""Route a qualified lead to one salesperson: pure, deterministic and explained.

`route(lead, reps, policy, now=...)` takes three steps, each recorded in the reason:

1. Account ownership: the lead's company domain (email, else website; free mail excluded;
   `eu.acme.com` falls back to `acme.com`) owned by an available rep → that rep.
2. The first rule in `policy.rules` whose conditions all hold picks the pool (its rep ids, or
   every rep whose territories name the lead's country); no rule matches → every rep, as rule
   `"default"`. A rule that matches wins even when nobody in its pool is free: the lead waits.
3. Smooth weighted round robin (nginx) over the reps of the pool who are eligible: covering
   the lead's territory and segment, available (see `availability`) and of weight > 0.

Nobody eligible → `NoRepAvailable`; the caller queues the lead and routes it again later.
The round-robin state is `{pool: {rep_id: current_weight}}`, pool being the rule name; it is
read from `policy.rr_state` and the updated copy comes back as `new_rr_state`, for the caller
to save in the same transaction as the assignment (under a row lock on the pool).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from leadflow.events import Lead
from sales_assignment.availability import (
    WeeklyHours,
    WorkingHoursDoc,
    check_out_of_office,
    load_timezone,
    unavailable_reason,
)

DEFAULT_RULE = "default"
OWNER_RULE = "account_owner"
TERRITORY: Literal["territory"] = "territory"
RRState = Mapping[str, Mapping[str, int]]
TRIED = "already tried for this lead"

# ---------------------------------------------------------------- places, domains, segments


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Sales regions as ISO 3166-1 alpha-2 sets; together they cover all 249 codes exactly once.
# Mexico sells with LATAM and Central Asia with EMEA, as most sales orgs split them.
REGIONS: Mapping[str, frozenset[str]] = {
    "NA": _words("BM CA PM UM US"),
    "LATAM": _words(
        """AG AI AR AW BB BL BO BQ BR BS BZ CL CO CR CU CW DM DO EC FK GD GF GP GS GT GY HN HT
        JM KN KY LC MF MQ MS MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI"""
    ),
    "APAC": _words(
        """AF AQ AS AU BD BN BT CC CK CN CX FJ FM GU HK HM ID IN IO JP KH KI KP KR LA LK MH MM
        MN MO MP MV MY NC NF NP NR NU NZ PF PG PH PK PN PW SB SG TH TK TL TO TV TW VN VU WF
        WS"""
    ),
    "EMEA": _words(
        """AD AE AL AM AO AT AX AZ BA BE BF BG BH BI BJ BV BW BY CD CF CG CH CI CM CV CY CZ DE
        DJ DK DZ EE EG EH ER ES ET FI FO FR GA GB GE GG GH GI GL GM GN GQ GR GW HR HU IE IL IM
        IQ IR IS IT JE JO KE KG KM KW KZ LB LI LR LS LT LU LV LY MA MC MD ME MG MK ML MR MT MU
        MW MZ NA NE NG NL NO OM PL PS PT QA RE RO RS RU RW SA SC SD SE SH SI SJ SK SL SM SN SO
        SS ST SY SZ TD TF TG TJ TM TN TR TZ UA UG UZ VA YE YT ZA ZM ZW"""
    ),
}
COUNTRIES: frozenset[str] = frozenset().union(*REGIONS.values())
_HINTS = {"UK": "GB", "EU": "EMEA", "USA": "US", "AMER": "NA"}

# Company size bands by employees: smb < 100, mid_market 100-999, enterprise >= 1000.
SEGMENTS: Mapping[str, tuple[int, int | None]] = {
    "smb": (0, 99),
    "mid_market": (100, 999),
    "enterprise": (1000, None),
}

# Mailbox providers: their domain says nothing about the employer, so never owns an account.
FREE_MAIL_DOMAINS: frozenset[str] = _words(
    """gmail.com googlemail.com yahoo.com ymail.com rocketmail.com hotmail.com outlook.com
    live.com msn.com aol.com icloud.com me.com mac.com proton.me protonmail.com pm.me
    tutanota.com tuta.io fastmail.com hey.com zoho.com zohomail.com mail.com email.com
    gmx.de gmx.net gmx.com web.de t-online.de freenet.de posteo.de mailbox.org orange.fr
    wanadoo.fr free.fr laposte.net sfr.fr libero.it virgilio.it tiscali.it alice.it
    btinternet.com sky.com virginmedia.com ntlworld.com seznam.cz wp.pl o2.pl interia.pl
    onet.pl yandex.ru yandex.com mail.ru bk.ru inbox.ru list.ru rambler.ru ukr.net qq.com
    163.com 126.com sina.com naver.com daum.net hanmail.net rediffmail.com bol.com.br
    uol.com.br terra.com.br comcast.net verizon.net att.net sbcglobal.net bigpond.com"""
)
# yahoo.co.jp, hotmail.fr, gmx.at …: a provider's name followed by a public suffix only.
_FREE_MAIL_BRANDS = _words("yahoo hotmail outlook live gmx yandex aol gmail")


def expand_places(names: Sequence[str]) -> frozenset[str]:
    """Country codes named by ISO alpha-2 codes and region names (EMEA, NA, LATAM, APAC)."""
    codes: set[str] = set()
    for name in names:
        key = name.strip().upper()
        if key in REGIONS:
            codes |= REGIONS[key]
        elif key in COUNTRIES:
            codes.add(key)
        else:
            hint = f" (did you mean {_HINTS[key]}?)" if key in _HINTS else ""
            raise ValueError(
                f"unknown country or region {name!r}{hint}: use ISO 3166-1 alpha-2 codes "
                f"or {', '.join(REGIONS)}"
            )
    return frozenset(codes)


def segment_of(company_size: int | None) -> str | None:
    """The segment of a company size (see SEGMENTS), None when the size is unknown."""
    if company_size is None or company_size < 0:
        return None
    if company_size < 100:
        return "smb"
    return "mid_market" if company_size < 1000 else "enterprise"


def is_free_mail(domain: str) -> bool:
    """Whether a domain belongs to a mailbox provider rather than a company."""
    if domain in FREE_MAIL_DOMAINS:
        return True
    brand, _, suffix = domain.partition(".")
    return brand in _FREE_MAIL_BRANDS and all(0 < len(p) <= 3 for p in suffix.split("."))


def website_domain(url: str | None) -> str | None:
    """The host of a website URL, lower case, without `www.`; None when there is none."""
    text = (url or "").strip().lower()
    if not text:
        return None
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname
    except ValueError:
        return None
    return host.rstrip(".").removeprefix("www.") or None if host else None


def company_domain(email_domain: str | None, website: str | None) -> str | None:
    """The company's domain: the email's unless free mail, else the website's."""
    for domain in (email_domain, website):
        if domain and "." in domain and not is_free_mail(domain):
            return domain
    return None


# ---------------------------------------------------------------- the model


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

    def __post_init__(self) -> None:
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
        )

    @property
    def company_domain(self) -> str | None:
        """The company's domain: email domain unless free mail, else the website's."""
        return company_domain(self.email_domain, self.website_domain)


# ---------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """Conditions (all given ones must hold) → a pool: rep ids or `"territory"`.

    Bands are inclusive; an unknown lead fact (no country, no size …) fails a condition set
    on it. The `"territory"` pool is every rep whose territories name the lead's country.
    """

    name: str
    pool: Sequence[UUID] | Literal["territory"] = "territory"
    countries: Sequence[str] = ()
    min_employees: int | None = None
    max_employees: int | None = None
    industries: Sequence[str] = ()
    min_score: int | None = None
    max_score: int | None = None
    country_set: frozenset[str] = field(init=False, repr=False, compare=False)
    industry_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.strip() or self.name in (DEFAULT_RULE, OWNER_RULE):
            raise ValueError(f"name {self.name!r} is empty or reserved")
        if isinstance(self.pool, str) and self.pool != TERRITORY:
            raise ValueError(f"pool must be {TERRITORY!r} or a list of rep ids")
        for what in ("employees", "score"):
            low, high = getattr(self, f"min_{what}"), getattr(self, f"max_{what}")
            if low is not None and high is not None and low > high:
                raise ValueError(f"min_{what} {low} > max_{what} {high}")
        object.__setattr__(self, "country_set", expand_places(self.countries))
        object.__setattr__(self, "industry_set", frozenset(i.casefold() for i in self.industries))

    def matches(self, lead: LeadFacts) -> bool:
        """Whether every condition of the rule holds for the lead."""
        return (
            (not self.country_set or lead.country in self.country_set)
            and _within(lead.company_size, self.min_employees, self.max_employees)
            and (not self.industry_set or (lead.industry or "").casefold() in self.industry_set)
            and _within(lead.score, self.min_score, self.max_score)
        )


def _within(value: int | None, low: int | None, high: int | None) -> bool:
    if low is None and high is None:
        return True
    return value is not None and (low is None or value >= low) and (high is None or value <= high)


class RulesInvalid(ValueError):
    """Rules that do not validate; `errors` lists `{"loc": "rules[2].countries[0]", "msg"}`."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['loc']}: {e['msg']}" for e in errors))


def _place(name: str) -> str:
    expand_places([name])
    return name.strip().upper()


class _RuleDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    pool: list[UUID] | Literal["territory"] = "territory"
    countries: list[Annotated[str, AfterValidator(_place)]] = []
    min_employees: Annotated[int, Field(ge=0)] | None = None
    max_employees: Annotated[int, Field(ge=0)] | None = None
    industries: list[str] = []
    min_score: Annotated[int, Field(ge=0, le=100)] | None = None
    max_score: Annotated[int, Field(ge=0, le=100)] | None = None

    @field_validator("pool", mode="before")
    @classmethod
    def _pool(cls, value: object) -> object:
        # One clear message instead of pydantic's one per union branch.
        if value == TERRITORY:
            return value
        if not isinstance(value, list) or not value:
            raise ValueError(f"must be {TERRITORY!r} or a non-empty list of rep ids")
        try:
            return [v if isinstance(v, UUID) else UUID(str(v)) for v in value]
        except ValueError:
            raise ValueError(f"{value!r} holds something that is not a rep id") from None

    @model_validator(mode="after")
    def _rule(self) -> _RuleDoc:
        RoutingRule(**self.model_dump())  # the dataclass holds the cross-field checks
        return self


_RULES = TypeAdapter(list[_RuleDoc])


def validate_rules(doc: object) -> list[RoutingRule]:
    """Rules from a JSON document (a list of rule objects); RulesInvalid names each bad field."""
    try:
        docs = _RULES.validate_python(doc)
    except ValidationError as exc:
        raise RulesInvalid(
            [
                {"loc": _loc(err["loc"]), "msg": err["msg"].removeprefix("Value error, ")}
                for err in exc.errors()
            ]
        ) from exc
    seen: dict[str, int] = {}
    for i, rule in enumerate(docs):
        if rule.name in seen:
            msg = f"duplicate name {rule.name!r} (also rules[{seen[rule.name]}])"
            raise RulesInvalid([{"loc": f"rules[{i}].name", "msg": msg}])
        seen[rule.name] = i
    return [RoutingRule(**rule.model_dump()) for rule in docs]


def _loc(parts: tuple[int | str, ...]) -> str:
    return "rules" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """Account owners (domain → rep_id), ordered rules and the round-robin state."""

    account_owners: Mapping[str, UUID] = field(default_factory=dict)
    rules: Sequence[RoutingRule] = ()
    rr_state: RRState = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Assignment:
    """The rep chosen, the rule that chose them, why, and the round-robin state to save."""

    rep_id: UUID
    rule: str
    reason: dict[str, Any]
    new_rr_state: dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class NoRepAvailable:
    """Nobody can take the lead now; `reason` says who was considered and why not."""

    rule: str
    reason: dict[str, Any]
    new_rr_state: dict[str, dict[str, int]]


def route(
    lead: LeadFacts,
    reps: Sequence[Rep],
    policy: RoutingPolicy,
    *,
    now: datetime,
    exclude: Collection[UUID] = (),
) -> Assignment | NoRepAvailable:
    """Choose the rep for a lead; reps in `exclude` only get it when nobody else can."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    by_id = {rep.rep_id: rep for rep in reps}
    candidates: list[dict[str, Any]] = []
    notes: list[str] = []
    state = {pool: dict(weights) for pool, weights in policy.rr_state.items()}

    def reason(rule: str, detail: str) -> dict[str, Any]:
        return {"rule": rule, "candidates": candidates, "detail": "; ".join([*notes, detail])}

    # 1. account ownership
    owner_domain, owner_id = _owner_of(lead, policy.account_owners)
    spare_owner: Rep | None = None  # an owner already tried: better than queueing the lead
    if owner_id is not None:
        owner = by_id.get(owner_id)
        why = "unknown rep" if owner is None else unavailable_reason(owner, now)
        if why is None and owner_id in exclude:
            why, spare_owner = TRIED, owner
        candidates.append(_candidate(owner_id, owner, OWNER_RULE, why))
        if why is None and owner is not None:
            return Assignment(
                owner_id, OWNER_RULE, reason(OWNER_RULE, f"account owner of {owner_domain}"), state
            )
        notes.append(f"account owner of {owner_domain} skipped: {why}")

    # 2. the pool of the first matching rule
    rule = next((r for r in policy.rules if r.matches(lead)), None)
    rule_name = rule.name if rule is not None else DEFAULT_RULE
    if rule is None:
        pool_ids: list[UUID] = list(by_id)
    elif isinstance(rule.pool, str):  # "territory"
        pool_ids = [r.rep_id for r in reps if lead.country and lead.country in r.countries]
        if not pool_ids:
            notes.append(f"no rep's territories name country {lead.country or 'unknown'}")
    else:
        pool_ids = list(dict.fromkeys(rule.pool))

    # 3. who in the pool is eligible; the reps already tried only if nobody else is
    verdicts = [(rid, by_id.get(rid), _ineligible(by_id.get(rid), lead, now)) for rid in pool_ids]
    fresh = [rep for rid, rep, why in verdicts if why is None and rid not in exclude and rep]
    tried = [rep for rid, rep, why in verdicts if why is None and rid in exclude and rep]
    chosen = fresh or tried
    chosen_ids = {rep.rep_id for rep in chosen}
    for rid, rep, why in verdicts:
        skipped = TRIED if why is None and rid not in chosen_ids else why
        candidates.append(_candidate(rid, rep, "pool", skipped))

    if not chosen:
        if spare_owner is not None:
            candidates[0].update(eligible=True, skipped=None)
            detail = f"account owner of {owner_domain} again: nobody else in {rule_name!r} is free"
            return Assignment(spare_owner.rep_id, OWNER_RULE, reason(OWNER_RULE, detail), state)
        detail = f"rule {rule_name!r}: no eligible rep among {len(pool_ids)}"
        return NoRepAvailable(rule_name, reason(rule_name, detail), state)

    pool_keys = {str(rid) for rid in pool_ids}
    current = {k: v for k, v in state.get(rule_name, {}).items() if k in pool_keys}
    winner = smooth_weighted_pick(chosen, current)
    state[rule_name] = current
    detail = (
        f"rule {rule_name!r}: weighted round robin chose {winner.name} "
        f"among {len(chosen)} eligible of {len(pool_ids)}"
    )
    if chosen is tried:
        detail += " (every eligible rep was already tried)"
    return Assignment(winner.rep_id, rule_name, reason(rule_name, detail), state)


def reroute(
    lead: LeadFacts,
    reps: Sequence[Rep],
    policy: RoutingPolicy,
    *,
    now: datetime,
    tried: Collection[UUID],
) -> Assignment | NoRepAvailable:
    """Route again after an SLA miss: the next rep, not one already tried, when one is free."""
    return route(lead, reps, policy, now=now, exclude=frozenset(tried))


def smooth_weighted_pick(reps: Sequence[Rep], current: dict[str, int]) -> Rep:
    """Nginx smooth weighted round robin over reps of weight > 0; updates `current` in place."""
    best: Rep | None = None
    best_weight = 0
    total = 0
    # Sorted so that equal current weights always go to the lowest rep_id.
    for rep in sorted(reps, key=lambda r: r.rep_id):
        if rep.weight <= 0:
            continue
        key = str(rep.rep_id)
        current[key] = current.get(key, 0) + rep.weight
        total += rep.weight
        if best is None or current[key] > best_weight:
            best, best_weight = rep, current[key]
    if best is None:
        raise ValueError("smooth_weighted_pick needs at least one rep of weight > 0")
    current[str(best.rep_id)] -= total
    return best


def _owner_of(lead: LeadFacts, owners: Mapping[str, UUID]) -> tuple[str | None, UUID | None]:
    domain = lead.company_domain
    if not domain or not owners:
        return domain, None
    labels = domain.split(".")
    # Walk up subdomains (eu.acme.com → acme.com) but never to a bare suffix such as "com".
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        owner = owners.get(candidate)
        if owner is not None:
            return candidate, owner
    return domain, None


def _ineligible(rep: Rep | None, lead: LeadFacts, now: datetime) -> str | None:
    if rep is None:
        return "unknown rep"
    if rep.countries and lead.country and lead.country not in rep.countries:
        return f"territory: {lead.country} not in {', '.join(rep.territories)}"
    segment = segment_of(lead.company_size)
    if rep.segments and segment and segment not in rep.segments:
        return f"segment: {segment} not in {', '.join(rep.segments)}"
    why = unavailable_reason(rep, now)
    if why is None and rep.weight == 0:
        return "weight 0 (not in round robin)"
    return why


def _candidate(rep_id: UUID, rep: Rep | None, step: str, why: str | None) -> dict[str, Any]:
    return {
        "rep_id": str(rep_id),
        "name": rep.name if rep is not None else None,
        "step": step,
        "eligible": why is None,
        "skipped": why,
    }


__all__ = [
    "DEFAULT_RULE",
    "OWNER_RULE",
    "TERRITORY",
    "Assignment",
    "LeadFacts",
    "NoRepAvailable",
    "RRState",
    "Rep",
    "RoutingPolicy",
    "RoutingRule",
    "reroute",
    "route",
    "smooth_weighted_pick",
]
